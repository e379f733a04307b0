"""The wallet's inbox API: newest first and paginated, "why am I seeing this", read, redeem a gift or a coupon."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.models.crm import Delivery, Redemption
from tests import factories
from tests.conftest import make_brand, sign_in

pytestmark = pytest.mark.chain

WHY = {
    "source": "rule:3", "rule": 3, "trigger": "behaviour", "event": "tier_up", "purpose": "marketing",
    "categories": ["segment"], "consent": {"receipt_id": "r-1", "receipt_hash": "0x" + "ab" * 32},
    "values": {"tier": "gold", "previous": "silver"},
}  # fmt: skip


@pytest.fixture()
def delivered(client, admin_headers, dev_accounts):
    """Three offers delivered to alice a day apart (a message to everyone, a coupon, a gift read from her tier)."""
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    engine = client.app.state.engine
    alice = factories.customer(engine, dev_accounts[0].address)
    ids = {}
    for n, kind in enumerate(("message", "coupon", "gift")):
        offer = client.post("/brands/me/offers", json=factories.offer_body(kind), headers=headers).json()
        why = WHY if kind == "gift" else {"source": "rule:1", "trigger": "date_window", "categories": [], "values": {}}
        with Session(engine) as session:
            delivery = Delivery(
                offer_id=offer["id"], customer_id=alice, source=why["source"], channel="inbox",
                why=json.dumps(why), consent_receipt_id="r-1" if kind == "gift" else None,
                delivered_at=datetime.now(UTC) - timedelta(days=3 - n),
            )  # fmt: skip
            session.add(delivery)
            session.commit()
            ids[kind] = delivery.id
    return brand, headers, engine, ids


def test_inbox_lists_newest_first_with_terms_and_counts_unread(client, customer_headers, delivered) -> None:
    _, _, _, ids = delivered
    page = client.get("/me/inbox", params={"limit": 2}, headers=customer_headers).json()
    assert (page["total"], page["unread"]) == (3, 3)
    assert [i["id"] for i in page["items"]] == [ids["gift"], ids["coupon"]]
    gift = page["items"][0]
    assert gift["offer"]["terms"] == "One per customer while the budget lasts." and gift["offer"]["brand"] == "Acme"
    assert gift["offer"]["description"] == "a gift for you: a tote bag" and gift["delivered_at"].endswith("Z")
    rest = client.get("/me/inbox", params={"limit": 2, "offset": 2}, headers=customer_headers).json()
    assert [i["id"] for i in rest["items"]] == [ids["message"]]
    read = client.post(f"/me/inbox/{ids['message']}/read", headers=customer_headers)
    assert read.status_code == 200 and read.json()["read_at"].endswith("Z")
    again = client.post(f"/me/inbox/{ids['message']}/read", headers=customer_headers).json()
    assert again["read_at"] == read.json()["read_at"]  # the first reading is kept
    assert client.get("/me/inbox", headers=customer_headers).json()["unread"] == 2


def test_why_names_the_consent_and_the_data_used(client, customer_headers, dev_accounts, delivered) -> None:
    _, _, _, ids = delivered
    item = client.get(f"/me/inbox/{ids['gift']}", headers=customer_headers).json()
    assert item["why"] == {
        "trigger": "behaviour", "event": "tier_up", "source": "rule:3", "reads_data": True,
        "consent": {"receipt_id": "r-1", "purpose": "marketing", "categories": ["segment"],
                    "receipt_hash": "0x" + "ab" * 32},
        "data_used": {"tier": "gold", "previous": "silver"},
    }  # fmt: skip
    everyone = client.get(f"/me/inbox/{ids['message']}", headers=customer_headers).json()["why"]
    assert everyone["reads_data"] is False and everyone["consent"] is None
    # Someone else's inbox item does not exist for this customer.
    bob = sign_in(client, dev_accounts[1])
    assert client.get(f"/me/inbox/{ids['gift']}", headers=bob).status_code == 404
    assert client.post(f"/me/inbox/{ids['gift']}/redeem", headers=bob).status_code == 404


def test_redeem_a_gift_once_and_a_coupon_shows_its_code(client, customer_headers, delivered) -> None:
    _, headers, engine, ids = delivered
    receiver = factories.WebhookReceiver()
    try:
        hook = client.put("/brands/me/webhook", json={"url": receiver.url}, headers=headers).json()
        receiver.secret = hook["secret"].encode()
        gift = client.post(f"/me/inbox/{ids['gift']}/redeem", headers=customer_headers)
        assert gift.status_code == 200, gift.text
        assert gift.json()["redemption_id"] and gift.json()["item"]["redeemed"] == 1
        ((_, event),) = receiver.processed.items()
        assert event["type"] == "offer.redeemed" and event["data"]["redemption_id"] == gift.json()["redemption_id"]
    finally:
        receiver.close()
    twice = client.post(f"/me/inbox/{ids['gift']}/redeem", headers=customer_headers)
    assert twice.status_code == 409 and "as often as it allows" in twice.json()["message"]
    coupon = client.post(f"/me/inbox/{ids['coupon']}/redeem", headers=customer_headers).json()
    assert coupon["code"] == "SPRING-10" and coupon["redemption_id"] is None and "till" in coupon["message"]
    message = client.post(f"/me/inbox/{ids['message']}/redeem", headers=customer_headers)
    assert message.status_code == 409 and "is not redeemed" in message.json()["message"]
    with Session(engine) as session:
        assert len(session.exec(select(Redemption)).all()) == 1
