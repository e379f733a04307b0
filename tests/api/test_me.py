"""The customer's own view on a real anvil: scores, rewards by source, accesses, claim status and relayed claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from web3.exceptions import ContractLogicError

from app import db
from app.chain import merkle
from app.chain.gateway import ChainGateway
from app.services.epochs import EpochRunner
from tests import factories
from tests.api.json_rules import assert_json_rules
from tests.conftest import sign_in

pytestmark = pytest.mark.chain

UNITS = 10**18


def test_customer_sees_scores_rewards_accesses_and_claims(
    client, settings, w3, deployment_of, operator, relayer, recorder, dev_accounts
) -> None:
    engine = db.make_engine(settings.sqlalchemy_url)
    d = deployment_of(settings)
    token, _, distributor = factories.contracts(w3, d)
    alice, brand_key = dev_accounts[0], dev_accounts[5]
    headers = sign_in(client, alice)  # creates alice's customer row
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Acme", 10**9 * UNITS)
    alice_id = factories.customer(engine, alice.address)
    now = datetime.now(UTC).replace(microsecond=0)
    factories.purchase(engine, alice_id, brand, now - timedelta(days=20), 120_000, "o-1")
    factories.purchase(engine, alice_id, brand, now - timedelta(days=10), 30_000, "o-2")
    bob_id = factories.customer(engine, dev_accounts[1].address)
    factories.purchase(engine, bob_id, brand, now - timedelta(days=5), 10_000, "o-3")
    factories.interest_event(engine, alice_id, brand, now - timedelta(days=2), "wishlist", "shoes", "minimal", "e-1")
    factories.interest_event(engine, alice_id, brand, now - timedelta(days=1), "view", "bags", "vintage", "e-2")
    factories.grant_by_signature(w3, d, relayer, alice, brand_key.address, 1, 0b10000, 3 * UNITS)
    factories.record_access(w3, d, recorder, brand_key.address, 1, 0b10000, [alice.address])

    # Before any epoch: nothing scored, nothing claimable.
    assert client.get("/me/profile", headers=headers).json()["current"] is None
    assert client.get("/me/claim", headers=headers).json()["claimable"] == "0"
    assert client.post("/me/claim", headers=headers).status_code == 409

    EpochRunner(settings, engine, ChainGateway(settings)).run(now - timedelta(minutes=1))

    profile = client.get("/me/profile", headers=headers).json()
    assert profile["current"]["epoch"] == 1 and profile["current"]["frequency"] == 2
    assert profile["current"]["monetary_total"] == "150000" and len(profile["history"]) == 1

    (epoch,) = client.get("/me/rewards", headers=headers).json()
    assert epoch["purchase_cashback"] == str(150_000 * 100 * UNITS // 10_000)
    assert epoch["access_earnings"] == str(3 * UNITS)
    lines = client.get("/me/rewards/1", headers=headers).json()
    assert [line["source"] for line in lines] == ["purchase", "purchase", "access"]
    assert sum(int(line["reward"]) for line in lines) == int(epoch["earned"])
    assert client.get("/me/rewards/7", headers=headers).status_code == 404

    (access,) = client.get("/me/accesses", headers=headers).json()
    assert access["brand"] == brand_key.address and access["categories"] == ["interests"]
    assert access["price"] == str(3 * UNITS) and access["purpose"] == "marketing"

    # Every time carries its zone (UTC), so a page in Seoul does not read it as Seoul's local time.
    assert profile["current"]["as_of"].endswith("Z") and epoch["as_of"].endswith("Z")
    assert lines[0]["at"] == (now - timedelta(days=20)).isoformat().replace("+00:00", "Z")
    assert datetime.fromisoformat(access["block_time"]).utcoffset() == timedelta(0)
    for path in ("/me/profile", "/me/rewards", "/me/rewards/1", "/me/accesses", "/me/claim", "/me/interests"):
        assert_json_rules(client.get(path, headers=headers).json())

    interests = client.get("/me/interests", headers=headers).json()
    assert {c["value"] for c in interests["categories"]} == {"shoes", "bags"}
    assert interests["top_styles"][0] == "minimal"  # a wishlist weighs more than a view

    # Inside the challenge window the root pays nothing yet, and the API says from when it will.
    waiting = client.get("/me/claim", headers=headers).json()
    assert waiting["claimable"] == "0" and waiting["pending_epoch"] == 1 and waiting["claimable_from"]
    early = client.post("/me/claim", headers=headers)
    assert early.status_code == 409 and "claimable from" in early.json()["message"]
    assert early.json()["detail"]["claimable_from"] == waiting["claimable_from"].replace("Z", "+00:00")
    factories.pass_challenge_window(w3, int(datetime.fromisoformat(waiting["claimable_from"]).timestamp()))
    distributor.functions.finalizeEpoch().transact({"from": alice.address})  # anyone may, after the window
    claim = client.get("/me/claim", headers=headers).json()
    assert claim["claimable"] == epoch["cumulative"] == claim["cumulative"] and claim["epoch"] == 1
    # The proof served verifies against the root on chain: as the contract itself checks it (a call,
    # nothing sent) and as its salted leaf hashed up to claimableRoot(); one flipped bit and neither holds.
    proof = [bytes.fromhex(node.removeprefix("0x")) for node in claim["proof"]]
    cumulative, salt = int(claim["cumulative"]), bytes.fromhex(claim["salt"].removeprefix("0x"))
    root = distributor.functions.claimableRoot().call()
    leaf = merkle.Leaf(alice.address.lower(), cumulative, salt)
    assert merkle.verify(proof, root, leaf)
    distributor.functions.claim(alice.address, cumulative, salt, proof).call({"from": alice.address})  # no revert
    assert len(proof) >= 1  # bob's leaf is its sibling: a real path, not the root itself
    flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
    assert not merkle.verify(flipped, root, leaf)
    with pytest.raises(ContractLogicError):
        distributor.functions.claim(alice.address, cumulative, salt, flipped).call({"from": alice.address})
    sent = client.post("/me/claim", headers=headers)
    assert sent.status_code == 200, sent.text
    assert token.functions.balanceOf(alice.address).call() == int(epoch["cumulative"])
    assert client.get("/me/balance", headers=headers).json()["balance"] == epoch["cumulative"]
    claim = client.get("/me/claim", headers=headers).json()
    assert claim["epoch"] == 1 and claim["claimed"] == epoch["cumulative"] and claim["pending_epoch"] is None
    again = client.post("/me/claim", headers=headers)
    assert again.status_code == 409 and "nothing to claim" in again.json()["message"]
    engine.dispose()


@pytest.mark.parametrize(
    "path", ["/me/profile", "/me/interests", "/me/rewards", "/me/accesses", "/me/claim", "/me/balance"]
)
def test_me_routes_are_for_customers_only(client, path, brand_and_headers, auditor_headers, admin_headers) -> None:
    assert client.get(path).status_code == 401
    for headers in (brand_and_headers[1], auditor_headers, admin_headers):
        assert client.get(path, headers=headers).status_code == 403


def test_me_bad_query_is_422(client, customer_headers) -> None:
    response = client.get("/me/accesses?limit=0", headers=customer_headers)
    assert response.status_code == 422 and "limit" in response.json()["message"]
    assert client.get("/me/rewards/abc", headers=customer_headers).status_code == 422
