"""Whom a rule selects: its filters (tier, RFM cell, style with a least score) among consenting customers only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from app.domain import Category, Purpose
from app.models.crm import Rule
from app.models.epochs import EpochScore
from app.services.audience import chain_now, refresh_mirror
from app.services.rules import targets
from tests import factories
from tests.conftest import make_brand

pytestmark = pytest.mark.chain

MARKETING = int(Purpose.MARKETING)


def _score(customer_id: int, r: int, f: int, m: int, tier: str) -> EpochScore:
    return EpochScore(
        epoch=1, customer_id=customer_id, recency_days=100, frequency=f, monetary_total=10_000 * m,
        monetary_avg=10_000, r=r, f=f, m=m, segment="at_risk", tier=tier, cashback_bps=100,
    )  # fmt: skip


def test_filters_select_among_consenting_customers_only(
    client, settings, w3, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    engine = client.app.state.engine
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    alice, bob, carol = dev_accounts[0], dev_accounts[1], dev_accounts[2]
    ids = [factories.customer(engine, a.address) for a in (alice, bob, carol)]
    with Session(engine) as session:
        session.add_all(
            [_score(ids[0], 1, 3, 3, "gold"), _score(ids[1], 2, 3, 3, "silver"), _score(ids[2], 1, 3, 3, "gold")]
        )
        session.commit()
    now = datetime.now(UTC)
    for n, (cid, level) in enumerate(((ids[0], 1), (ids[1], 4), (ids[2], 4))):
        for j in range(level):
            factories.interest_event(
                engine, cid, brand["id"], now - timedelta(days=1), "wishlist", "shoes", "minimal", f"{n}-{j}"
            )
    d = deployment_of(settings)
    wide = int(Category.SEGMENT | Category.STYLES)
    for who in (alice, bob):  # carol matches every filter but consents to nothing
        factories.grant_by_signature(w3, d, relayer, who, brand["address"], MARKETING, wide, 10**15)
    offer = factories.offer(engine, brand["id"])
    window = {"kind": "date_window", "window_start": (now - timedelta(days=1)).isoformat(),
              "window_end": (now + timedelta(days=1)).isoformat()}  # fmt: skip

    def selected(audience: dict) -> tuple[list[int], dict]:
        body = {"name": "r", "offer_id": offer.id, "audience": audience, "trigger": window}
        created = client.post("/brands/me/rules", json=body, headers=headers)
        assert created.status_code == 201, created.text
        gateway = client.app.state.gateway
        with Session(engine) as session:
            rule = session.get(Rule, created.json()["id"])
            assert rule is not None
            refresh_mirror(settings, engine, gateway)
            found = targets(session, settings, rule, now=chain_now(gateway).timestamp)
        return found.customer_ids, found.values

    chosen, values = selected({"tier": "gold"})
    assert chosen == [ids[0]] and values[ids[0]] == {"segment": "at_risk", "tier": "gold", "rfm": "1,3,3"}
    assert selected({"rfm": "1,3,3"})[0] == [ids[0]]
    assert selected({"rfm": "2,3,3"})[0] == [ids[1]]
    scores = selected({"style": "minimal"})
    assert scores[0] == [ids[0], ids[1]]
    low, high = scores[1][ids[0]]["style"]["minimal"], scores[1][ids[1]]["style"]["minimal"]
    assert 0 < low < high
    assert selected({"style": "minimal", "min_score": (low + high) / 2})[0] == [ids[1]]
    assert selected({"everyone": True})[0] == []  # nobody bought at the brand: nobody is its customer
