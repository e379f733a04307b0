"""deliver(): consent at the moment of delivery, one access batch paid at each price, idempotence, revokes."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from app.chain.transactions import Sender
from app.domain import Category, Purpose
from app.errors import Conflict, InsufficientBudget, InvalidInput
from app.models.access import AccessRequest
from app.models.crm import Delivery
from app.services.deliveries import deliver
from tests import factories
from tests.conftest import make_brand

MARKETING = int(Purpose.MARKETING)
PRICE = 7 * 10**15
SEGMENT = int(Category.SEGMENT)


def _setup(client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of, budget=10**21):  # type: ignore[no-untyped-def]
    engine = client.app.state.engine
    brand_key = dev_accounts[5]
    brand, _ = make_brand(client, admin_headers, brand_key, name="Acme")
    factories.funded_brand(engine, w3, deployment_of(settings), operator, brand_key, "Acme", budget)
    alice, bob, carol = dev_accounts[0], dev_accounts[1], dev_accounts[2]
    ids = [factories.customer(engine, a.address) for a in (alice, bob, carol)]
    receipt = factories.api_grant(client, alice, brand["id"], ["segment", "contact"], price=str(PRICE))
    factories.grant_by_signature(
        w3, deployment_of(settings), relayer, bob, brand["address"], MARKETING, int(Category.CONTACT), PRICE
    )  # bob's consent does not cover SEGMENT; carol never consented
    return engine, brand, ids, receipt


def _accesses(w3, settings, deployment_of) -> list[dict]:  # type: ignore[no-untyped-def]
    registry = factories.contracts(w3, deployment_of(settings))[1]
    return [dict(e["args"]) for e in registry.events.AccessRecorded().get_logs(from_block=0)]


def test_only_covered_customers_are_recorded_paid_and_delivered_once(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    engine, brand, (alice, bob, carol), receipt = _setup(
        client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
    )
    offer = factories.offer(engine, brand["id"])
    rule = factories.rule(engine, brand["id"], offer.id, categories=SEGMENT, audience='{"segment":"champions"}')
    gateway = client.app.state.gateway
    with Session(engine, expire_on_commit=False) as session:
        report = deliver(
            session, settings, gateway, rule=rule, offer=offer, customer_ids=[alice, bob, carol],
            source=f"rule:{rule.id}", why={alice: {"segment": "champions"}},
        )  # fmt: skip
    assert [d.customer_id for d in report.delivered] == [alice]
    assert report.not_covered == [bob, carol] and report.reasons == {bob: "not_covered", carol: "not_covered"}
    assert report.cost == PRICE and report.gas_used > 0 and report.access_request_id
    delivery = report.delivered[0]
    assert (delivery.price, delivery.consent_receipt_id, delivery.channel) == (PRICE, receipt, "inbox")
    why = json.loads(delivery.why)
    assert why["categories"] == ["segment"] and why["values"] == {"segment": "champions"}
    assert why["consent"]["receipt_id"] == receipt
    # One batch on chain, for alice alone, at her price; its row is delivered.
    events = _accesses(w3, settings, deployment_of)
    assert [(list(e["customers"]), [int(p) for p in e["prices"]]) for e in events] == [
        ([dev_accounts[0].address], [PRICE])
    ]
    with Session(engine) as session:
        row = session.get(AccessRequest, report.access_request_id)
        assert row is not None and (row.status, row.customers, row.cost) == ("delivered", 1, PRICE)

    # The same source again: nothing new, nothing recorded.
    with Session(engine, expire_on_commit=False) as session:
        again = deliver(
            session, settings, gateway, rule=rule, offer=offer, customer_ids=[alice], source=f"rule:{rule.id}"
        )
    assert (again.delivered, again.already, again.access_request_id) == ([], [alice], None)
    assert len(_accesses(w3, settings, deployment_of)) == 1


def test_a_revoke_stops_the_next_delivery(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    engine, brand, (alice, _, _), _ = _setup(
        client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
    )
    offer = factories.offer(engine, brand["id"])
    rule = factories.rule(engine, brand["id"], offer.id, categories=SEGMENT)
    gateway = client.app.state.gateway
    with Session(engine, expire_on_commit=False) as session:
        first = deliver(session, settings, gateway, rule=rule, offer=offer, customer_ids=[alice], source="rule:a")
    assert [d.customer_id for d in first.delivered] == [alice]
    registry = factories.contracts(w3, deployment_of(settings))[1]
    Sender(w3, dev_accounts[0]).send(registry.functions.revoke(dev_accounts[0].address, brand["address"], MARKETING))
    with Session(engine, expire_on_commit=False) as session:
        second = deliver(session, settings, gateway, rule=rule, offer=offer, customer_ids=[alice], source="rule:b")
    assert (second.delivered, second.not_covered, second.access_request_id) == ([], [alice], None)
    assert len(_accesses(w3, settings, deployment_of)) == 1


def test_everyone_of_the_brand_needs_no_consent_and_records_no_access(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    engine, brand, ids, _ = _setup(client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of)
    offer = factories.offer(engine, brand["id"])
    rule = factories.rule(engine, brand["id"], offer.id)  # categories 0: reads nothing
    with Session(engine, expire_on_commit=False) as session:
        report = deliver(
            session, settings, client.app.state.gateway, rule=rule, offer=offer, customer_ids=ids, source="rule:all"
        )
    assert sorted(d.customer_id for d in report.delivered) == sorted(ids)
    assert all(d.access_request_id is None and d.price == 0 and d.consent_receipt_id is None for d in report.delivered)
    assert (report.cost, report.access_request_id) == (0, None)
    assert _accesses(w3, settings, deployment_of) == []


def test_a_budget_that_cannot_pay_refuses_the_batch_and_delivers_nothing(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    engine, brand, ids, _ = _setup(
        client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of, budget=PRICE - 1
    )
    offer = factories.offer(engine, brand["id"])
    rule = factories.rule(engine, brand["id"], offer.id, categories=SEGMENT)
    with Session(engine, expire_on_commit=False) as session, pytest.raises(InsufficientBudget) as refused:
        deliver(session, settings, client.app.state.gateway, rule=rule, offer=offer, customer_ids=ids, source="r")
    assert refused.value.status_code == 402 and "budget cannot pay" in refused.value.message
    with Session(engine) as session:
        assert session.exec(select(Delivery)).all() == []
    assert _accesses(w3, settings, deployment_of) == []


def test_an_expired_offer_or_another_brands_offer_is_refused(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    from datetime import UTC, datetime, timedelta

    engine, brand, ids, _ = _setup(client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of)
    past = datetime.now(UTC) - timedelta(days=2)
    expired = factories.offer(engine, brand["id"], valid_from=past - timedelta(days=1), valid_until=past)
    rule = factories.rule(engine, brand["id"], expired.id)
    gateway = client.app.state.gateway
    with Session(engine, expire_on_commit=False) as session, pytest.raises(Conflict, match="cannot be delivered now"):
        deliver(session, settings, gateway, rule=rule, offer=expired, customer_ids=ids, source="r")
    other, _ = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    foreign = factories.offer(engine, other["id"])
    with Session(engine, expire_on_commit=False) as session, pytest.raises(InvalidInput, match="another brand"):
        deliver(session, settings, gateway, rule=rule, offer=foreign, customer_ids=ids, source="r")
