"""Triggers fire rules through deliver(): an epoch's behaviour changes (the articles' (1, 3, 3) high-value customer
gone quiet), an ingested cart abandon, and date windows (`ledger crm tick`, POST /crm/tick), each once."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.analytics.rules import default_rules
from app.chain.gateway import ChainGateway
from app.domain import Category, Purpose
from app.models.crm import Delivery
from app.services.epochs import EpochRunner
from tests import factories
from tests.conftest import make_brand

pytestmark = pytest.mark.chain

MARKETING = int(Purpose.MARKETING)
PRICE = 3 * 10**15
UNITS = 10**18
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _deliveries(engine) -> list[Delivery]:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        return list(session.exec(select(Delivery).order_by(Delivery.id)).all())  # type: ignore[arg-type]


def _brand(client, settings, w3, operator, admin_headers, dev_accounts, deployment_of):  # type: ignore[no-untyped-def]
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    engine = client.app.state.engine
    factories.funded_brand(engine, w3, deployment_of(settings), operator, dev_accounts[5], "Acme", 10**9 * UNITS)
    return brand, headers, engine


def test_the_articles_high_value_customer_gone_quiet_fires_behaviour_rules_after_the_epoch(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    brand, headers, engine = _brand(client, settings, w3, operator, admin_headers, dev_accounts, deployment_of)
    alice, bob = dev_accounts[0], dev_accounts[1]
    ids = {a.address: factories.customer(engine, a.address) for a in (alice, bob)}
    # Three big purchases in the two months before the first epoch: R 3, F 3, M 3 (three-level scheme).
    for who in (alice, bob):
        for n in range(3):
            at = T0 + timedelta(days=20 + 10 * n)
            factories.purchase(engine, ids[who.address], brand["id"], at, 600_000, f"{who.address}-{n}")
    factories.grant_by_signature(
        w3, deployment_of(settings), relayer, alice, brand["address"], MARKETING, int(Category.SEGMENT), PRICE
    )  # bob gives no consent: his data is not read, he gets nothing
    offer = factories.offer(engine, brand["id"])
    quiet = client.post(
        "/brands/me/rules",
        json={
            "name": "We miss you",
            "offer_id": offer.id,
            "trigger": {"kind": "behaviour", "event": "high_value_gone_quiet"},
        },
        headers=headers,
    ).json()
    down = client.post(
        "/brands/me/rules",
        json={
            "name": "Keep gold",
            "offer_id": offer.id,
            "audience": {"tier": "gold"},
            "trigger": {"kind": "behaviour", "event": "tier_down"},
        },
        headers=headers,
    ).json()
    assert quiet["categories"] == down["categories"] == ["segment"]

    rules = default_rules()
    three_level = dataclasses.replace(rules, epochs=dataclasses.replace(rules.epochs, scheme="three_level"))
    runner = EpochRunner(settings, engine, ChainGateway(settings), rules=three_level)
    first = runner.run(T0 + timedelta(days=60)).epoch
    assert _deliveries(engine) == []  # the first epoch is the baseline: no changes
    factories.pass_challenge_window(w3, int(first.finalises_at.timestamp()))  # type: ignore[union-attr]
    # A hundred days without a purchase: R 1 now, after (3, 3, 3); down from vip to gold.
    second = runner.run(T0 + timedelta(days=160)).epoch
    assert second.status == "done"

    delivered = _deliveries(engine)
    assert {(d.rule_id, d.customer_id, d.source) for d in delivered} == {
        (quiet["id"], ids[alice.address], f"rule:{quiet['id']}/epoch:2"),
        (down["id"], ids[alice.address], f"rule:{down['id']}/epoch:2"),
    }
    why = {d.rule_id: json.loads(d.why) for d in delivered}
    assert why[quiet["id"]]["values"]["event"] == {
        "name": "high_value_gone_quiet", "epoch": 2, "previous": "333", "current": "113",
    }  # fmt: skip
    assert why[down["id"]]["values"]["tier"] == "gold" and why[down["id"]]["values"]["event"]["previous"] == "vip"
    assert all(d.price == PRICE and d.access_request_id for d in delivered)
    # The rules show their reach.
    assert client.get(f"/brands/me/rules/{quiet['id']}", headers=headers).json()["customers"] == 1


def test_an_ingested_cart_abandon_fires_cart_rules_once(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    brand, headers, engine = _brand(client, settings, w3, operator, admin_headers, dev_accounts, deployment_of)
    alice, bob = dev_accounts[0], dev_accounts[1]
    for who in (alice, bob):
        factories.customer(engine, who.address)
    factories.grant_by_signature(
        w3, deployment_of(settings), relayer, alice, brand["address"], MARKETING, int(Category.CART), PRICE
    )
    offer = factories.offer(engine, brand["id"])
    rule = client.post(
        "/brands/me/rules",
        json={"name": "Your cart", "offer_id": offer.id, "trigger": {"kind": "cart_abandoned"}},
        headers=headers,
    ).json()
    assert rule["categories"] == ["cart"]
    now = datetime.now(UTC)
    recent = (now - timedelta(hours=2)).isoformat()
    operator_headers = admin_headers
    for n, who in enumerate((alice, bob)):
        row = factories.event_row(n, brand["id"], who.address, "cart_abandon", occurred_at=recent)
        assert client.post("/ingest/events", json=row, headers=operator_headers).status_code in (200, 201)
    (delivery,) = _deliveries(engine)
    assert delivery.customer_id == factories.customer(engine, alice.address)
    assert delivery.source == f"rule:{rule['id']}/cart:{now - timedelta(hours=2):%Y-%m-%d}"
    assert json.loads(delivery.why)["values"]["cart"]["item_id"] == "sku-1"
    # The same event again (a duplicate), and a bulk upload with another abandon the same day: nothing new.
    again = factories.event_row(0, brand["id"], alice.address, "cart_abandon", occurred_at=recent)
    client.post("/ingest/events", json=again, headers=operator_headers)
    later = factories.event_row(7, brand["id"], alice.address, "cart_abandon", occurred_at=now.isoformat())
    bulk = client.post(
        "/ingest/events/bulk",
        content=factories.ndjson(later),
        headers=operator_headers | {"Content-Type": "application/x-ndjson"},
    )
    assert bulk.status_code == 200, bulk.text
    sources = {f"rule:{rule['id']}/cart:{at:%Y-%m-%d}" for at in (now - timedelta(hours=2), now)}
    assert sorted(d.source for d in _deliveries(engine)) == sorted(sources)  # one per day with an abandon
    # An abandon of long ago (an upload of history) fires nothing.
    old = factories.event_row(
        9, brand["id"], alice.address, "cart_abandon", occurred_at=(now - timedelta(days=30)).isoformat()
    )
    client.post("/ingest/events", json=old, headers=operator_headers)
    assert not any(d.source.endswith(f"{now - timedelta(days=30):%Y-%m-%d}") for d in _deliveries(engine))


def test_date_window_rules_fire_once_per_customer_on_tick(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of, monkeypatch
) -> None:
    brand, headers, engine = _brand(client, settings, w3, operator, admin_headers, dev_accounts, deployment_of)
    alice, bob, carol = dev_accounts[0], dev_accounts[1], dev_accounts[2]
    ids = {a.address: factories.customer(engine, a.address) for a in (alice, bob, carol)}
    for n, who in enumerate((alice, bob)):  # carol never bought there: not a customer of the brand
        factories.purchase(engine, ids[who.address], brand["id"], T0, 10_000, f"p{n}")
    offer = factories.offer(engine, brand["id"])
    now = datetime.now(UTC)

    def window_rule(name: str, start: datetime, end: datetime) -> dict:
        trigger = {"kind": "date_window", "window_start": start.isoformat(), "window_end": end.isoformat()}
        body = {"name": name, "offer_id": offer.id, "audience": {"everyone": True}, "trigger": trigger}
        created = client.post("/brands/me/rules", json=body, headers=headers)
        assert created.status_code == 201, created.text
        return created.json()

    open_now = window_rule("Summer", now - timedelta(days=1), now + timedelta(days=1))
    window_rule("Autumn", now + timedelta(days=30), now + timedelta(days=60))
    paused = window_rule("Paused", now - timedelta(days=1), now + timedelta(days=1))
    client.post(f"/brands/me/rules/{paused['id']}/pause", headers=headers)

    ticked = client.post("/crm/tick", headers=admin_headers)
    assert ticked.status_code == 200, ticked.text
    assert [(f["rule_id"], f["delivered"], f["cost"]) for f in ticked.json()["fired"]] == [(open_now["id"], 2, "0")]
    delivered = _deliveries(engine)
    assert sorted(d.customer_id for d in delivered) == sorted([ids[alice.address], ids[bob.address]])
    assert all(d.access_request_id is None and d.source == f"rule:{open_now['id']}" for d in delivered)
    assert client.post("/crm/tick", headers=headers).status_code == 403  # the operator's, not the brand's

    # `ledger crm tick` again: everyone had it already.
    from typer.testing import CliRunner

    from app import db
    from app.cli import cli
    from app.config import get_settings

    for name, value in {
        "ENVIRONMENT": "test",
        "DATA_DIR": str(settings.data_dir),
        "RPC_URL": settings.rpc_url,
        "START_ANVIL": "false",
        "DATABASE_URL": settings.sqlalchemy_url,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    db.get_engine.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["crm", "tick"])
    finally:
        get_settings.cache_clear()
        db.get_engine.cache_clear()
    assert result.exit_code == 0, result.output
    assert f"rule {open_now['id']} (rule:{open_now['id']}): 0 delivered, 2 already" in result.output
    assert len(_deliveries(engine)) == 2
