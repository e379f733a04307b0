"""Interest profiles: decay arithmetic on a hand-made example, top styles, the pandas reference."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.analytics.interests import PROFILE_COLUMNS, interest_profile, top_styles
from app.analytics.reference import interest_profile_reference
from app.analytics.rules import default_rules

AS_OF = datetime(2025, 7, 1)
RULES = default_rules()  # weights: view 1, touch 2, compare 3, wishlist 5, cart_add 6, cart_abandon 4,
# purchase 10; half-life 30 days; signals older than 365 days ignored


def days_ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def make_events(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "brand_id", "kind", "category", "style", "occurred_at"])
    return frame.astype({"customer_id": "int64", "brand_id": "int64", "occurred_at": "datetime64[us]"})


def make_items(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["customer_id", "purchased_at", "category", "style", "quantity"])
    return frame.astype({"customer_id": "int64", "purchased_at": "datetime64[us]", "quantity": "int64"})


def store(events: pd.DataFrame, items: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE interest_events (customer_id BIGINT, brand_id BIGINT, kind VARCHAR, category VARCHAR,"
        " style VARCHAR, occurred_at TIMESTAMP)"
    )
    con.execute(
        "CREATE TABLE purchase_items (customer_id BIGINT, purchased_at TIMESTAMP, category VARCHAR,"
        " style VARCHAR, quantity BIGINT)"
    )
    con.register("events_frame", events)
    con.register("items_frame", items)
    con.execute("INSERT INTO interest_events SELECT * FROM events_frame")
    con.execute("INSERT INTO purchase_items SELECT * FROM items_frame")
    return con


HAND_EVENTS = [
    (1, 1, "view", "shoes", "minimal", days_ago(0)),  # 1 * 0.5^0 = 1
    (1, 1, "wishlist", "shoes", "street", days_ago(30)),  # 5 * 0.5^1 = 2.5
    (1, 1, "cart_abandon", "bags", "minimal", days_ago(60)),  # 4 * 0.5^2 = 1
    (1, 1, "touch", "shoes", None, days_ago(15)),  # 2 * 0.5^0.5 = 1.414214 (no style)
    (1, 1, "view", "shoes", "minimal", AS_OF + timedelta(hours=1)),  # after as_of: ignored
    (1, 1, "cart_add", "shoes", "minimal", days_ago(366)),  # older than 365 days: ignored
    (2, 1, "compare", None, "street", days_ago(0)),  # 3 (no category)
]
HAND_ITEMS = [
    (1, days_ago(90), "bags", "minimal", 2),  # purchase: 10 * 2 * 0.5^3 = 2.5
]


def test_interest_profile_decays_and_weights_on_a_hand_made_example() -> None:
    con = store(make_events(HAND_EVENTS), make_items(HAND_ITEMS))
    profile = interest_profile(con, "interest_events", "purchase_items", as_of=AS_OF, rules=RULES)
    assert list(profile.columns) == PROFILE_COLUMNS
    assert list(profile.itertuples(index=False, name=None)) == [
        # shoes: 1 + 2.5 + 1.414214 = 4.914214 -> 4.9142; bags: 1 + 2.5
        (1, "category", "shoes", 4.9142, 3),
        (1, "category", "bags", 3.5, 2),
        # minimal: 1 (view) + 1 (cart_abandon) + 2.5 (purchase); street: 2.5 (wishlist)
        (1, "style", "minimal", 4.5, 3),
        (1, "style", "street", 2.5, 1),
        (2, "style", "street", 3.0, 1),
    ]


def test_top_styles_ranks_by_score_then_name() -> None:
    events = HAND_EVENTS + [
        (2, 1, "compare", None, "classic", days_ago(0)),  # ties street at 3: classic sorts first
        (2, 1, "view", None, "boho", days_ago(0)),
        (2, 1, "view", None, "avant", days_ago(30)),
    ]
    con = store(make_events(events), make_items(HAND_ITEMS))
    top = top_styles(con, "interest_events", "purchase_items", as_of=AS_OF, rules=RULES, k=3)
    assert list(top.itertuples(index=False, name=None)) == [
        (1, 1, "minimal", 4.5),
        (1, 2, "street", 2.5),
        (2, 1, "classic", 3.0),
        (2, 2, "street", 3.0),
        (2, 3, "boho", 1.0),
    ]
    with pytest.raises(ValueError, match="k must be"):
        top_styles(con, "interest_events", "purchase_items", as_of=AS_OF, rules=RULES, k=0)


def test_interest_profile_matches_the_reference_on_the_hand_made_example() -> None:
    events, items = make_events(HAND_EVENTS), make_items(HAND_ITEMS)
    profile = interest_profile(store(events, items), "interest_events", "purchase_items", as_of=AS_OF, rules=RULES)
    reference = interest_profile_reference(events, items, as_of=AS_OF, rules=RULES)
    pd.testing.assert_frame_equal(profile, reference, check_dtype=False)


signal = st.tuples(
    st.integers(1, 6),
    st.sampled_from(["view", "touch", "compare", "wishlist", "cart_add", "cart_abandon"]),
    st.sampled_from([None, "shoes", "bags", "outer"]),
    st.sampled_from([None, "minimal", "street", "classic"]),
    st.integers(-86_400, 400 * 86_400),
)
item = st.tuples(
    st.integers(1, 6),
    st.sampled_from([None, "shoes", "bags"]),
    st.sampled_from([None, "minimal", "street"]),
    st.integers(-86_400, 400 * 86_400),
    st.integers(1, 5),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(signals=st.lists(signal, max_size=40), bought=st.lists(item, max_size=15))
def test_interest_profile_equals_the_pandas_reference(signals, bought) -> None:
    events = make_events([(c, 1, k, cat, sty, AS_OF - timedelta(seconds=s)) for c, k, cat, sty, s in signals])
    items = make_items([(c, AS_OF - timedelta(seconds=s), cat, sty, q) for c, cat, sty, s, q in bought])
    profile = interest_profile(store(events, items), "interest_events", "purchase_items", as_of=AS_OF, rules=RULES)
    reference = interest_profile_reference(events, items, as_of=AS_OF, rules=RULES)
    # Same fixed-point sums; pow() of two libraries may differ in the last bit, hence 1e-4 at most.
    pd.testing.assert_frame_equal(
        profile, reference, check_dtype=False, check_exact=False, atol=1e-4, rtol=0, check_index_type=False
    )
