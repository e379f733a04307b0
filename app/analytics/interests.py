"""Interest profiles: time-decayed, weighted scores per customer and category or style, and top styles."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pandas as pd

from app.analytics.rfm import DAY_US, quote_relation, require_columns, timestamp_sql, utc_naive
from app.analytics.rules import ProgrammeRules

# Each signal's contribution is rounded to 1e-6 and summed as an integer, so the engine's summation
# order (parallel, distributed) cannot change a score; reported scores are rounded half up to 1e-4.
FIXED_POINT = 1_000_000
REPORTED_DECIMALS = 4

EVENT_COLUMNS = ("customer_id", "kind", "category", "style", "occurred_at")
ITEM_COLUMNS = ("customer_id", "purchased_at", "category", "style", "quantity")
PROFILE_COLUMNS = ["customer_id", "dimension", "value", "score", "signals"]
TOP_STYLE_COLUMNS = ["customer_id", "rank", "style", "score"]


def interest_profile(
    con: duckdb.DuckDBPyConnection, events: str, items: str, *, as_of: datetime, rules: ProgrammeRules
) -> pd.DataFrame:
    """Per (customer, category) and (customer, style): score, and the number of signals behind it.

    Columns PROFILE_COLUMNS; dimension is 'category' or 'style'; sorted by customer, dimension, score
    descending, value.
    """
    _require_inputs(con, events, items)
    return con.sql(interest_profile_sql(events, items, as_of=as_of, rules=rules)).df()


def top_styles(
    con: duckdb.DuckDBPyConnection,
    events: str,
    items: str,
    *,
    as_of: datetime,
    rules: ProgrammeRules,
    k: int = 3,
) -> pd.DataFrame:
    """Each customer's k highest-scoring styles (ties by style name); columns TOP_STYLE_COLUMNS."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    _require_inputs(con, events, items)
    return con.sql(
        f"""{_profile_sql(events, items, as_of=as_of, rules=rules)},
ranked AS (
    SELECT customer_id, value, units,
           row_number() OVER (PARTITION BY customer_id ORDER BY units DESC, value) AS rank
    FROM profile
    WHERE dimension = 'style'
)
SELECT customer_id, rank, value AS style, {_score_sql()} AS score
FROM ranked
WHERE rank <= {k}
ORDER BY customer_id, rank"""
    ).df()


def interest_profile_sql(events: str, items: str, *, as_of: datetime, rules: ProgrammeRules) -> str:
    """The profile as one self-contained query (for storage or another engine)."""
    return f"""{_profile_sql(events, items, as_of=as_of, rules=rules)}
SELECT customer_id, dimension, value, {_score_sql()} AS score, signals
FROM profile
ORDER BY customer_id, dimension, units DESC, value"""


def _profile_sql(events: str, items: str, *, as_of: datetime, rules: ProgrammeRules) -> str:
    as_of = utc_naive(as_of)
    interests = rules.interests
    start = timestamp_sql(as_of - timedelta(days=interests.max_age_days + 1))
    end = timestamp_sql(as_of)
    weights = ", ".join(f"('{kind}', {weight})" for kind, weight in interests.weights.items())
    return f"""WITH signals AS (
    SELECT customer_id, kind, category, style, occurred_at AS at, 1 AS quantity
    FROM {quote_relation(events)}
    WHERE occurred_at <= {end} AND occurred_at > {start}
    UNION ALL
    SELECT customer_id, 'purchase' AS kind, category, style, purchased_at AS at, quantity
    FROM {quote_relation(items)}
    WHERE purchased_at <= {end} AND purchased_at > {start}
),
weights (kind, weight) AS (
    VALUES {weights}
),
weighted AS (
    SELECT
        s.customer_id, s.category, s.style,
        CAST(floor(
            w.weight * s.quantity
            * pow(0.5, (date_diff('microsecond', s.at, {end}) / {DAY_US}.0) / {interests.half_life_days})
            * {FIXED_POINT} + 0.5
        ) AS BIGINT) AS units
    FROM signals AS s
    JOIN weights AS w ON w.kind = s.kind
),
profile AS (
    SELECT customer_id, 'category' AS dimension, category AS value,
           CAST(sum(units) AS BIGINT) AS units, count(*) AS signals
    FROM weighted WHERE category IS NOT NULL GROUP BY customer_id, category
    UNION ALL
    SELECT customer_id, 'style' AS dimension, style AS value,
           CAST(sum(units) AS BIGINT) AS units, count(*) AS signals
    FROM weighted WHERE style IS NOT NULL GROUP BY customer_id, style
)"""


def _score_sql() -> str:
    step = FIXED_POINT // 10**REPORTED_DECIMALS
    return f"((units + {step // 2}) // {step}) / {10**REPORTED_DECIMALS}.0"


def _require_inputs(con: duckdb.DuckDBPyConnection, events: str, items: str) -> None:
    require_columns(con, events, EVENT_COLUMNS)
    require_columns(con, items, ITEM_COLUMNS)
