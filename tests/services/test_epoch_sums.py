"""Epoch sums are exact beyond 64 bits: purchases whose total overflows BIGINT settle, and the audit agrees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app import db
from app.chain.gateway import ChainGateway
from app.models.epochs import EpochReward, EpochScore
from app.services.audit import Verifier
from app.services.epochs import EpochRunner
from tests import factories

pytestmark = pytest.mark.chain

UNITS = 10**18
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BIGINT_MAX = 2**63 - 1


@pytest.fixture()
def engine(settings):
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


def test_purchases_beyond_bigint_settle_exactly_and_the_audit_rederives_them(
    settings, engine, w3, deployment_of, operator, dev_accounts
) -> None:
    d = deployment_of(settings)
    alice, brand_key = dev_accounts[0], dev_accounts[5]
    huge = (BIGINT_MAX + 2**62) * 100 * UNITS // 10_000  # both purchases at the base tier (100 bps)
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Acme", huge + UNITS)
    customer = factories.customer(engine, alice.address)
    factories.purchase(engine, customer, brand, T0 + timedelta(days=1), BIGINT_MAX, "max")
    factories.purchase(engine, customer, brand, T0 + timedelta(days=2), 2**62, "big")

    epoch = EpochRunner(settings, engine, ChainGateway(settings)).run(T0 + timedelta(days=30)).epoch

    assert epoch.status == "done" and epoch.total == huge
    with Session(engine) as session:
        (reward,) = session.exec(select(EpochReward).where(EpochReward.epoch == 1)).all()
        assert reward.purchase_cashback == huge and reward.cumulative == huge
        (score,) = session.exec(select(EpochScore).where(EpochScore.epoch == 1)).all()
        # Stored figures are capped at BIGINT (display only); the scores came from the exact sum.
        assert score.monetary_total == BIGINT_MAX and score.m == 3
    report = Verifier(settings, engine, ChainGateway(settings)).run()
    assert report["ok"], [c for c in report["checks"] if not c["ok"]]

    # The next epoch grades from the exact total too (tier rates rescored by the audit from the purchases).
    factories.purchase(engine, customer, brand, T0 + timedelta(days=40), 1_000, "small")
    second = EpochRunner(settings, engine, ChainGateway(settings)).run(T0 + timedelta(days=60)).epoch
    assert second.status == "done"
    assert Verifier(settings, engine, ChainGateway(settings)).run()["ok"]
