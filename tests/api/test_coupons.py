"""Coupons redeemed at ingestion (one purchase, JSON lines and CSV bulk): only when delivered, once per customer
unless the offer allows more, idempotent by the purchase's external id; refusals stored and explained."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.models.crm import Redemption, WebhookEvent
from app.models.purchases import Purchase
from tests import factories
from tests.conftest import make_brand

pytestmark = pytest.mark.chain

NDJSON = {"Content-Type": "application/x-ndjson"}
CSV = {"Content-Type": "text/csv"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture()
def shop(client, admin_headers, dev_accounts):
    """(brand id, brand headers, engine, alice's address, bob's address) with a coupon delivered to alice only."""
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    engine = client.app.state.engine
    alice, bob = dev_accounts[0].address, dev_accounts[1].address
    ids = [factories.customer(engine, a) for a in (alice, bob)]
    return brand["id"], headers, engine, alice, bob, ids


def _coupon(client, headers, engine, customer_ids, **changes) -> int:
    offer = client.post("/brands/me/offers", json=factories.offer_body("coupon", **changes), headers=headers)
    assert offer.status_code == 201, offer.text
    from app.models.crm import Delivery

    with Session(engine) as session:
        for c in customer_ids:
            session.add(
                Delivery(
                    offer_id=offer.json()["id"], customer_id=c, source="rule:9", channel="inbox", why="{}",
                    delivered_at=datetime.now(UTC) - timedelta(days=2),
                )
            )  # fmt: skip
        session.commit()
    return int(offer.json()["id"])


def test_one_purchase_redeems_a_delivered_coupon_once(client, admin_headers, shop, receiver_url) -> None:
    brand, headers, engine, alice, bob, ids = shop
    assert client.put("/brands/me/webhook", json={"url": receiver_url}, headers=headers).status_code == 200
    offer = _coupon(client, headers, engine, [ids[0]])
    at = _iso(datetime.now(UTC) - timedelta(hours=1))
    row = factories.purchase_row(1, brand, alice, purchased_at=at, coupon_code="spring-10")
    first = client.post("/ingest/purchases", json=row, headers=admin_headers)
    assert first.status_code == 201, first.text
    assert first.json()["coupon"] == {"code": "SPRING-10", "redeemed": True, "offer_id": offer, "reason": None,
                                      "message": None}  # fmt: skip
    # The same purchase again: a duplicate, still redeemed once.
    again = client.post("/ingest/purchases", json=row, headers=admin_headers)
    assert again.status_code == 200 and again.json()["coupon"]["redeemed"] is True
    # Another purchase by alice: used up (once per customer); bob was never delivered it; a code nobody has.
    cases = [
        (factories.purchase_row(2, brand, alice, purchased_at=at, coupon_code="SPRING-10"), "used_up"),
        (factories.purchase_row(3, brand, bob, purchased_at=at, coupon_code="SPRING-10"), "not_delivered"),
        (factories.purchase_row(4, brand, alice, purchased_at=at, coupon_code="WINTER-99"), "unknown_code"),
        (factories.purchase_row(5, brand, alice, purchased_at=_iso(datetime(2020, 6, 1, tzinfo=UTC)),
                                coupon_code="SPRING-10"), "not_delivered"),  # before it was delivered
    ]  # fmt: skip
    for body, reason in cases:
        answer = client.post("/ingest/purchases", json=body, headers=admin_headers)
        assert answer.status_code == 201 and answer.json()["coupon"]["reason"] == reason, answer.text
        assert answer.json()["coupon"]["redeemed"] is False and answer.json()["coupon_code"] == body["coupon_code"]
    # A different code under the same external id is a conflict, not a second redemption.
    clash = client.post("/ingest/purchases", json=row | {"coupon_code": "WINTER-99"}, headers=admin_headers)
    assert clash.status_code == 409 and "coupon_code" in clash.text
    with Session(engine) as session:
        (redemption,) = session.exec(select(Redemption)).all()
        assert (redemption.offer_id, redemption.customer_id) == (offer, ids[0])
        assert len([p for p in session.exec(select(Purchase)) if p.coupon_code]) == 5  # all stored with their code
        (event,) = session.exec(select(WebhookEvent)).all()
        assert event.kind == "offer.redeemed" and f'"redemption_id": {redemption.id}' in event.payload
    shown = client.get(f"/brands/me/offers/{offer}", headers=headers).json()
    assert shown["redeemed"] == 1 and shown["delivered"] == 1


def test_bulk_uploads_redeem_up_to_per_customer_and_say_which_lines_did_not(client, admin_headers, shop) -> None:
    brand, headers, engine, alice, bob, ids = shop
    offer = _coupon(client, headers, engine, [ids[0]], per_customer=2)
    at = _iso(datetime.now(UTC) - timedelta(hours=1))
    body = factories.ndjson(
        *(factories.purchase_row(n, brand, alice, purchased_at=at, coupon_code="SPRING-10") for n in (1, 2, 3)),
        factories.purchase_row(4, brand, bob, purchased_at=at, coupon_code="SPRING-10"),
        factories.purchase_row(5, brand, bob, purchased_at=at),
    )
    report = client.post("/ingest/purchases/bulk", content=body, headers=admin_headers | NDJSON)
    assert report.status_code == 200, report.text
    coupons = report.json()["coupons"]
    assert coupons["redeemed"] == 2 and coupons["not_redeemed_total"] == 2
    assert [(c["line"], c["reason"]) for c in coupons["not_redeemed"]] == [(3, "used_up"), (4, "not_delivered")]
    again = client.post("/ingest/purchases/bulk", content=body, headers=admin_headers | NDJSON).json()
    assert again["duplicates"] == 5 and again["coupons"]["redeemed"] == 0
    csv = f"customer,brand,external_id,purchased_at,amount,coupon_code\n{alice},{brand},c-1,{at},1000,spring-10\n"
    csv += f"{alice},{brand},c-2,{at},1000,\n"
    from_csv = client.post("/ingest/purchases/bulk", content=csv.encode(), headers=admin_headers | CSV).json()
    assert from_csv["accepted"] == 2 and from_csv["coupons"]["not_redeemed"][0]["reason"] == "used_up"
    with Session(engine) as session:
        assert len(session.exec(select(Redemption).where(Redemption.offer_id == offer)).all()) == 2
    # Another customer gets it delivered: their CSV line redeems.
    _coupon_for = ids[1]
    from app.models.crm import Delivery

    with Session(engine) as session:
        session.add(Delivery(offer_id=offer, customer_id=_coupon_for, source="rule:10", channel="inbox", why="{}",
                             delivered_at=datetime.now(UTC) - timedelta(days=1)))  # fmt: skip
        session.commit()
    csv = f"customer,brand,external_id,purchased_at,amount,coupon_code\n{bob},{brand},c-3,{at},1000,SPRING-10\n"
    from_csv = client.post("/ingest/purchases/bulk", content=csv.encode(), headers=admin_headers | CSV).json()
    assert from_csv["coupons"] == {"redeemed": 1, "not_redeemed_total": 0, "not_redeemed": []}


@pytest.fixture()
def receiver_url():
    server = factories.WebhookReceiver()
    try:
        yield server.url
    finally:
        server.close()
