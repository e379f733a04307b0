"""The /ledger routes: auditor and operator only, paged, filtered, exact amounts, bad queries refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from app.chain.indexer import catch_up
from tests.conftest import make_brand, sign_in
from tests.factories import MARKETING, contracts_of, run_scenario

pytestmark = pytest.mark.chain

ROUTES = [
    "/ledger/status",
    "/ledger/consents",
    "/ledger/consent-events",
    "/ledger/accesses",
    "/ledger/epochs",
    "/ledger/claims",
    "/ledger/budgets",
    "/ledger/transfers",
    "/ledger/brands",
    "/ledger/customers/0x70997970C51812dc3A010C7d01b50e0d17dc79C8/trail",
]


@pytest.fixture()
def indexed(client, settings, w3, operator, relayer, dev_accounts):
    """The whole scenario on chain, indexed into the app's database."""
    chain = contracts_of(w3, settings)
    owed = run_scenario(w3, chain, operator, relayer, dev_accounts)
    catch_up(settings)
    return owed


def test_ledger_routes_need_credentials(client) -> None:
    for route in ROUTES:
        response = client.get(route)
        assert response.status_code == 401, route
        assert response.json()["error"] == "not_authenticated"


def test_ledger_routes_refuse_customers_and_brands(client, admin_headers, dev_accounts) -> None:
    customer = sign_in(client, dev_accounts[0])
    _, brand = make_brand(client, admin_headers, dev_accounts[4], name="Other")
    for route in ROUTES:
        for headers in (customer, brand):
            response = client.get(route, headers=headers)
            assert response.status_code == 403, route
            assert "auditor or operator" in response.json()["message"]


def test_ledger_routes_serve_auditors_and_the_operator(client, admin_headers, auditor_headers) -> None:
    for route in ROUTES:
        for headers in (auditor_headers, admin_headers):
            response = client.get(route, headers=headers)
            assert response.status_code == 200, (route, response.text)


def test_status_reports_cursor_head_and_lag(client, auditor_headers, indexed, w3, settings) -> None:
    status = client.get("/ledger/status", headers=auditor_headers).json()
    head = w3.eth.block_number
    assert status["chain_head"] == head
    assert status["indexed_block"] == head
    assert status["lag"] == 0
    assert status["confirmations"] == settings.confirmations
    assert status["genesis_hash"] == "0x" + w3.eth.get_block(0)["hash"].hex()


def test_status_before_the_first_run(client, auditor_headers) -> None:
    status = client.get("/ledger/status", headers=auditor_headers).json()
    assert status["indexed_block"] is None and status["lag"] is None
    assert status["chain_head"] is not None


def test_consents_are_filtered_and_paged(client, auditor_headers, indexed, dev_accounts) -> None:
    alice, bob, brand = dev_accounts[0], dev_accounts[1], dev_accounts[5]
    everything = client.get("/ledger/consents", headers=auditor_headers).json()
    assert everything["total"] == 3 and len(everything["items"]) == 3

    first = client.get("/ledger/consents", params={"limit": 2}, headers=auditor_headers).json()
    second = client.get("/ledger/consents", params={"limit": 2, "offset": 2}, headers=auditor_headers).json()
    assert len(first["items"]) == 2 and len(second["items"]) == 1
    assert first["items"] + second["items"] == everything["items"]
    assert first["total"] == 3 and first["indexed_block"] == everything["indexed_block"]

    # Addresses in any case; the response names them in checksum form.
    mine = client.get("/ledger/consents", params={"customer": alice.address.lower()}, headers=auditor_headers).json()[
        "items"
    ]
    assert len(mine) == 1
    assert mine[0]["customer"] == alice.address and mine[0]["brand"] == brand.address
    assert mine[0]["status"] == "active" and mine[0]["price"] == str(250 * 10**18)
    assert mine[0]["category_names"] == ["purchases", "interests"]

    revoked = client.get("/ledger/consents", params={"status": "revoked"}, headers=auditor_headers).json()
    assert [c["customer"] for c in revoked["items"]] == [bob.address]
    assert revoked["items"][0]["categories"] == "0"

    marketing = client.get(
        "/ledger/consents", params={"brand": brand.address, "purpose": MARKETING}, headers=auditor_headers
    ).json()
    assert marketing["total"] == 2


def test_consent_events_and_accesses_by_block_range(client, auditor_headers, indexed, dev_accounts) -> None:
    events = client.get("/ledger/consent-events", headers=auditor_headers).json()["items"]
    assert [e["kind"] for e in events] == ["granted", "granted", "granted", "narrowed", "revoked"]
    narrowed_block = events[3]["block_number"]
    upto = client.get("/ledger/consent-events", params={"to_block": narrowed_block}, headers=auditor_headers).json()
    assert upto["total"] == 4
    after = client.get(
        "/ledger/consent-events", params={"from_block": narrowed_block + 1}, headers=auditor_headers
    ).json()
    assert [e["kind"] for e in after["items"]] == ["revoked"]

    # Carol's access was skipped on chain (above the brand's allowance): never recorded, never charged.
    accesses = client.get("/ledger/accesses", params={"customer": dev_accounts[2].address}, headers=auditor_headers)
    assert accesses.json()["items"] == []
    (alice,) = client.get(
        "/ledger/accesses", params={"customer": dev_accounts[0].address}, headers=auditor_headers
    ).json()["items"]
    assert alice["price"] == str(250 * 10**18) and alice["request_id"] == "0x" + "01" * 32
    by_request = client.get("/ledger/accesses", params={"request_id": "0x" + "01" * 32}, headers=auditor_headers).json()
    assert by_request["total"] == 2
    assert {a["batch_total"] for a in by_request["items"]} == {str(250 * 10**18 + 7)}


def test_epochs_claims_budgets_transfers(client, auditor_headers, indexed, dev_accounts, w3, settings) -> None:
    brand = dev_accounts[5]
    (epoch,) = client.get("/ledger/epochs", params={"brand": brand.address}, headers=auditor_headers).json()["items"]
    assert epoch["epoch"] == 1
    assert epoch["total"] == str(sum(indexed.values()))
    assert epoch["debits"] == [{"brand": brand.address, "amount": str(sum(indexed.values()))}]
    other = client.get("/ledger/epochs", params={"brand": dev_accounts[6].address}, headers=auditor_headers)
    assert other.json()["total"] == 0

    claims = client.get("/ledger/claims", headers=auditor_headers).json()["items"]
    assert {c["account"]: c["amount"] for c in claims} == {a: str(v) for a, v in indexed.items()}

    budgets = client.get("/ledger/budgets", params={"brand": brand.address}, headers=auditor_headers).json()
    assert [(b["kind"], b["amount"], b["reserved"]) for b in budgets["items"]] == [
        ("funded", str(1_000 * 10**18 + 10**30), None),
        ("withdrawn", str(10**30), None),
        ("reserved", str(250 * 10**18 + 7), str(250 * 10**18 + 7)),
        ("withdrawn", str(10**18), None),
    ]
    reserves = client.get("/ledger/budgets", params={"kind": "reserved"}, headers=auditor_headers).json()
    assert reserves["total"] == 1

    big = client.get("/ledger/transfers", params={"customer": dev_accounts[7].address}, headers=auditor_headers)
    (withdrawal,) = big.json()["items"]
    assert withdrawal["amount"] == str(10**30)  # exact far above 2^63
    assert withdrawal["from_address"] == contracts_of(w3, settings).deployment.vault  # out of the budget vault

    brands = client.get("/ledger/brands", params={"registered": True}, headers=auditor_headers).json()
    assert [b["brand"] for b in brands["items"]] == [brand.address]


@pytest.mark.parametrize(
    ("route", "params", "where"),
    [
        ("/ledger/consents", {"limit": 0}, "limit"),
        ("/ledger/consents", {"limit": 5000}, "limit"),
        ("/ledger/accesses", {"offset": -1}, "offset"),
        ("/ledger/consents", {"customer": "0x1234"}, "customer"),
        ("/ledger/accesses", {"brand": "not-an-address"}, "brand"),
        ("/ledger/accesses", {"request_id": "0x12"}, "request_id"),
        ("/ledger/consents", {"purpose": 300}, "purpose"),
        ("/ledger/consents", {"status": "maybe"}, "status"),
        ("/ledger/transfers", {"from_block": -5}, "from_block"),
        ("/ledger/claims", {"to_block": "soon"}, "to_block"),
        ("/ledger/epochs", {"from_block": 9, "to_block": 3}, "from_block"),
    ],
)
def test_bad_query_params_are_422_with_a_message(client, auditor_headers, route, params, where) -> None:
    response = client.get(route, params=params, headers=auditor_headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input"
    assert where in body["message"]


# -- time filters ---------------------------------------------------------------------------------

TIMED_ROUTES = [
    "/ledger/consent-events",
    "/ledger/accesses",
    "/ledger/epochs",
    "/ledger/claims",
    "/ledger/budgets",
    "/ledger/transfers",
]


def _shift(stamp: str, seconds: int) -> str:
    return (datetime.fromisoformat(stamp) + timedelta(seconds=seconds)).isoformat()


@pytest.mark.parametrize("route", TIMED_ROUTES)
def test_event_routes_filter_by_block_time(client, auditor_headers, indexed, route) -> None:
    # Bounds come from the rows themselves: the session's anvil is shared and may have been warped.
    everything = client.get(route, headers=auditor_headers).json()["items"]
    assert everything
    times = [r["block_time"] for r in everything]
    first, last = min(times), max(times)

    def rows(**params) -> list[dict]:
        response = client.get(route, params=params, headers=auditor_headers)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    # Inclusive at both ends; a bound just past the rows leaves nothing.
    assert rows(from_time=first, to_time=last) == everything
    assert rows(from_time=last) == [r for r in everything if r["block_time"] >= last]
    assert rows(to_time=first) == [r for r in everything if r["block_time"] <= first]
    assert rows(from_time=_shift(last, 1)) == []
    assert rows(to_time=_shift(first, -1)) == []
    # The same instant in another zone selects the same rows.
    tokyo = datetime.fromisoformat(last).astimezone(timezone(timedelta(hours=9))).isoformat()
    assert "+09:00" in tokyo
    assert rows(from_time=tokyo) == rows(from_time=last)


def test_time_and_other_filters_combine(client, auditor_headers, indexed, dev_accounts) -> None:
    bob = dev_accounts[1].address
    events = client.get("/ledger/consent-events", headers=auditor_headers).json()["items"]
    revoked = events[-1]
    assert revoked["kind"] == "revoked" and revoked["customer"] == bob
    found = client.get(
        "/ledger/consent-events",
        params={"customer": bob, "from_time": revoked["block_time"]},
        headers=auditor_headers,
    ).json()
    # Blocks mined within one second share a time, so bob's grant may fall inside the bound too.
    expected = [e for e in events if e["customer"] == bob and e["block_time"] >= revoked["block_time"]]
    assert found["items"] == expected and found["total"] == len(expected)
    assert found["items"][-1] == revoked


@pytest.mark.parametrize("route", TIMED_ROUTES)
@pytest.mark.parametrize(
    ("params", "where", "says"),
    [
        ({"from_time": "2026-01-01T00:00:00"}, "from_time", "timezone"),
        ({"to_time": "2026-01-01"}, "to_time", "timezone"),
        ({"from_time": "yesterday"}, "from_time", "ISO-8601"),
        ({"to_time": "2026-13-01T00:00:00Z"}, "to_time", "ISO-8601"),
        ({"from_time": "2026-01-02T00:00:00Z", "to_time": "2026-01-01T00:00:00Z"}, "from_time", "after to_time"),
    ],
)
def test_bad_times_are_422_with_a_message(client, auditor_headers, route, params, where, says) -> None:
    response = client.get(route, params=params, headers=auditor_headers)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input"
    assert where in body["message"] and says in body["message"]


def test_equal_times_in_two_zones_are_not_reversed(client, auditor_headers) -> None:
    params = {"from_time": "2026-01-01T09:00:00+09:00", "to_time": "2026-01-01T00:00:00Z"}
    response = client.get("/ledger/claims", params=params, headers=auditor_headers)
    assert response.status_code == 200, response.text
