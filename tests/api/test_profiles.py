"""Profiles for brands: covered fields only, recorded on chain before returned, paid from the budget; accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import Session, select

from app.chain.transactions import Sender
from app.domain import Category
from app.main import create_app
from app.models.access import AccessRequest
from app.models.epochs import EpochScore
from tests import factories
from tests.conftest import make_brand, sign_in
from tests.factories import (
    ALL,
    BUDGET,
    MARKETING,
    PRICE,
    enrol,
    fund,
    grant,
    people,
    profiles,
    recorded,
    registry_of,
    rows,
)

# ---------------------------------------------------------------------------------------------
# Helpers (also used by test_audience.py and test_access_property.py)
# ---------------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------------
# Field filtering, the on-chain record, the account
# ---------------------------------------------------------------------------------------------


def test_profiles_return_covered_fields_only_after_recording(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    fund(client, w3, settings, deployment_of, operator, dev_accounts[5], "Acme")
    engine = client.app.state.engine
    narrow, wide, none = people("fields", 3)
    for i, account in enumerate((narrow, wide, none)):
        enrol(engine, account, i)
    wide_id = factories.customer(engine, wide.address)
    factories.purchase(engine, wide_id, 1, datetime.now(UTC) - timedelta(days=3), 45_000, "o-1")
    with Session(engine) as session:
        session.add(
            EpochScore(
                epoch=1, customer_id=wide_id, recency_days=3, frequency=1, monetary_total=45_000,
                monetary_avg=45_000, r=5, f=1, m=2, segment="new", tier="bronze", cashback_bps=100,
            )
        )  # fmt: skip
        session.commit()
    grant(w3, settings, deployment_of, relayer, narrow, brand["address"], int(Category.INTERESTS))
    grant(w3, settings, deployment_of, relayer, wide, brand["address"], ALL, price=PRICE + 1)

    # INTERESTS only: both customers, and nothing but the interest scores (no contact field).
    answer = profiles(client, headers, ["interests"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert {p["address"] for p in body["profiles"]} == {narrow.address, wide.address}
    for profile in body["profiles"]:
        assert set(profile) == {"address", "price", "interests"}
        assert profile["interests"]["shoes"] > 0
    assert body["cost"] == str(2 * PRICE + 1) and body["attempts"] == 1
    events = recorded(w3, settings, deployment_of, body["request_id"])
    assert len(events) == 1 and set(events[0]["customers"]) == {narrow.address, wide.address}
    assert events[0]["categories"] == int(Category.INTERESTS) and events[0]["blockNumber"] == body["block_number"]
    assert "Person" not in answer.text and "example.com" not in answer.text

    # CONTACT + PURCHASES + SEGMENT + CART: only the customer who consented to them, with those fields.
    answer = profiles(client, headers, ["contact", "purchases", "segment", "cart"])
    assert answer.status_code == 200, answer.text
    (profile,) = answer.json()["profiles"]
    assert profile["address"] == wide.address and profile["price"] == str(PRICE + 1)
    assert set(profile) == {"address", "price", "contact", "purchases", "segment", "cart"}
    assert profile["contact"] == {"name": "Person 1", "email": "p1@example.com", "phone": "010-0000-0001"}
    assert profile["purchases"]["count"] == 1 and profile["purchases"]["total_won"] == "45000"
    assert profile["purchases"]["last_purchased_at"].endswith("Z")
    assert profile["segment"] == {"epoch": 1, "r": 5, "f": 1, "m": 2, "segment": "new", "tier": "bronze"}
    assert profile["cart"] == {"adds": 1, "abandons": 1}

    # Filters on a covered dimension narrow the set; nobody matching means no chain record at all.
    assert profiles(client, headers, ["segment"], segment="new").json()["customers"] == 1
    before = w3.eth.block_number
    empty = profiles(client, headers, ["segment"], segment="champions")
    assert empty.status_code == 200 and empty.json()["profiles"] == [] and empty.json()["request_id"] is None
    assert w3.eth.block_number == before

    # The account: deposits, what is owed until an epoch settles it, prices (under k: not shown).
    account = client.get("/brands/me/account", headers=headers)
    assert account.status_code == 200, account.text
    acc = account.json()
    owed = (2 * PRICE + 1) + (PRICE + 1) * 2
    assert acc["budget"]["deposited"] == str(BUDGET) and acc["budget"]["on_chain"] == str(BUDGET)
    assert acc["budget"]["committed"] == str(owed) and acc["budget"]["remaining"] == str(BUDGET - owed)
    assert acc["budget"]["spent"] == "0" and acc["budget"]["withdrawn"] == "0"
    marketing = next(p for p in acc["prices"] if p["purpose"] == "marketing")
    assert marketing["consents"] == {"count": None, "fewer_than": 10} and marketing["median"] is None
    assert acc["accesses"] == {"requests": 3, "customers": 4}

    history = client.get("/brands/me/accesses", headers=headers, params={"limit": 2})
    assert history.status_code == 200, history.text
    page = history.json()
    assert page["total"] == 3 and len(page["items"]) == 2
    latest = page["items"][0]
    assert latest["status"] == "delivered" and latest["filters"] == {"segment": "new"}
    assert latest["categories"] == ["segment"] and latest["tx_hash"].startswith("0x")
    on_chain = {"0x" + bytes(e["requestId"]).hex() for e in recorded(w3, settings, deployment_of)}
    assert {r.request_id for r in rows(client)} == on_chain


# ---------------------------------------------------------------------------------------------
# Budget
# ---------------------------------------------------------------------------------------------


def test_profiles_refused_with_402_when_the_budget_cannot_pay(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")  # registered, nothing deposited
    (customer,) = people("budget", 1)
    enrol(client.app.state.engine, customer, 0)
    grant(w3, settings, deployment_of, relayer, customer, brand["address"], ALL)
    before = w3.eth.block_number

    answer = profiles(client, headers, ["contact"])
    assert answer.status_code == 402, answer.text
    assert answer.json()["error"] == "insufficient_budget" and "fund" in answer.json()["message"]
    assert answer.json()["detail"]["cost"] == str(PRICE) and answer.json()["detail"]["budget"] == "0"
    assert "Person" not in answer.text and customer.address not in answer.text
    assert recorded(w3, settings, deployment_of) == [] and rows(client) == [] and w3.eth.block_number == before

    # A budget of exactly one access pays one request; the second finds it committed and is refused.
    fund(client, w3, settings, deployment_of, operator, dev_accounts[5], "Acme", budget=PRICE)
    assert profiles(client, headers, ["contact"]).status_code == 200
    again = profiles(client, headers, ["contact"])
    assert again.status_code == 402 and again.json()["detail"]["committed"] == str(PRICE)
    assert len(recorded(w3, settings, deployment_of)) == 1 and len(rows(client)) == 1


# ---------------------------------------------------------------------------------------------
# Revocation: effective from the very next block
# ---------------------------------------------------------------------------------------------


def _signed_change(client, headers, account, **body) -> dict:  # type: ignore[no-untyped-def]
    from app.chain.eip712 import sign_typed_data

    typed = client.post("/consents/typed-data", json=body, headers=headers)
    assert typed.status_code == 200, typed.text
    signature = "0x" + sign_typed_data(account.key, typed.json()["typed_data"]).hex()
    relayed = client.post(
        "/consents", json={"request_id": typed.json()["request_id"], "signature": signature}, headers=headers
    )
    assert relayed.status_code == 200, relayed.text
    return relayed.json()


def test_profiles_exclude_a_consent_revoked_in_the_previous_block(
    client, settings, w3, operator, admin_headers, dev_accounts, deployment_of
) -> None:
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    fund(client, w3, settings, deployment_of, operator, dev_accounts[5], "Acme")
    stays, leaves = dev_accounts[0], dev_accounts[1]
    for account in (stays, leaves):
        own = sign_in(client, account)
        _signed_change(
            client, own, account, action="grant", brand=brand["id"], purpose="marketing",
            categories=["contact", "interests"], price=PRICE, no_end=True,
        )  # fmt: skip
    own = sign_in(client, leaves)
    revoked = _signed_change(client, own, leaves, action="revoke", brand=brand["id"], purpose="marketing")

    answer = profiles(client, headers, ["contact"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["block_number"] == revoked["block_number"] + 1
    assert [p["address"] for p in answer.json()["profiles"]] == [stays.address]
    (event,) = recorded(w3, settings, deployment_of, answer.json()["request_id"])
    assert event["customers"] == [stays.address]


def test_profiles_when_the_mirror_lags_the_registry_skips_and_reports_and_never_charges_more(
    settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    # Two confirmations: the mirror never sees the latest two blocks, so it still believes a consent
    # revoked (or re-priced) there is what it was. The registry is the authority: it records the others, skips
    # those customers with their reason, and charges nobody more than the price the request agreed to.
    lagging = settings.model_copy(update={"confirmations": 2})
    with TestClient(create_app(lagging)) as client:
        brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
        fund(client, w3, settings, deployment_of, operator, dev_accounts[5], "Acme")
        stays, leaves, reprices = people("lag", 3)
        for i, account in enumerate((stays, leaves, reprices)):
            enrol(client.app.state.engine, account, i)
            grant(w3, settings, deployment_of, relayer, account, brand["address"], ALL)
        for _ in range(2):
            w3.provider.make_request("evm_mine", [])  # the grants are now confirmed
        registry = registry_of(w3, settings, deployment_of)
        _, _, distributor = factories.contracts(w3, deployment_of(settings))
        for account in (stays, leaves, reprices):
            w3.provider.make_request("anvil_setBalance", [account.address, hex(10**18)])
        w3.provider.make_request("evm_mine", [])
        # In the blocks the mirror does not see: one revokes, one re-grants at 1,000 times the price.
        Sender(w3, leaves).send(registry.functions.revoke(leaves.address, brand["address"], MARKETING))
        terms = (reprices.address, brand["address"], MARKETING, ALL, 0, PRICE * 1000, b"\x01" * 32, b"\x02" * 32)
        Sender(w3, reprices).send(registry.functions.grant(terms))

        answer = profiles(client, headers, ["contact"])
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["attempts"] == 1 and body["cost"] == str(PRICE)
        assert [p["address"] for p in body["profiles"]] == [stays.address]
        assert sorted((k["address"], k["reason"]) for k in body["skipped"]) == sorted(
            [(leaves.address, "not_covered"), (reprices.address, "price_above_maximum")]
        )
        assert "Person 1" not in answer.text and "Person 2" not in answer.text  # no data of the skipped
        (event,) = recorded(w3, settings, deployment_of, body["request_id"])
        assert event["customers"] == [stays.address] and event["total"] == PRICE
        assert distributor.functions.reservedOf(brand["address"]).call() == PRICE

        # The next request sees the new price and agrees to it; a customer revoking in the latest block
        # is skipped, charged nothing and given no data.
        Sender(w3, stays).send(registry.functions.revoke(stays.address, brand["address"], MARKETING))
        again = profiles(client, headers, ["contact"])
        assert again.status_code == 200, again.text
        assert [(p["address"], p["price"]) for p in again.json()["profiles"]] == [(reprices.address, str(PRICE * 1000))]
        assert [(k["address"], k["reason"]) for k in again.json()["skipped"]] == [(stays.address, "not_covered")]
        assert "Person 0" not in again.text
        assert distributor.functions.reservedOf(brand["address"]).call() == PRICE + PRICE * 1000
        history = client.get("/brands/me/accesses", headers=headers).json()["items"]
        assert [(r["customers"], r["skipped"]) for r in history] == [(1, 1), (1, 2)]


# ---------------------------------------------------------------------------------------------
# Malformed input and roles
# ---------------------------------------------------------------------------------------------


def test_profiles_refuse_malformed_input_without_writing_or_sending(
    client, settings, w3, operator, admin_headers, dev_accounts, deployment_of
) -> None:
    _, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    fund(client, w3, settings, deployment_of, operator, dev_accounts[5], "Acme")
    good = {"purpose": "marketing", "categories": ["contact"], "limit": 10}
    bad = [
        ({**good, "purpose": "spying"}, "unknown purpose"),
        ({**good, "categories": ["contact", "dna"]}, "unknown data category"),
        ({**good, "categories": []}, "categories"),
        ({**good, "categories": "contact"}, "categories"),
        ({**good, "limit": 0}, "limit"),
        ({**good, "limit": 1001}, "limit"),
        ({**good, "limit": "ten"}, "limit"),
        ({**good, "limit": 1.5}, "limit"),
        ({**good, "purpose": 1}, "purpose"),
        ({**good, "filters": {"colour": "red"}}, "colour"),
        ({**good, "filters": {"segment": "champions"}}, "needs the segment category"),
        ({**good, "categories": ["segment"], "filters": {"segment": "royalty"}}, "unknown segment"),
        ({**good, "categories": ["segment"], "filters": {"tier": "diamond"}}, "unknown tier"),
        ({**good, "categories": ["interests"], "filters": {"min_interest": 1}}, "give `category`"),
        ({**good, "categories": ["interests"], "filters": {"category": "x", "min_interest": -1}}, "min_interest"),
        ({"categories": ["contact"]}, "purpose"),
    ]
    before = w3.eth.block_number
    for body, words in bad:
        answer = client.post("/profiles", json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["error"] == "invalid_input" and words in answer.json()["message"], (body, answer.text)
    for params in ({"purpose": "spying", "categories": "contact"}, {"purpose": "marketing", "categories": "dna"}):
        answer = client.get("/audience", params=params, headers=headers)
        assert answer.status_code == 422 and "unknown" in answer.json()["message"], answer.text
    assert client.get("/audience", params={"purpose": "marketing"}, headers=headers).status_code == 422
    assert client.get("/brands/me/accesses", params={"limit": 0}, headers=headers).status_code == 422
    assert rows(client) == [] and w3.eth.block_number == before
    with Session(client.app.state.engine) as session:
        assert session.exec(select(func.count()).select_from(AccessRequest)).one() == 0


def test_brand_routes_refuse_other_roles_and_show_each_brand_only_its_own(
    client, settings, w3, operator, relayer, admin_headers, auditor_headers, customer_headers, dev_accounts,
    deployment_of,
) -> None:  # fmt: skip
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    _, other_headers = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    fund(client, w3, settings, deployment_of, operator, dev_accounts[5], "Acme")
    (customer,) = people("roles", 1)
    enrol(client.app.state.engine, customer, 0)
    grant(w3, settings, deployment_of, relayer, customer, brand["address"], ALL)
    assert profiles(client, headers, ["contact"]).status_code == 200

    calls = [
        ("post", "/profiles", {"json": {"purpose": "marketing", "categories": ["contact"]}}),
        ("get", "/audience", {"params": {"purpose": "marketing", "categories": "contact"}}),
        ("get", "/brands/me/account", {}),
        ("get", "/brands/me/accesses", {}),
    ]
    for method, path, extra in calls:
        assert getattr(client, method)(path, **extra).status_code == 401
        for role_headers in (customer_headers, auditor_headers, admin_headers):
            answer = getattr(client, method)(path, headers=role_headers, **extra)
            assert answer.status_code == 403, (path, answer.text)
    # The other brand sees none of the first brand's history, owes nothing, gets no profile (no consent).
    assert client.get("/brands/me/accesses", headers=other_headers).json()["total"] == 0
    other = client.get("/brands/me/account", headers=other_headers).json()
    assert other["budget"]["committed"] == "0" and other["accesses"]["requests"] == 0
    assert profiles(client, other_headers, ["contact"]).json()["profiles"] == []
    assert client.get("/brands/me/accesses", headers=headers).json()["total"] == 1
