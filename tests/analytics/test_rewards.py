"""An epoch's reward SQL (app/analytics/rewards.py) over a real SQLite store, without the chain: what is
covered, cashback at the previous tier rate, access prices in the block range, carries, debits, leaves."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from app import db
from app.analytics import rewards
from app.analytics.rules import default_rules
from app.analytics.store import analytics
from app.config import Settings
from app.models.accounts import Brand, Customer
from app.models.epochs import EpochCarry, EpochReward, EpochScore
from app.models.mirror import MirrorAccess
from app.models.purchases import Purchase

SHOP, MALL = "0x" + "aa" * 20, "0x" + "bb" * 20  # brands 1 and 2
ANN, BEN = "0x" + "01" * 20, "0x" + "02" * 20  # customers 1 and 2
PREVIOUS_AS_OF = datetime(2024, 6, 1, tzinfo=UTC)
AS_OF = datetime(2024, 7, 1, tzinfo=UTC)
GOLD_BPS = 300


def _at(day: int, month: int = 6) -> datetime:
    return datetime(2024, month, day, 12, tzinfo=UTC)


@pytest.fixture()
def settings(tmp_path) -> Settings:
    """A store at epoch 2: epoch 1 covered purchases 1-2 up to June 1 and graded Ann gold; Ben unscored."""
    settings = Settings(environment="test", data_dir=tmp_path / "data", start_anvil=False)
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    with Session(engine) as session:
        session.add_all([Brand(id=1, name="Shop", address=SHOP), Brand(id=2, name="Mall", address=MALL)])
        session.add_all([Customer(id=1, address=ANN), Customer(id=2, address=BEN)])
        session.flush()
        purchases = [
            (1, 1, 1, _at(20, 5), 1_000),  # covered by epoch 1
            (2, 1, 1, _at(2), 5_000),  # ingested before epoch 1 but made after its as-of: this epoch's
            (3, 1, 1, _at(10), 10_000),
            (4, 2, 2, _at(11), 20_000),
            (5, 2, 1, _at(2, 7), 9_999),  # after this epoch's as-of
            (6, 2, 1, _at(12), 8_888),  # voided
        ]
        session.add_all(
            Purchase(id=i, customer_id=c, brand_id=b, external_id=f"o-{i}", purchased_at=t, amount=won)
            for i, c, b, t, won in purchases
        )
        session.add(
            EpochScore(
                epoch=1, customer_id=1, recency_days=1, frequency=1, monetary_total=1_000, monetary_avg=1_000,
                r=3, f=1, m=1, segment="new", tier="gold", cashback_bps=GOLD_BPS,
            )
        )  # fmt: skip
        session.add(EpochCarry(epoch=1, account=BEN, brand=SHOP, amount=123))
        reward = EpochReward(
            epoch=1, account=ANN, purchase_cashback=1_000, access_earnings=0, earned=1_000, cumulative=1_000
        )
        session.add(reward)
        for block, price in ((5, 7), (12, 50)):  # only block 5 lies in this epoch's range 3..9
            session.add(
                MirrorAccess(
                    block_number=block, log_index=0, position=0, block_hash="0x" + "00" * 32, block_time=_at(15),
                    tx_hash="0x" + "11" * 32, brand=MALL, purpose=1, request_id="0x" + "22" * 32, categories=1,
                    customer=ANN, price=price, batch_size=1, batch_total=price,
                )
            )  # fmt: skip
        session.commit()
    engine.dispose()
    return settings


def test_rewards_cover_rate_carry_and_settle_a_short_brand(settings) -> None:
    rules = default_rules()
    scale = rules.epochs.cash_units_per_won // 10_000
    base_bps = rules.tiers[-1].cashback_bps
    ann_shop = 15_000 * GOLD_BPS * scale  # purchases 2 and 3 at Ann's gold rate
    ben_mall = 20_000 * base_bps * scale  # Ben was not graded: the last tier's rate
    with analytics(settings) as con:
        rewards.load_purchases(con, max_purchase_id=6, as_of=AS_OF, not_voided="id <> 6")
        rewards.cover(con, (2, PREVIOUS_AS_OF))
        assert [i for (i,) in con.execute("SELECT id FROM covered ORDER BY id").fetchall()] == [2, 3, 4]
        owed = rewards.earnings(con, epoch=2, from_block=3, to_block=9, rules=rules)
        assert owed == [(SHOP, ann_shop + 123), (MALL, ben_mall)]
        rewards.settle(con, epoch=2, short=[(MALL, 5)])  # Mall cannot pay its purchase cashback: carried
        assert rewards.debits(con) == [(SHOP, 0, ann_shop + 123), (MALL, 7, 0)]
        assert rewards.leaves(con) == [(ANN, 1_000 + ann_shop + 7), (BEN, 123)]
        covered = con.execute(
            "SELECT id, customer_id, brand_id, amount, epoch_us(purchased_at) FROM covered ORDER BY id"
        ).fetchall()
        chunk = hashlib.sha256("\n".join("|".join(map(str, row)) for row in covered).encode()).hexdigest()
        assert rewards.purchases_hash(con) == "0x" + hashlib.sha256(chunk.encode()).hexdigest()
        rewards.store_rewards(con, 2)
        assert con.execute("SELECT account, brand, amount FROM store.epoch_carries WHERE epoch = 2").fetchall() == [
            (BEN, MALL, str(ben_mall))
        ]
        assert con.execute("SELECT brand, owed, available FROM store.epoch_shortfalls WHERE epoch = 2").fetchall() == [
            (MALL, str(ben_mall), "5")
        ]
        assert con.execute(
            "SELECT account, purchase_cashback, access_earnings, cumulative FROM store.epoch_rewards "
            "WHERE epoch = 2 ORDER BY account"
        ).fetchall() == [(ANN, str(ann_shop), "7", str(1_000 + ann_shop + 7)), (BEN, "123", "0", "123")]
