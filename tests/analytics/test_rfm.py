"""RFM: the articles' 3-level scheme, hand-checked quintiles, the tie rule, pandas reference, rules."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.analytics.rfm import SCORE_COLUMNS, score_rfm
from app.analytics.rules import (
    DEFAULT_RULES_PATH,
    InvalidRules,
    ProgrammeRules,
    canonical_json,
    default_rules,
    load_rules,
    rules_hash,
)
from app.audit.rederive import score_rfm_reference

AS_OF = datetime(2025, 7, 1)
RULES = default_rules()


def make_purchases(rows: list[tuple[int, int, datetime, int]]) -> pd.DataFrame:
    """Purchases frame of (customer_id, brand_id, purchased_at, amount) rows."""
    frame = pd.DataFrame(rows, columns=["customer_id", "brand_id", "purchased_at", "amount"])
    return frame.astype({"customer_id": "int64", "brand_id": "int64", "amount": "int64"}).astype(
        {"purchased_at": "datetime64[us]"}
    )


def purchases_table(frame: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("purchases_frame", frame)
    con.execute("CREATE TABLE purchases (customer_id BIGINT, brand_id BIGINT, purchased_at TIMESTAMP, amount BIGINT)")
    con.execute("INSERT INTO purchases SELECT customer_id, brand_id, purchased_at, amount FROM purchases_frame")
    con.unregister("purchases_frame")
    return con


def days_ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def score(rows, scheme="three_level", rules: ProgrammeRules = RULES, **kwargs) -> pd.DataFrame:
    con = purchases_table(make_purchases(rows))
    return score_rfm(con, "purchases", as_of=AS_OF, rules=rules, scheme=scheme, **kwargs).scores.set_index(
        "customer_id"
    )


# --- the articles' 3-level scheme -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "expected_r"),
    [
        (0, 3),  # gap closed: within the last month scores like "a month ago"
        (30, 3),  # "a month ago"
        (45, 3),  # between one and two months: not yet "more than 2 months ago"
        (60, 3),  # edge: exactly 2 months (60 days) is not MORE than 2 months
        (60.99, 3),  # ages are whole days elapsed: 60 days 23 h is 60 days
        (61, 2),  # "more than 2 months ago"
        (90, 2),  # edge: exactly 3 months is not MORE than 3 months
        (91, 1),  # "more than 3 months ago"
        (300, 1),
    ],
)
def test_three_level_recency_on_the_articles_bands(age: float, expected_r: int) -> None:
    scores = score([(1, 1, days_ago(age), 50_000)])
    assert scores.loc[1, "recency_days"] == int(age)
    assert scores.loc[1, "r"] == expected_r


@pytest.mark.parametrize(
    ("ages", "expected_frequency", "expected_f"),
    [
        ([10], 1, 1),  # one purchase in the last 3 months
        ([10, 20], 2, 2),  # two
        ([10, 20, 30], 3, 3),  # three
        ([1, 2, 3, 4, 5], 5, 3),  # gap closed: more than three purchases is still F 3
        ([90, 90, 90], 3, 3),  # edge: 90 days old is within the last 3 months
        ([91, 91, 91], 0, 1),  # gap closed: none in 3 months (but in the window) takes the floor, F 1
        ([5, 91, 200], 1, 1),  # only purchases of the last 3 months count for F
    ],
)
def test_three_level_frequency_counts_the_last_three_months(
    ages: list[int], expected_frequency: int, expected_f: int
) -> None:
    scores = score([(1, 1, days_ago(a), 50_000) for a in ages])
    assert scores.loc[1, "frequency"] == expected_frequency
    assert scores.loc[1, "f"] == expected_f


@pytest.mark.parametrize(
    ("amounts", "expected_avg", "expected_m"),
    [
        ([99_999], 99_999, 1),  # "up to 100,000 won"
        ([100_000], 100_000, 2),  # edge: bands include their lower bound, 100,000 is M 2
        ([100_000, 99_999], 99_999, 1),  # average 99,999.5 rounds DOWN to 99,999: M 1
        ([499_999], 499_999, 2),  # "100,000 to 500,000"
        ([500_000], 500_000, 3),  # "500,000 and more"
        ([400_000, 700_000], 550_000, 3),  # the AVERAGE counts, not the largest purchase
        ([2_000_000], 2_000_000, 3),
    ],
)
def test_three_level_monetary_uses_the_average_purchase(amounts: list[int], expected_avg: int, expected_m: int) -> None:
    scores = score([(1, 1, days_ago(10 + i), a) for i, a in enumerate(amounts)])
    assert scores.loc[1, "monetary_avg"] == expected_avg
    assert scores.loc[1, "monetary_total"] == sum(amounts)
    assert scores.loc[1, "m"] == expected_m


def test_three_level_m3_customers_are_the_first_target() -> None:
    # M = 3 (average >= 500,000 won) puts a customer in gold or vip whatever R and F are.
    scores = score(
        [
            (1, 1, days_ago(200), 600_000),  # R 1, F 1, M 3
            (2, 1, days_ago(5), 600_000),  # R 3, F 1, M 3
            (3, 1, days_ago(5), 40_000),  # R 3, F 1, M 1
        ]
        + [(4, 1, days_ago(d), 800_000) for d in (3, 20, 40)]  # R 3, F 3, M 3
    )
    assert scores["m"].to_dict() == {1: 3, 2: 3, 3: 1, 4: 3}
    assert scores["tier"].to_dict() == {1: "gold", 2: "gold", 3: "bronze", 4: "vip"}
    assert scores["cashback_bps"].to_dict() == {1: 200, 2: 200, 3: 100, 4: 300}


def test_three_level_gone_quiet_needs_a_longer_frequency_window_within_one_scoring() -> None:
    # A frequent big spender last seen 100 days ago: three purchases, average 600,000 won.
    rows = [(1, 1, days_ago(d), 600_000) for d in (100, 130, 160)]
    # With the articles' own 3-month F window, R 1 implies F 1 (the flag comes from behaviour.py).
    assert tuple(score(rows).loc[1, ["r", "f", "m"]]) == (1, 1, 3)
    # With F counted over 12 months, the articles' (1, 3, 3) appears: the "cannot lose" customer.
    wide = dataclasses.replace(RULES, three_level=dataclasses.replace(RULES.three_level, frequency_window_months=12))
    scores = score(rows, rules=wide)
    assert tuple(scores.loc[1, ["r", "f", "m"]]) == (1, 3, 3)
    assert scores.loc[1, "segment"] == "cannot lose"


@pytest.mark.parametrize(
    ("r", "f", "segment"),
    [
        (3, 3, "champions"),
        (3, 2, "potential loyalist"),
        (3, 1, "new"),
        (2, 3, "need attention"),
        (2, 2, "need attention"),
        (2, 1, "about to sleep"),
        (1, 1, "hibernating"),
    ],
)
def test_three_level_segments_from_r_and_f(r: int, f: int, segment: str) -> None:
    last = {3: 10, 2: 70, 1: 120}[r]
    rows = [(1, 1, days_ago(last + i), 50_000) for i in range(f)]
    scores = score(rows)
    assert (scores.loc[1, "r"], scores.loc[1, "f"], scores.loc[1, "segment"]) == (r, f, segment)


def test_purchases_after_as_of_and_before_the_window_are_ignored() -> None:
    scores = score(
        [
            (1, 1, days_ago(10), 50_000),
            (1, 1, AS_OF + timedelta(microseconds=1), 9_000_000),  # after as_of
            (1, 1, days_ago(366), 9_000_000),  # older than the 365-day window
            (2, 1, AS_OF + timedelta(days=1), 1_000),  # only future purchases: not scored
            (3, 1, days_ago(365.5), 1_000),  # 365 whole days: still in the window
        ]
    )
    assert list(scores.index) == [1, 3]
    assert scores.loc[1, "monetary_total"] == 50_000


def test_brand_filter_scores_one_brand_only() -> None:
    rows = [(1, 1, days_ago(10), 50_000), (1, 2, days_ago(1), 900_000), (2, 2, days_ago(3), 10_000)]
    scores = score(rows, brand_id=1)
    assert list(scores.index) == [1]
    assert (scores.loc[1, "recency_days"], scores.loc[1, "monetary_total"]) == (10, 50_000)


def test_as_of_with_a_time_zone_is_taken_in_utc() -> None:
    con = purchases_table(make_purchases([(1, 1, datetime(2025, 6, 30, 20, 0), 1_000)]))
    kst = timezone(timedelta(hours=9))
    run = score_rfm(con, "purchases", as_of=datetime(2025, 7, 1, 5, 0, tzinfo=kst), rules=RULES)
    assert run.as_of == datetime(2025, 6, 30, 20, 0)
    assert run.scores.loc[0, "recency_days"] == 0
    with pytest.raises(TypeError):
        score_rfm(con, "purchases", as_of=AS_OF.date(), rules=RULES)  # type: ignore[arg-type]


def test_relation_names_are_validated() -> None:
    con = purchases_table(make_purchases([]))
    with pytest.raises(ValueError, match="plain"):
        score_rfm(con, "purchases; DROP TABLE purchases", as_of=AS_OF, rules=RULES)
    con.execute("CREATE VIEW thin AS SELECT customer_id FROM purchases")
    with pytest.raises(ValueError, match="lacks column"):
        score_rfm(con, "thin", as_of=AS_OF, rules=RULES)


# --- quintiles on a hand-checked table --------------------------------------------------------------

# 12 customers: (recency_days, frequency, monetary_total). Each buys `frequency` times on the days
# recency, recency + 1, ... before as_of; amounts add up to the total.
HAND_TABLE = {
    1: (0, 5, 500_000),
    2: (0, 1, 20_000),
    3: (3, 3, 150_000),
    4: (10, 1, 20_000),
    5: (10, 1, 30_000),
    6: (10, 2, 80_000),
    7: (30, 2, 80_000),
    8: (45, 1, 20_000),
    9: (60, 4, 400_000),
    10: (100, 1, 60_000),
    11: (200, 1, 10_000),
    12: (300, 6, 900_000),
}
# score = 1 + floor(5 * s / 12), s = customers with a strictly smaller value (larger recency for R):
#   s = 0, 1, 2 -> 1 (10/12 < 1); s = 3, 4 -> 2; s = 5, 6, 7 -> 3 (35/12 = 2.9); s = 8, 9 -> 4;
#   s = 10, 11 -> 5.
# R, by recency 300 > 200 > 100 > 60 > 45 > 30 > 10 (x3) > 3 > 0 (x2):
#   c12 s=0 ->1, c11 s=1 ->1, c10 s=2 ->1, c9 s=3 ->2, c8 s=4 ->2, c7 s=5 ->3, c4 c5 c6 s=6 ->3,
#   c3 s=9 ->4, c1 c2 s=10 ->5.
# F, by frequency 1 (c2 c4 c5 c8 c10 c11) < 2 (c6 c7) < 3 (c3) < 4 (c9) < 5 (c1) < 6 (c12):
#   1: s=0 ->1; 2: s=6 ->3 (no customer gets 2: the six tied at 1 all stay 1); 3: s=8 ->4; 4: s=9 ->4;
#   5: s=10 ->5; 6: s=11 ->5.
# M, by total 10k (c11) < 20k (c2 c4 c8) < 30k (c5) < 60k (c10) < 80k (c6 c7) < 150k (c3) < 400k (c9)
#   < 500k (c1) < 900k (c12): s = 0, 1, 4, 5, 6, 8, 9, 10, 11 -> 1, 1, 2, 3, 3, 4, 4, 5, 5.
HAND_EXPECTED = {
    #    r  f  m  segment               tier
    1: (5, 5, 5, "champions", "vip"),
    2: (5, 1, 1, "new", "bronze"),
    3: (4, 4, 4, "loyal", "gold"),
    4: (3, 1, 1, "about to sleep", "bronze"),
    5: (3, 1, 2, "about to sleep", "bronze"),
    6: (3, 3, 3, "need attention", "silver"),
    7: (3, 3, 3, "need attention", "silver"),
    8: (2, 1, 1, "hibernating", "bronze"),
    9: (2, 4, 4, "at risk", "gold"),
    10: (1, 1, 3, "lost", "silver"),
    11: (1, 1, 1, "lost", "bronze"),
    12: (1, 5, 5, "cannot lose", "vip"),
}
HAND_CUT_POINTS = [
    ("recency_days", 1, 100, 300, 3),
    ("recency_days", 2, 45, 60, 2),
    ("recency_days", 3, 10, 30, 4),
    ("recency_days", 4, 3, 3, 1),
    ("recency_days", 5, 0, 0, 2),
    ("frequency", 1, 1, 1, 6),
    ("frequency", 3, 2, 2, 2),
    ("frequency", 4, 3, 4, 2),
    ("frequency", 5, 5, 6, 2),
    ("monetary_total", 1, 10_000, 20_000, 4),
    ("monetary_total", 2, 30_000, 30_000, 1),
    ("monetary_total", 3, 60_000, 80_000, 3),
    ("monetary_total", 4, 150_000, 400_000, 2),
    ("monetary_total", 5, 500_000, 900_000, 2),
]


def hand_table_rows() -> list[tuple[int, int, datetime, int]]:
    rows = []
    for customer, (recency, frequency, total) in HAND_TABLE.items():
        amounts = [total // frequency] * (frequency - 1)
        amounts.append(total - sum(amounts))
        rows += [(customer, 1, days_ago(recency + i), amount) for i, amount in enumerate(amounts)]
    return rows


def test_quintile_scores_on_the_hand_checked_table() -> None:
    con = purchases_table(make_purchases(hand_table_rows()))
    run = score_rfm(con, "purchases", as_of=AS_OF, rules=RULES, scheme="quintile")
    scores = run.scores.set_index("customer_id")
    measured = {
        c: tuple(int(v) for v in scores.loc[c, ["recency_days", "frequency", "monetary_total"]]) for c in HAND_TABLE
    }
    assert measured == HAND_TABLE
    got = {c: (int(row.r), int(row.f), int(row.m), row.segment, row.tier) for c, row in scores.iterrows()}
    assert got == HAND_EXPECTED
    assert list(run.cut_points.itertuples(index=False, name=None)) == HAND_CUT_POINTS
    assert (run.scheme, run.window_days, run.rules_hash) == ("quintile", 365, rules_hash(RULES))


def test_quintile_matches_the_reference_on_the_hand_checked_table() -> None:
    frame = make_purchases(hand_table_rows())
    run = score_rfm(purchases_table(frame), "purchases", as_of=AS_OF, rules=RULES)
    scores, cut_points = score_rfm_reference(frame, as_of=AS_OF, rules=RULES)
    pd.testing.assert_frame_equal(run.scores, scores)
    pd.testing.assert_frame_equal(run.cut_points, cut_points)


def test_totals_beyond_bigint_are_exact_in_sql_and_reference() -> None:
    # Customer 1 overflows BIGINT by 2^62 - 1; customer 2 by one won; customer 3 stays below it.
    top = 2**63 - 1
    rows = [(1, 1, days_ago(5), top), (1, 1, days_ago(6), 2**62), (2, 1, days_ago(5), top), (2, 1, days_ago(7), 1)]
    rows += [(3, 1, days_ago(5), 10**6)]
    frame = make_purchases(rows)
    run = score_rfm(purchases_table(frame), "purchases", as_of=AS_OF, rules=RULES)
    scores, cut_points = score_rfm_reference(frame, as_of=AS_OF, rules=RULES)
    pd.testing.assert_frame_equal(run.scores, scores)
    pd.testing.assert_frame_equal(run.cut_points, cut_points)
    by_customer = run.scores.set_index("customer_id")
    # Ranked on the exact totals (1 above 2 above 3), reported capped at BIGINT.
    assert list(by_customer["m"]) == [4, 2, 1]
    assert list(by_customer["monetary_total"]) == [top, top, 10**6]
    assert list(by_customer["monetary_avg"]) == [(top + 2**62) // 2, (top + 1) // 2, 10**6]


def test_no_purchases_scores_nobody() -> None:
    run = score_rfm(purchases_table(make_purchases([])), "purchases", as_of=AS_OF, rules=RULES)
    assert list(run.scores.columns) == SCORE_COLUMNS
    assert run.scores.empty and run.cut_points.empty


# --- properties -----------------------------------------------------------------------------------

purchase_rows = st.lists(
    st.tuples(
        st.integers(1, 25),  # customer
        st.integers(1, 2),  # brand
        st.integers(-3 * 86_400, 400 * 86_400),  # seconds before as_of (negative: after it)
        st.sampled_from([0, 1_000, 50_000, 99_999, 100_000, 250_000, 499_999, 500_000, 1_200_000])
        | st.integers(0, 3_000_000),
    ),
    max_size=80,
)


def rows_from(draw: list[tuple[int, int, int, int]]) -> pd.DataFrame:
    return make_purchases([(c, b, AS_OF - timedelta(seconds=s), a) for c, b, s, a in draw])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=purchase_rows)
def test_equal_values_always_get_equal_quintile_scores(rows) -> None:
    scores = score_rfm(purchases_table(rows_from(rows)), "purchases", as_of=AS_OF, rules=RULES).scores
    for measure, score_name, larger_is_better in (
        ("recency_days", "r", False),
        ("frequency", "f", True),
        ("monetary_total", "m", True),
    ):
        per_value = scores.groupby(measure)[score_name].nunique()
        assert (per_value == 1).all(), f"{measure}: tied customers got different scores"
        ordered = scores.sort_values(measure, ascending=larger_is_better)[score_name]
        assert ordered.is_monotonic_increasing, f"{score_name} must not drop as {measure} gets better"
        assert scores[score_name].between(1, 5).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=purchase_rows,
    scheme=st.sampled_from(["quintile", "three_level"]),
    window_days=st.sampled_from([None, 30, 90, 365]),
    brand_id=st.sampled_from([None, 1, 2]),
)
def test_duckdb_scores_equal_the_pandas_reference(rows, scheme, window_days, brand_id) -> None:
    frame = rows_from(rows)
    run = score_rfm(
        purchases_table(frame),
        "purchases",
        as_of=AS_OF,
        rules=RULES,
        scheme=scheme,
        window_days=window_days,
        brand_id=brand_id,
    )
    scores, cut_points = score_rfm_reference(
        frame, as_of=AS_OF, rules=RULES, scheme=scheme, window_days=window_days, brand_id=brand_id
    )
    pd.testing.assert_frame_equal(run.scores, scores, check_dtype=False, check_index_type=False)
    pd.testing.assert_frame_equal(run.cut_points, cut_points, check_dtype=False, check_index_type=False)


# --- rules ----------------------------------------------------------------------------------------


def test_shipped_rules_load_and_hash_is_stable() -> None:
    rules = load_rules()
    assert rules == RULES
    assert rules_hash(rules) == rules_hash(load_rules(DEFAULT_RULES_PATH))
    assert rules_hash(rules).startswith("0x") and len(rules_hash(rules)) == 66
    assert canonical_json(rules).startswith('{"behaviour":')
    assert [t.name for t in rules.tiers] == ["vip", "gold", "silver", "bronze"]
    changed = dataclasses.replace(rules, quintile=dataclasses.replace(rules.quintile, window_days=364))
    assert rules_hash(changed) != rules_hash(rules)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("cashback_bps = 300", "cashback_bps = 3.5", r"tiers\[0\].cashback_bps: must be an integer"),
        ("cashback_bps = 300", "cashback_bps = 10001", r"tiers\[0\].cashback_bps: must be 0..10000"),
        ("cashback_bps = 100", "cashback_bps = 400", "must not increase"),
        (
            "monetary_min_won = [100_000, 500_000]",
            "monetary_min_won = [500_000, 100_000]",
            "strictly increasing",
        ),
        ('monetary = "total"', 'monetary = "median"', "quintile.monetary: must be one of total, average"),
        (
            'name = "lost"\nr = [1, 1]',
            'name = "lost"\nr = [1, 6]',
            r"segments.quintile\[9\].r\[1\]: must be 1..5",
        ),
        ("half_life_days = 30", "half_life_days = 30\nhalflife = 3", "interests: unknown key"),
        ("purchase = 10\n", "", r"interests.weights.purchase: missing"),
    ],
)
def test_invalid_rules_are_refused_naming_the_field(tmp_path: Path, old: str, new: str, message: str) -> None:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "rules.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InvalidRules, match=message):
        load_rules(path)


def test_segments_must_cover_every_cell(tmp_path: Path) -> None:
    text = DEFAULT_RULES_PATH.read_text(encoding="utf-8")
    # Drop the last quintile segment (hibernating): its cells (1, 2), (2, 1), (2, 2) lose their name.
    hibernating = '[[segments.quintile]]\nname = "hibernating"\nr = [1, 2]\nf = [1, 2]\n'
    assert hibernating in text
    path = tmp_path / "rules.toml"
    path.write_text(text.replace(hibernating, ""), encoding="utf-8")
    with pytest.raises(InvalidRules, match=r"no segment for \(R=1, F=2\), \(R=2, F=1\), \(R=2, F=2\)"):
        load_rules(path)
