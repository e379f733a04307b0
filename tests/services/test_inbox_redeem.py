"""Redeeming a gift from the inbox under concurrency: however many requests race, `per_customer` holds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, select

from app import db
from app.config import Settings
from app.errors import Conflict
from app.models.accounts import Brand, Customer
from app.models.crm import Delivery, Redemption
from app.services import inbox
from tests import factories


def test_racing_redemptions_of_one_gift_record_it_per_customer_times_only(tmp_path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path)
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    with Session(engine, expire_on_commit=False) as session:
        brand = Brand(name="Acme", address="0x" + "b1" * 20)
        session.add(brand)
        session.commit()
    customer_id = factories.customer(engine, "0x" + "c1" * 20)
    offer_id = factories.delivered_offer(
        engine, brand.id, "gift", [customer_id], datetime.now(UTC) - timedelta(days=1), discount="a tote bag",
        per_customer=2,
    )  # fmt: skip
    with Session(engine) as session:
        delivery_id = session.exec(select(Delivery.id)).one()
    start, outcomes = threading.Barrier(8), []

    def redeem() -> None:
        with Session(engine) as session:
            customer = session.get(Customer, customer_id)
            start.wait()
            try:
                inbox.redeem(session, settings, customer, delivery_id)  # type: ignore[arg-type]
                outcomes.append("redeemed")
            except Conflict:
                outcomes.append("refused")

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["redeemed"] * 2 + ["refused"] * 6
    with Session(engine) as session:
        assert len(session.exec(select(Redemption).where(Redemption.offer_id == offer_id)).all()) == 2
    engine.dispose()
