"""Property: an epoch's rewards are deterministic and add up to the total published on chain.

Random purchases (customers, brands, days, amounts) and paid accesses, two epochs each time, on the
real anvil and a fresh SQLite store per example. After each epoch: rewards = debits = the total in
EpochPublished; computing the epoch again gives the same root and commitment; the independent
audit reproduces every root.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete
from sqlmodel import Session, select

from app import audit, db
from app.chain.deployment import ensure_deployed
from app.chain.gateway import ChainGateway
from app.config import Settings
from app.models.epochs import Epoch, EpochDebit, EpochReward
from app.services.epochs import EpochRunner
from tests import factories
from tests.conftest import TEST_CHALLENGE_WINDOW

pytestmark = pytest.mark.chain

T0 = datetime(2026, 3, 1, tzinfo=UTC)
UNITS = 10**18

purchases = st.lists(
    st.tuples(st.integers(0, 3), st.integers(0, 1), st.integers(0, 59), st.integers(0, 3_000_000)),
    min_size=1,
    max_size=20,
)
accesses = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1), st.integers(1, 9)), max_size=4)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bought=purchases, accessed=accesses)
def test_rewards_are_deterministic_and_sum_to_the_published_total(
    bought, accessed, anvil_url, w3, role_keys, operator, relayer, recorder, dev_accounts, tmp_path_factory
) -> None:
    data: Path = tmp_path_factory.mktemp("rewards-property")
    s = Settings(
        environment="test",
        data_dir=data,
        rpc_url=anvil_url,
        start_anvil=False,
        challenge_window_seconds=TEST_CHALLENGE_WINDOW,
    )
    d, _ = ensure_deployed(w3, role_keys, s.deployments_dir, challenge_window=s.challenge_window_seconds)
    _, _, distributor = factories.contracts(w3, d)
    db.migrate(s)
    engine = db.make_engine(s.sqlalchemy_url)
    customers, brand_keys = dev_accounts[:4], dev_accounts[4:6]
    brands = [
        factories.funded_brand(engine, w3, d, operator, k, f"B{i}", 10**12 * UNITS) for i, k in enumerate(brand_keys)
    ]
    ids = [factories.customer(engine, c.address) for c in customers]
    for n, (who, brand, day, amount) in enumerate(bought):
        factories.purchase(engine, ids[who], brands[brand], T0 + timedelta(days=day, hours=1), amount, f"p{n}")
    granted = set()
    for who, brand, price in accessed:
        if (who, brand) not in granted:
            factories.grant_by_signature(w3, d, relayer, customers[who], brand_keys[brand].address, 1, 1, price * UNITS)
            granted.add((who, brand))
        factories.record_access(w3, d, recorder, brand_keys[brand].address, 1, 1, [customers[who].address])

    runner = EpochRunner(s, engine, ChainGateway(s))
    for as_of in (T0 + timedelta(days=30), T0 + timedelta(days=61)):
        epoch = runner.run(as_of).epoch
        factories.pass_challenge_window(w3, int(epoch.finalises_at.timestamp()))  # the next may follow
        with Session(engine) as session:
            earned = sum(r.earned for r in session.exec(select(EpochReward).where(EpochReward.epoch == epoch.number)))
            debited = sum(x.amount for x in session.exec(select(EpochDebit).where(EpochDebit.epoch == epoch.number)))
        (event,) = distributor.events.EpochPublished().get_logs(
            from_block=d.block, argument_filters={"epoch": epoch.number}
        )
        assert earned == debited == epoch.total == event["args"]["total"]

        # Computed again from the same records: the same root and commitment, to the bit.
        with Session(engine) as session:
            for model in (EpochReward, EpochDebit):
                session.execute(delete(model).where(model.epoch == epoch.number))  # type: ignore[attr-defined]
            session.commit()
        again = runner._compute(epoch.model_copy(update={"status": "open"}))
        assert (again.root, again.commitment, again.total) == (epoch.root, epoch.commitment, epoch.total)
        with Session(engine) as session:
            row = session.get(Epoch, epoch.number)
            assert row is not None
            row.status = "done"
            session.add(row)
            session.commit()

    report, _ = audit.verify(s, engine=engine, out=data / "audit")
    assert report["ok"], [c for c in report["checks"] if c["status"] != "ok"]
    engine.dispose()
