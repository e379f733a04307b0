"""Offer bonuses: the epoch's SQL against the plain-Python reference, and the rules on hand-checked cases."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.analytics.offers import offer_lines_sql
from app.analytics.offers_reference import Line, Offer, Purchase, offer_lines

T0 = datetime(2026, 5, 1)
SCALE = 10**14  # 1 won of cashback = 1e18 units, per basis point


def _sql_lines(offers: list[Offer], deliveries, purchases: list[Purchase], paid_before) -> list[Line]:
    con = duckdb.connect()
    frames = {
        "offers_df": pd.DataFrame([o.__dict__ for o in offers], columns=list(Offer.__dataclass_fields__)),
        "deliveries_df": pd.DataFrame(deliveries, columns=["offer_id", "customer_id", "delivered_at"]),
        "purchases_df": pd.DataFrame([p.__dict__ for p in purchases], columns=list(Purchase.__dataclass_fields__)),
        "paid_df": pd.DataFrame(paid_before, columns=["offer_id", "customer_id"]),
    }
    for name, frame in frames.items():
        con.register(name, frame)
    # Typed tables, as the store's would be (empty frames have no dtypes to infer).
    con.execute(
        """CREATE TABLE offers (offer_id BIGINT, brand_id BIGINT, kind VARCHAR, bps BIGINT, bonus_units HUGEINT,
                                budget_units HUGEINT, valid_from TIMESTAMP, valid_until TIMESTAMP,
                                spent_before HUGEINT);
           CREATE TABLE deliveries (offer_id BIGINT, customer_id BIGINT, delivered_at TIMESTAMP);
           CREATE TABLE purchases (id BIGINT, customer_id BIGINT, brand_id BIGINT, purchased_at TIMESTAMP,
                                   amount BIGINT);
           CREATE TABLE paid_before (offer_id BIGINT, customer_id BIGINT);"""
    )
    for table, frame in (
        ("offers", "offers_df"),
        ("deliveries", "deliveries_df"),
        ("purchases", "purchases_df"),
        ("paid_before", "paid_df"),
    ):
        if len(frames[frame]):
            con.execute(f"INSERT INTO {table} SELECT * FROM {frame}")
    rows = con.sql(offer_lines_sql("offers", "deliveries", "purchases", "paid_before", scale=SCALE)).fetchall()
    return [Line(*(int(v) for v in row)) for row in rows]


def _offer(offer_id: int = 1, kind: str = "cashback_bps", budget: int = 10**30, **more) -> Offer:
    fields = (
        dict(
            offer_id=offer_id,
            brand_id=1,
            kind=kind,
            bps=500,
            bonus_units=5 * 10**18,
            budget_units=budget,
            valid_from=T0,
            valid_until=T0 + timedelta(days=30),
            spent_before=0,
        )
        | more
    )
    return Offer(**fields)


def test_extra_cashback_pays_every_qualifying_purchase_after_delivery() -> None:
    purchases = [
        Purchase(1, 7, 1, T0 + timedelta(days=1), 10_000),  # before the delivery: nothing
        Purchase(2, 7, 1, T0 + timedelta(days=3), 20_000),
        Purchase(3, 7, 2, T0 + timedelta(days=4), 30_000),  # another brand: nothing
        Purchase(4, 7, 1, T0 + timedelta(days=30), 40_000),  # at valid_until: outside
        Purchase(5, 8, 1, T0 + timedelta(days=5), 50_000),  # never delivered: nothing
    ]
    lines = offer_lines([_offer()], [(1, 7, T0 + timedelta(days=2))], purchases, [], scale=SCALE)
    assert lines == [Line(1, 7, 2, 20_000 * 500 * SCALE, 20_000 * 500 * SCALE)]
    assert _sql_lines([_offer()], [(1, 7, T0 + timedelta(days=2))], purchases, []) == lines


def test_a_fixed_bonus_pays_once_per_customer_and_never_again() -> None:
    offer = _offer(kind="fixed_bonus")
    purchases = [Purchase(i, 7, 1, T0 + timedelta(days=i), 1_000) for i in (1, 2, 3)]
    lines = offer_lines([offer], [(1, 7, T0)], purchases, [], scale=SCALE)
    assert lines == [Line(1, 7, 1, 5 * 10**18, 5 * 10**18)]
    assert offer_lines([offer], [(1, 7, T0)], purchases, [(1, 7)], scale=SCALE) == []
    assert _sql_lines([offer], [(1, 7, T0)], purchases, [(1, 7)]) == []


def test_the_budget_is_spent_in_purchase_order_and_the_crossing_line_gets_the_rest() -> None:
    offer = _offer(kind="fixed_bonus", budget=12 * 10**18, spent_before=1 * 10**18)
    deliveries = [(1, c, T0) for c in (1, 2, 3)]
    purchases = [Purchase(10 + c, c, 1, T0 + timedelta(hours=c), 1_000) for c in (3, 1, 2)]
    lines = offer_lines([offer], deliveries, purchases, [], scale=SCALE)
    assert [(line.customer_id, line.paid) for line in lines] == [(1, 5 * 10**18), (2, 5 * 10**18), (3, 1 * 10**18)]
    assert sum(line.paid for line in lines) == offer.budget_units - offer.spent_before
    assert _sql_lines([offer], deliveries, purchases, []) == lines


times = st.integers(0, 40).map(lambda d: T0 + timedelta(days=d))


@settings(max_examples=60, deadline=None)
@given(
    offers=st.lists(
        st.builds(
            _offer,
            offer_id=st.integers(1, 3),
            kind=st.sampled_from(["cashback_bps", "fixed_bonus", "message"]),
            budget=st.integers(0, 10**24),
            bps=st.integers(1, 2_000),
            brand_id=st.integers(1, 2),
            spent_before=st.integers(0, 10**22),
        ),
        max_size=3,
        unique_by=lambda o: o.offer_id,
    ),
    deliveries=st.lists(
        st.tuples(st.integers(1, 3), st.integers(1, 5), times), max_size=10, unique_by=lambda d: (d[0], d[1])
    ),
    purchases=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 2), times, st.integers(1, 2**62)), max_size=25),
    paid=st.lists(st.tuples(st.integers(1, 3), st.integers(1, 5)), max_size=4, unique=True),
)
def test_sql_equals_the_reference(offers, deliveries, purchases, paid) -> None:
    rows = [Purchase(i + 1, c, b, at, amount) for i, (c, b, at, amount) in enumerate(purchases)]
    expected = offer_lines(offers, deliveries, rows, paid, scale=SCALE)
    assert _sql_lines(offers, deliveries, rows, paid) == expected
    for offer in offers:
        paid_total = sum(line.paid for line in expected if line.offer_id == offer.offer_id)
        assert paid_total <= max(0, offer.budget_units - offer.spent_before)


def test_scale_must_be_a_positive_integer() -> None:
    with pytest.raises(ValueError, match="scale"):
        offer_lines_sql("o", "d", "p", "b", scale=0)
