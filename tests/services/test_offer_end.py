"""An offer ended early by its brand stops everywhere at its end: no rule delivers it, no coupon redeems."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from app import db
from app.config import Settings
from app.errors import Conflict
from app.models.accounts import Brand
from app.services import coupons, offers
from app.services.deliveries import deliver, offer_live
from tests import factories


@pytest.fixture()
def store(tmp_path):
    settings = Settings(environment="test", data_dir=tmp_path)
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    with Session(engine, expire_on_commit=False) as session:
        brand = Brand(name="Acme", address="0x" + "b1" * 20)
        session.add(brand)
        session.commit()
    yield settings, engine, brand
    engine.dispose()


def test_an_ended_offer_is_not_delivered_any_more(store) -> None:
    settings, engine, brand = store
    offer = factories.offer(engine, brand.id)
    rule = factories.rule(engine, brand.id, offer.id)
    assert offer_live(offer)
    with Session(engine, expire_on_commit=False) as session:
        ended = offers.end_offer(session, brand, offer.id).offer
    assert ended.valid_until.replace(tzinfo=UTC) > datetime.now(UTC)  # still "valid until" later ...
    assert not offer_live(ended)  # ... but ended
    with Session(engine, expire_on_commit=False) as session, pytest.raises(Conflict, match="cannot be delivered"):
        deliver(session, settings, None, rule=rule, offer=ended, customer_ids=[1], source="r")  # type: ignore[arg-type]


def test_an_ended_coupon_no_longer_redeems(store) -> None:
    settings, engine, brand = store
    customer = factories.customer(engine, "0x" + "c1" * 20)
    start = datetime.now(UTC) - timedelta(days=3)
    offer_id = factories.delivered_offer(
        engine, brand.id, "coupon", [customer], start, coupon_code="SPRING-10", discount="10% off"
    )
    with Session(engine, expire_on_commit=False) as session:
        offers.end_offer(session, brand, offer_id)
    # A purchase made before the end still redeems; one made after it does not.
    times = [datetime.now(UTC) - timedelta(days=1), datetime.now(UTC) + timedelta(minutes=1)]
    ids = [factories.purchase(engine, customer, brand.id, at, 1_000, f"p-{n}") for n, at in enumerate(times)]
    with engine.begin() as conn:
        before = coupons.redeem(conn, [coupons.CouponUse(ids[0], customer, brand.id, "spring-10", times[0])])
        after = coupons.redeem(conn, [coupons.CouponUse(ids[1], customer, brand.id, "spring-10", times[1])])
    assert before[0].redeemed and (after[0].redeemed, after[0].reason) == (False, "not_valid")


def test_an_ended_cashback_offer_pays_nothing_for_purchases_after_its_end(store) -> None:
    from app.analytics.store import analytics
    from app.models.epochs import Epoch
    from app.services import epoch_offers

    settings, engine, brand = store
    customer = factories.customer(engine, "0x" + "c1" * 20)
    start = datetime.now(UTC) - timedelta(days=3)
    offer_id = factories.delivered_offer(
        engine, brand.id, "cashback_bps", [customer], start, bps=100, budget_units=10**30
    )
    before = factories.purchase(engine, customer, brand.id, datetime.now(UTC) - timedelta(days=1), 1_000, "p-1")
    with Session(engine, expire_on_commit=False) as session:
        offers.end_offer(session, brand, offer_id)
    after = factories.purchase(engine, customer, brand.id, datetime.now(UTC) + timedelta(seconds=1), 1_000, "p-2")
    epoch = Epoch(number=1, status="open", as_of=datetime.now(UTC) + timedelta(minutes=5), max_purchase_id=after,
                  from_block=0, to_block=0, scheme="three", rules_hash="")  # fmt: skip
    with analytics(settings) as con:
        con.execute(
            "CREATE TEMP TABLE covered AS SELECT id, customer_id, brand_id, purchased_at, amount FROM store.purchases"
        )
        con.execute(
            "CREATE TEMP TABLE accounts AS SELECT id AS customer_id, lower(address) AS account FROM store.customers"
        )
        epoch_offers.compute(con, epoch, scale=10**14)
        lines = con.execute("SELECT purchase_id, CAST(paid AS VARCHAR) FROM offer_lines").fetchall()
    assert lines == [(before, str(1_000 * 100 * 10**14))]
