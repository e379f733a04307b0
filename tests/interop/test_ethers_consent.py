"""A standard wallet signs a consent: ethers v6 `Wallet.signTypedData` over the API's typed data as `JSON.parse`
gives it, at prices beyond 2^53 units; the API relays it and the registry holds that exact price."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from app.chain.compiler import load_abis
from app.chain.deployment import load_deployment
from app.domain import Purpose
from tests.conftest import make_brand, sign_in

pytestmark = pytest.mark.chain

SCRIPT = Path(__file__).with_name("sign_consent.mjs")


@pytest.fixture(scope="module")
def brand(live, dev_accounts) -> dict:
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    created, _ = make_brand(live.api, admin, dev_accounts[5], name="Interop")
    return created


@pytest.mark.parametrize(
    ("customer_index", "price"),
    [(1, 2 * 10**18), (2, 1_234_567_890_123_456_789)],
    ids=["2 CASH", "1234567890123456789 units"],
)
def test_ethers_signs_the_typed_data_and_the_consent_is_active_at_that_price(
    live, w3, brand, dev_accounts, customer_index: int, price: int
) -> None:
    customer = dev_accounts[customer_index]
    token = sign_in(live.api, customer)["Authorization"].removeprefix("Bearer ")
    # A JavaScript client cannot write such a price as a JSON number: it sends the decimal string.
    request = {
        "action": "grant",
        "brand": brand["id"],
        "purpose": "marketing",
        "categories": ["interests"],
        "no_end": True,
    }
    request["price"] = str(price)

    ran = subprocess.run(
        ["node", str(SCRIPT), live.url, token, "0x" + bytes(customer.key).hex(), json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert ran.returncode == 0, ran.stderr
    answer = json.loads(ran.stdout)
    message = answer["prepared"]["typed_data"]["message"]
    assert message["price"] == str(price) and isinstance(message["nonce"], str)
    assert answer["relayed"]["consent"]["price"] == str(price) and answer["relayed"]["consent"]["in_force"]
    deployment = load_deployment(w3, live.settings.deployments_dir)
    assert deployment is not None
    registry = w3.eth.contract(address=deployment.registry, abi=load_abis()["ConsentRegistry"])
    consent = registry.functions.consentOf(customer.address, brand["address"], int(Purpose.MARKETING)).call()
    assert consent[3] == price  # (categories, grantedAt, expiresAt, price, receiptHash, noticeHash)
    assert registry.functions.covers(customer.address, brand["address"], int(Purpose.MARKETING), consent[0]).call()
