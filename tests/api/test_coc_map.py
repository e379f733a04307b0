"""The Customer-Offer-Channel map: audiences × offers × channels, reach and results counted from each delivery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from app.models.crm import Redemption
from tests import factories
from tests.conftest import make_brand

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_map_counts_reach_redemptions_and_conversions_within_validity(client, admin_headers, dev_accounts) -> None:
    engine = client.app.state.engine
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    alice, bob = (factories.customer(engine, a.address) for a in dev_accounts[:2])
    for n, who in enumerate((alice, bob)):
        factories.purchase(engine, who, brand["id"], T0, 10_000, f"before-{n}")  # before any delivery
    now = datetime.now(UTC)
    welcome = factories.offer(engine, brand["id"], name="Welcome", valid_until=now + timedelta(days=30))
    gold = factories.offer(engine, brand["id"], name="Gold day")
    window = {"kind": "date_window", "window_start": (now - timedelta(days=1)).isoformat(),
              "window_end": (now + timedelta(days=1)).isoformat()}  # fmt: skip
    for name, offer, audience in (("All", welcome, {"everyone": True}), ("Champions", gold, {"segment": "champions"})):
        body = {"name": name, "offer_id": offer.id, "audience": audience, "trigger": window}
        assert client.post("/brands/me/rules", json=body, headers=headers).status_code == 201
    empty = client.get("/brands/me/coc-map", headers=headers).json()
    assert [(c["audience"], c["deliveries"], c["conversion_rate"]) for c in empty["cells"]] == [
        ("everyone", 0, None), ("segment champions", 0, None),
    ]  # fmt: skip

    fired = client.post("/crm/tick", headers=admin_headers).json()["fired"]
    assert [f["delivered"] for f in fired] == [2, 0]  # nobody consents to share a segment
    # Alice buys after the delivery and redeems; Bob buys only after the offer ended.
    factories.purchase(engine, alice, brand["id"], now + timedelta(days=2), 20_000, "after-a")
    factories.purchase(engine, bob, brand["id"], now + timedelta(days=40), 20_000, "late-b")
    with Session(engine) as session:
        session.add(Redemption(offer_id=welcome.id, customer_id=alice, redeemed_at=now + timedelta(days=2)))
        session.commit()

    answer = client.get("/brands/me/coc-map", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["audiences"] == ["everyone", "segment champions"] and body["channels"] == ["inbox"]
    assert [o["name"] for o in body["offers"]] == ["Welcome", "Gold day"]
    cells = {(c["audience"], c["offer_id"], c["channel"]): c for c in body["cells"]}
    reached = cells[("everyone", welcome.id, "inbox")]
    assert (reached["deliveries"], reached["customers"], reached["redemptions"], reached["conversions"]) == (2, 2, 1, 1)
    assert reached["conversion_rate"] == 0.5 and reached["offer_name"] == "Welcome"
    assert cells[("segment champions", gold.id, "inbox")]["customers"] == 0

    _, other = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    assert client.get("/brands/me/coc-map", headers=other).json() == {
        "audiences": [], "offers": [], "channels": [], "cells": [],
    }  # fmt: skip
