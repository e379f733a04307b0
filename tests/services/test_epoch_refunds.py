"""Refunds through the epochs on a real anvil and SQLite: scores net of the refunds an epoch applied, the tiers the
next epoch pays at graded on net amounts, the refunds committed (`refunds_hash`) and the audit re-deriving it all."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from app.analytics.rules import default_rules
from app.audit import Verifier
from app.chain.gateway import ChainGateway
from app.models.epochs import EpochReward, EpochScore
from app.models.purchases import PurchaseRefund
from app.services.epochs import EpochRunner
from tests import factories

pytestmark = pytest.mark.chain

UNITS = 10**18
SCALE = UNITS // 10_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
RULES = default_rules()


def refund(engine, purchase_id: int, customer_id: int, brand_id: int, day: int, amount: int, ref: str) -> None:
    with Session(engine) as session:
        session.add(
            PurchaseRefund(
                purchase_id=purchase_id,
                customer_id=customer_id,
                brand_id=brand_id,
                external_id=ref,
                refunded_at=T0 + timedelta(days=day),
                amount=amount,
            )
        )
        session.commit()


def epoch_root(settings, engine) -> dict:
    report = Verifier(settings, engine, ChainGateway(settings)).run()
    return next(c for c in report["checks"] if c["check"] == "epoch_root")


def test_scores_are_net_of_refunds_and_the_audit_re_derives_them(
    settings, engine, w3, deployment_of, operator, dev_accounts
) -> None:
    d = deployment_of(settings)
    alice, bob, carol, acme_key = dev_accounts[0], dev_accounts[1], dev_accounts[2], dev_accounts[5]
    acme = factories.funded_brand(engine, w3, d, operator, acme_key, "Acme", 10**6 * UNITS)
    a, b, c = (factories.customer(engine, x.address) for x in (alice, bob, carol))
    big = factories.purchase(engine, a, acme, T0 + timedelta(days=1), 900_000, "a1")
    factories.purchase(engine, a, acme, T0 + timedelta(days=2), 10_000, "a2")
    factories.purchase(engine, b, acme, T0 + timedelta(days=3), 100_000, "b1")
    whole = factories.purchase(engine, c, acme, T0 + timedelta(days=4), 50_000, "c1")
    refund(engine, big, a, acme, 5, 850_000, "r1")  # alice keeps 50,000 of 900,000
    refund(engine, whole, c, acme, 6, 50_000, "r2")  # carol returns everything
    refund(engine, big, a, acme, 40, 10_000, "r3")  # after epoch 1's as_of: applies from epoch 2's scores on
    runner = EpochRunner(settings, engine, ChainGateway(settings))
    one = runner.run(T0 + timedelta(days=30)).epoch
    manifest = json.loads(one.manifest or "{}")
    assert manifest["max_refund_id"] == 3 and manifest["refunds_hash"].startswith("0x")
    with Session(engine) as session:
        scores = {s.customer_id: s for s in session.exec(select(EpochScore).where(EpochScore.epoch == 1))}
        assert (scores[a].monetary_total, scores[a].frequency) == (60_000, 2)
        assert scores[b].monetary_total == 100_000
        assert c not in scores  # refunded in full: not scored
        # Cashback is what the epoch paid on the purchases as made (clawback is not part of this change).
        base = RULES.tiers[-1].cashback_bps
        reward = session.get(EpochReward, (1, alice.address.lower()))
        assert reward is not None and reward.purchase_cashback == 910_000 * base * SCALE
    factories.pass_challenge_window(w3, int(one.finalises_at.timestamp()))
    factories.purchase(engine, a, acme, T0 + timedelta(days=41), 20_000, "a3")
    two = runner.run(T0 + timedelta(days=60)).epoch
    with Session(engine) as session:
        reward = session.get(EpochReward, (2, alice.address.lower()))
        assert reward is not None and reward.purchase_cashback == 20_000 * scores[a].cashback_bps * SCALE
        second = {s.customer_id: s for s in session.exec(select(EpochScore).where(EpochScore.epoch == 2))}
        assert second[a].monetary_total == 70_000  # 60,000 - 10,000 refunded on day 40 + 20,000
    factories.pass_challenge_window(w3, int(two.finalises_at.timestamp()))
    assert epoch_root(settings, engine)["status"] == "ok"

    # A refund edited after the epochs applied it is found and named.
    with Session(engine) as session:
        session.execute(text("UPDATE purchase_refunds SET amount = 1 WHERE external_id = 'r1'"))
        session.commit()
    check = epoch_root(settings, engine)
    assert check["status"] == "failed"
    assert any(x["record"].get("field") == "refunds_hash" for x in check["discrepancies"])
