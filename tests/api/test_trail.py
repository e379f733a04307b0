"""GET /ledger/customers/{address}/trail: one customer's consents, accesses, epoch credits, claims and
transfers in chain order, with their evidence; paged, filtered by kind and time; auditors only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import db
from app.chain.gateway import ChainGateway
from app.chain.proofs import TreeFiles
from app.chain.transactions import Sender
from app.services.epochs import EpochRunner
from tests import factories
from tests.conftest import make_brand, sign_in

pytestmark = pytest.mark.chain

UNITS = 10**18
T0 = datetime(2026, 1, 1, tzinfo=UTC)
INTERESTS = 0b10000
PRICE = 7 * UNITS
CASHBACK = 600_000 * 100 * UNITS // 10_000  # a 600,000 won purchase at the base tier (100 bps)


def _trail(client, headers, address: str, **params) -> dict:
    response = client.get(f"/ledger/customers/{address}/trail", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture()
def engine(client, settings):
    engine = db.make_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def journey(settings, engine, w3, deployment_of, operator, relayer, recorder, dev_accounts):
    """Alice buys, grants Acme a paid consent, is accessed, is credited by epoch 1 and claims it."""
    d = deployment_of(settings)
    _, _, distributor = factories.contracts(w3, d)
    alice, brand_key = dev_accounts[0], dev_accounts[5]
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Acme", 10**9 * UNITS)
    alice_id = factories.customer(engine, alice.address)
    factories.purchase(engine, alice_id, brand, T0 + timedelta(days=1), 600_000, "a1")
    factories.grant_by_signature(w3, d, relayer, alice, brand_key.address, 1, INTERESTS, PRICE)
    factories.record_access(w3, d, recorder, brand_key.address, 1, INTERESTS, [alice.address])
    epoch = EpochRunner(settings, engine, ChainGateway(settings)).run(T0 + timedelta(days=30)).epoch
    proof = TreeFiles(settings.data_dir / "epochs" / str(epoch.number)).proof(alice.address)
    assert proof is not None and proof.cumulative == CASHBACK + PRICE
    factories.pass_challenge_window(w3, int(epoch.finalises_at.timestamp()))
    Sender(w3, alice).send(distributor.functions.finalizeEpoch())
    claim = Sender(w3, alice).send(distributor.functions.claim(*proof.claim_args()))
    return {"alice": alice, "brand": brand_key.address, "epoch": epoch, "claim_tx": claim.tx_hash}


def test_trail_lists_everything_in_chain_order(client, auditor_headers, journey) -> None:
    alice, epoch = journey["alice"], journey["epoch"]
    # No explicit indexing here: the route catches the mirror up by itself.
    page = _trail(client, auditor_headers, alice.address.lower())
    items = page["items"]
    assert [i["kind"] for i in items] == ["consent_granted", "access", "epoch_credit", "claim", "transfer_in"]
    assert page["total"] == 5 and page["indexed_block"] >= items[-1]["block_number"]
    assert [(i["block_number"], i["log_index"]) for i in items] == sorted(
        (i["block_number"], i["log_index"]) for i in items
    )
    assert all(i["tx_hash"].startswith("0x") and i["block_hash"] for i in items)

    granted, access, credit, claim, transfer = items
    assert granted["brand"] == journey["brand"] and granted["purpose"] == 1
    assert granted["category_names"] == ["interests"] and granted["price"] == str(PRICE)
    assert access["brand"] == journey["brand"] and access["price"] == str(PRICE)
    assert access["category_names"] == ["interests"] and access["batch_size"] == 1

    assert credit["epoch"] == epoch.number == 1
    assert credit["tx_hash"] == epoch.tx_hash and credit["block_number"] == epoch.block_number
    assert credit["root"] == epoch.root
    assert datetime.fromisoformat(credit["as_of"]) == T0 + timedelta(days=30)
    assert (credit["purchase_cashback"], credit["access_earnings"]) == (str(CASHBACK), str(PRICE))
    assert credit["earned"] == credit["cumulative"] == str(CASHBACK + PRICE)

    # The claim and the payment are two events of the one transaction alice sent.
    assert claim["tx_hash"] == transfer["tx_hash"] == journey["claim_tx"]
    assert claim["amount"] == claim["cumulative_amount"] == str(CASHBACK + PRICE)
    assert transfer["to_address"] == alice.address and transfer["amount"] == str(CASHBACK + PRICE)


def test_trail_is_paged(client, auditor_headers, journey) -> None:
    address = journey["alice"].address
    everything = _trail(client, auditor_headers, address)["items"]
    pages = [_trail(client, auditor_headers, address, limit=2, offset=o) for o in (0, 2, 4)]
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert {p["total"] for p in pages} == {5}
    assert [i for p in pages for i in p["items"]] == everything
    assert _trail(client, auditor_headers, address, offset=5)["items"] == []


def test_trail_filters_by_kind_and_time(client, auditor_headers, journey) -> None:
    address = journey["alice"].address
    everything = _trail(client, auditor_headers, address)["items"]

    money = _trail(client, auditor_headers, address, kind=["claim", "transfer_in"])
    assert [i["kind"] for i in money["items"]] == ["claim", "transfer_in"] and money["total"] == 2
    assert _trail(client, auditor_headers, address, kind="transfer_out")["total"] == 0

    # Bounds taken from the rows themselves (the session's anvil may have been warped by other tests).
    credit_time = next(i["block_time"] for i in everything if i["kind"] == "epoch_credit")
    since = _trail(client, auditor_headers, address, from_time=credit_time)["items"]
    assert since == [i for i in everything if i["block_time"] >= credit_time]
    assert "epoch_credit" in [i["kind"] for i in since]
    until = _trail(client, auditor_headers, address, to_time=credit_time)["items"]
    assert until == [i for i in everything if i["block_time"] <= credit_time]
    first = datetime.fromisoformat(everything[0]["block_time"])
    before = (first - timedelta(seconds=1)).isoformat()
    assert _trail(client, auditor_headers, address, to_time=before)["total"] == 0


def test_trail_of_a_stranger_is_empty(client, auditor_headers, admin_headers, journey, dev_accounts) -> None:
    for headers in (auditor_headers, admin_headers):
        page = _trail(client, headers, dev_accounts[3].address)
        assert page["items"] == [] and page["total"] == 0


def test_trail_refuses_customers_brands_and_strangers(client, admin_headers, dev_accounts) -> None:
    url = f"/ledger/customers/{dev_accounts[0].address}/trail"
    assert client.get(url).status_code == 401
    customer = sign_in(client, dev_accounts[0])  # even for her own trail: it is the auditor's view
    _, brand = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    for headers in (customer, brand):
        response = client.get(url, headers=headers)
        assert response.status_code == 403
        assert "auditor or operator" in response.json()["message"]


@pytest.mark.parametrize(
    ("path", "params", "where"),
    [
        ("0x1234", {}, "address"),
        (None, {"kind": "gift"}, "kind"),
        (None, {"from_time": "2026-01-01T00:00:00"}, "from_time"),
        (None, {"to_time": "tomorrow"}, "to_time"),
        (None, {"from_time": "2026-02-01T00:00:00Z", "to_time": "2026-01-01T00:00:00Z"}, "from_time"),
        (None, {"from_block": 9, "to_block": 3}, "from_block"),
        (None, {"limit": 0}, "limit"),
    ],
)
def test_trail_bad_queries_are_422(client, auditor_headers, dev_accounts, path, params, where) -> None:
    address = path or dev_accounts[0].address
    response = client.get(f"/ledger/customers/{address}/trail", params=params, headers=auditor_headers)
    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_input"
    assert where in response.json()["message"]
