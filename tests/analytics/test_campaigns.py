"""A campaign's outcomes per member from purchases (DuckDB), against a plain-Python re-count and a planted uplift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from app.analytics import experiments as ex
from app.analytics.campaigns import Window, evaluate, outcomes_sql

START = datetime(2026, 5, 1, tzinfo=UTC)
END = START + timedelta(days=14)
WINDOW = Window(brand_id=1, starts_at=START, ends_at=END, conversion_days=7, holdout_bps=2_000)


def _con(purchases: pd.DataFrame, members: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    purchases = purchases.assign(purchased_at=pd.to_datetime(purchases["purchased_at"], utc=True).dt.tz_localize(None))
    con.register("purchases_df", purchases)
    con.execute("CREATE TABLE purchases AS SELECT * FROM purchases_df")
    con.register("members", members)
    return con


def test_outcomes_count_the_windows_edges_and_only_the_brand() -> None:
    purchases = pd.DataFrame(
        [
            (1, 1, START, 100),  # at the start: a hit
            (2, 1, START + timedelta(days=7), 200),  # exactly N days after: spend, not a hit
            (3, 2, START, 300),  # another brand: nothing
            (4, 1, START - timedelta(days=1), 50),  # pre-period
            (4, 1, START - timedelta(days=15), 70),  # before the pre-period (14 days long)
            (5, 1, END, 10),  # at the end: outside
            (6, 1, START + timedelta(days=1), 2**62),  # HUGEINT sums
            (6, 1, START + timedelta(days=2), 2**62),
        ],
        columns=["customer_id", "brand_id", "purchased_at", "amount"],
    )
    members = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5, 6, 7], "holdout": [False] * 7})
    rows = (
        _con(purchases, members)
        .sql(f"SELECT * FROM ({outcomes_sql('purchases', 'members', WINDOW)}) ORDER BY 1")
        .fetchall()
    )
    assert rows == [
        (1, False, True, 100, 0),
        (2, False, False, 200, 0),
        (3, False, False, 0, 0),
        (4, False, False, 0, 50),
        (5, False, False, 0, 0),
        (6, False, True, 2**63, 0),
        (7, False, False, 0, 0),
    ]


def test_evaluate_finds_a_planted_uplift_and_agrees_with_a_plain_recount() -> None:
    rng = np.random.default_rng(21)
    n = 20_000
    addresses = ["0x" + bytes(rng.integers(0, 256, 20, dtype=np.uint8)).hex() for _ in range(n)]
    holdout = np.array(list(ex.assign(b"\x09" * 32, addresses, WINDOW.holdout_bps).values()))
    converts = rng.random(n) < np.where(holdout, 0.10, 0.14)
    days = rng.integers(0, 7, n)
    rows = [
        (i, 1, START + timedelta(days=int(days[i])), int(rng.integers(10_000, 90_000)))
        for i in np.flatnonzero(converts)
    ]
    rows += [(i, 1, START - timedelta(days=3), 40_000) for i in range(0, n, 3)]  # pre-period spend
    purchases = pd.DataFrame(rows, columns=["customer_id", "brand_id", "purchased_at", "amount"])
    members = pd.DataFrame({"customer_id": np.arange(n), "holdout": holdout})
    result = evaluate(_con(purchases, members), "purchases", "members", WINDOW)

    test_hits = int(converts[~holdout].sum())
    assert (result.conversion.test_hits, result.conversion.holdout_hits) == (test_hits, int(converts[holdout].sum()))
    assert (result.conversion.test_n, result.conversion.holdout_n) == (int((~holdout).sum()), int(holdout.sum()))
    assert (
        result.conversion.significant
        and result.conversion.uplift_abs_ci.low < 0.04 < result.conversion.uplift_abs_ci.high
    )
    assert not result.sample_ratio.mismatch
    campaign_spend = purchases[purchases.purchased_at >= START].groupby("customer_id")["amount"].sum()
    spend = campaign_spend.reindex(range(n), fill_value=0).to_numpy()
    assert result.spend.test_mean == pytest.approx(spend[~holdout].mean(), rel=1e-12)
    assert result.spend_cuped.variance_reduction >= 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ends_at": START}, "after the start"),
        ({"conversion_days": 0}, "conversion_days"),
        ({"holdout_bps": 5_001}, "holdout share"),
    ],
)
def test_window_refuses_nonsense(kwargs: dict, message: str) -> None:
    fields = {"brand_id": 1, "starts_at": START, "ends_at": END, "conversion_days": 7, "holdout_bps": 1_000} | kwargs
    with pytest.raises(ValueError, match=message):
        Window(**fields)
