"""Signed requests relayed like consent changes: a customer invalidates its outstanding signatures; a brand
sets the allowance and maximum price the recorder may charge it (issue 10 items 3 and 5)."""

from __future__ import annotations

import pytest

from app.chain.eip712 import sign_typed_data
from app.domain import Purpose
from tests import factories
from tests.conftest import make_brand, sign_in
from tests.factories import enrol, grant, people, profiles

pytestmark = pytest.mark.chain

MARKETING = int(Purpose.MARKETING)
PRICE = 10**15


def _signed(client, headers, account, path: str, body: dict | None = None):  # type: ignore[no-untyped-def]
    typed = client.post(f"{path}/typed-data", json=body or {}, headers=headers)
    assert typed.status_code == 200, typed.text
    signature = "0x" + sign_typed_data(account.key, typed.json()["typed_data"]).hex()
    return typed.json(), client.post(
        path, json={"request_id": typed.json()["request_id"], "signature": signature}, headers=headers
    )


def test_invalidation_refuses_every_signature_made_before_it(
    client, settings, w3, deployment_of, dev_accounts, brand_and_headers
) -> None:
    customer, (brand, _) = dev_accounts[0], brand_and_headers
    headers = sign_in(client, customer)
    held = client.post(
        "/consents/typed-data",
        json={
            "action": "grant",
            "brand": brand["id"],
            "purpose": "marketing",
            "categories": ["interests"],
            "no_end": True,
        },
        headers=headers,
    ).json()
    held_signature = "0x" + sign_typed_data(customer.key, held["typed_data"]).hex()  # signed, kept back

    typed, relayed = _signed(client, headers, customer, "/consents/invalidation")
    assert relayed.status_code == 200, relayed.text
    assert typed["typed_data"]["primaryType"] == "Invalidate"
    registry = factories.contracts(w3, deployment_of(settings))[1]
    cutoff = registry.functions.signedBeforeCutoff(customer.address).call()
    assert cutoff == typed["typed_data"]["message"]["cutoff"] >= held["typed_data"]["message"]["signedAt"]

    late = client.post(
        "/consents", json={"request_id": held["request_id"], "signature": held_signature}, headers=headers
    )
    assert late.status_code == 409, late.text
    assert late.json()["detail"]["error"] == "SignatureInvalidated" and "invalidated" in late.json()["message"]
    assert registry.functions.consentOf(customer.address, brand["address"], MARKETING).call()[0] == 0
    # Relayed once only; someone else's key is refused.
    again = client.post(
        "/consents/invalidation", json={"request_id": typed["request_id"], "signature": "0x" + "11" * 65},
        headers=headers,
    )  # fmt: skip
    assert again.status_code == 409
    _, stolen = _signed(client, headers, dev_accounts[1], "/consents/invalidation")
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_signature"


def test_brand_access_limits_bound_what_the_recorder_may_charge(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    brand_key = dev_accounts[5]
    brand, headers = make_brand(client, admin_headers, brand_key, name="Acme")
    d = deployment_of(settings)
    _, registry, distributor = factories.contracts(w3, d)
    from app.chain.transactions import Sender

    Sender(w3, operator).send(distributor.functions.fund(brand_key.address, 10**21, b"\x01" * 32))
    cheap, dear = people("limits", 2)
    for i, account in enumerate((cheap, dear)):
        enrol(client.app.state.engine, account, i)
    grant(w3, settings, deployment_of, relayer, cheap, brand["address"], 0b1, price=PRICE)
    grant(w3, settings, deployment_of, relayer, dear, brand["address"], 0b1, price=PRICE * 10)

    # No limits set yet: the recorder may charge nothing, and the request says how to allow it.
    refused = profiles(client, headers, ["contact"])
    assert refused.status_code == 402 and "access-limits" in refused.json()["message"], refused.text
    assert client.get("/brands/me/access-limits", headers=headers).json()["changed_at"] is None

    # The brand signs limits with its own key: an allowance of 3 accesses, at most 2x the cheap price.
    body = {"allowance": str(3 * PRICE), "max_price": str(2 * PRICE)}
    typed, relayed = _signed(client, headers, brand_key, "/brands/me/access-limits", body)
    assert relayed.status_code == 200, relayed.text
    assert typed["typed_data"]["primaryType"] == "AccessLimits"
    limits = client.get("/brands/me/access-limits", headers=headers).json()
    assert (limits["allowance"], limits["max_price"]) == (str(3 * PRICE), str(2 * PRICE)) and limits["changed_at"]

    # Only the customer within the maximum price is asked for; the allowance shrinks by what was charged.
    answer = profiles(client, headers, ["contact"])
    assert answer.status_code == 200, answer.text
    assert [p["address"] for p in answer.json()["profiles"]] == [cheap.address]
    (allowance, _), _ = registry.functions.accessLimitsOf(brand_key.address).call()
    assert allowance == 2 * PRICE
    account = client.get("/brands/me/account", headers=headers).json()["budget"]
    assert account["allowance"] == str(2 * PRICE) and account["committed"] == str(PRICE)

    # Bad amounts are a 422 naming the field; an old signature cannot come back after a newer change.
    bad = client.post(
        "/brands/me/access-limits/typed-data", json={"allowance": "-1", "max_price": "1"}, headers=headers
    )
    assert bad.status_code == 422 and "allowance" in bad.text
    huge = client.post(
        "/brands/me/access-limits/typed-data", json={"allowance": str(2**96), "max_price": "1"}, headers=headers
    )
    assert huge.status_code == 422
