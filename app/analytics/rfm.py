"""RFM scoring (3-level and tie-consistent quintile), segments and tiers as set-based DuckDB SQL."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd

from app.analytics.rules import SCHEMES, ProgrammeRules, Scheme, rules_hash

DAY_US = 86_400_000_000  # microseconds per day: ages are whole days, floor((as_of - t) / 24 h)
QUINTILES = 5
BIGINT_MAX = 2**63 - 1  # won figures are reported as BIGINT, capped here (display only)

SCORE_COLUMNS = [
    "customer_id",
    "recency_days",
    "frequency",
    "monetary_total",
    "monetary_avg",
    "r",
    "f",
    "m",
    "segment",
    "tier",
    "cashback_bps",
]
CUT_POINT_COLUMNS = ["measure", "score", "lower_bound", "upper_bound", "customers"]
PURCHASE_COLUMNS = ("customer_id", "brand_id", "purchased_at", "amount")

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class RfmRun:
    """One scoring run: its parameters, the per-customer scores and the cut points it used."""

    scheme: Scheme
    as_of: datetime
    window_days: int
    brand_id: int | None
    rules_hash: str
    scores: pd.DataFrame
    cut_points: pd.DataFrame
    sql: str


def score_rfm(
    con: duckdb.DuckDBPyConnection,
    purchases: str,
    *,
    as_of: datetime,
    window_days: int | None = None,
    rules: ProgrammeRules,
    scheme: Scheme = "quintile",
    brand_id: int | None = None,
) -> RfmRun:
    """Score every customer with a purchase in the window ending at `as_of` (see docs/analytics.md).

    `purchases` names a relation with customer_id, brand_id, purchased_at (UTC TIMESTAMP), amount (won).
    Scores are sorted by customer_id; cut points by measure (R, F, M) and score.
    """
    require_columns(con, purchases, PURCHASE_COLUMNS)
    as_of = utc_naive(as_of)
    window = rules.window_days(scheme) if window_days is None else window_days
    sql = rfm_sql(purchases, as_of=as_of, window_days=window, rules=rules, scheme=scheme, brand_id=brand_id)
    scores = con.sql(f"{sql}\nORDER BY customer_id").df()
    # The cut points are read from the fetched frame, not recomputed: DuckDB scans pandas in place.
    view = f"_rfm_scores_{uuid.uuid4().hex}"
    con.register(view, scores)
    try:
        cut_points = con.sql(cut_points_sql(view, rules=rules, scheme=scheme)).df()
    finally:
        con.unregister(view)
    return RfmRun(
        scheme=scheme,
        as_of=as_of,
        window_days=window,
        brand_id=brand_id,
        rules_hash=rules_hash(rules),
        scores=scores,
        cut_points=cut_points,
        sql=sql,
    )


def rfm_sql(
    purchases: str,
    *,
    as_of: datetime,
    window_days: int,
    rules: ProgrammeRules,
    scheme: Scheme,
    brand_id: int | None = None,
) -> str:
    """The scoring query, self-contained (values inlined as typed literals) so any SQL engine can run it."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    _require_int("window_days", window_days, minimum=1)
    as_of = utc_naive(as_of)
    # Age <= N whole days  <=>  purchased_at > as_of - (N + 1) days: a plain range filter for pushdown.
    window_start = as_of - timedelta(days=window_days + 1)
    brand_filter = ""
    if brand_id is not None:
        _require_int("brand_id", brand_id, minimum=0)
        brand_filter = f"\n      AND brand_id = {brand_id}"
    if scheme == "three_level":
        frequency_start = as_of - timedelta(days=rules.three_level.frequency_window_days + 1)
        counted = f"CASE WHEN purchased_at > {timestamp_sql(frequency_start)} THEN 1 ELSE 0 END"
        frequency = f"CAST(sum({counted}) AS BIGINT)"
    else:
        frequency = "count(*)"
    monetary = "total_won" if rules.monetary(scheme) == "total" else "avg_won"
    return f"""WITH windowed AS (
    SELECT customer_id, purchased_at, amount
    FROM {quote_relation(purchases)}
    WHERE purchased_at <= {timestamp_sql(as_of)}
      AND purchased_at > {timestamp_sql(window_start)}{brand_filter}
),
measured AS (
    SELECT
        customer_id,
        date_diff('microsecond', max(purchased_at), {timestamp_sql(as_of)}) // {DAY_US} AS recency_days,
        {frequency} AS frequency,
        count(*) AS purchases,
        -- DuckDB sums BIGINT into HUGEINT: exact, as two purchases near 2^63 won overflow BIGINT
        sum(amount) AS total_won
    FROM windowed
    GROUP BY customer_id
),
averaged AS (
    -- The average always fits BIGINT; HUGEINT division is slow, so only the rare huge total takes it
    SELECT *, CASE WHEN total_won <= {BIGINT_MAX} THEN CAST(total_won AS BIGINT) // purchases
                   ELSE CAST(total_won // purchases AS BIGINT) END AS avg_won
    FROM measured
),
scored AS (
    SELECT
        *,
{_score_sql(rules, scheme, monetary)}
    FROM averaged
)
SELECT
    customer_id, recency_days, frequency,
    -- Reported (and stored) capped at BIGINT; scores and tiers above used the exact sum
    CAST(least(total_won, {BIGINT_MAX}) AS BIGINT) AS monetary_total, avg_won AS monetary_avg, r, f, m,
{_segment_sql(rules, scheme)} AS segment,
{_tier_sql(rules, scheme, "name")} AS tier,
CAST(
{_tier_sql(rules, scheme, "cashback_bps")}
    AS BIGINT) AS cashback_bps
FROM scored"""


def net_of_refunds_sql(purchases: str, refunds: str, *, as_of: datetime) -> str:
    """`purchases` (id, customer_id, brand_id, purchased_at, amount) with each amount net of the `refunds`
    (purchase_id, refunded_at, amount) made up to `as_of`; a purchase refunded in full is left out (it no
    longer counts for frequency either). What the scoring reads once refunds exist (docs/epochs.md)."""
    return f"""SELECT p.id, p.customer_id, p.brand_id, p.purchased_at, p.amount - coalesce(r.refunded, 0) AS amount
FROM {quote_relation(purchases)} p
LEFT JOIN (
    SELECT purchase_id, sum(amount) AS refunded FROM {refunds}
    WHERE refunded_at <= {timestamp_sql(utc_naive(as_of))} GROUP BY purchase_id
) r ON r.purchase_id = p.id
WHERE r.refunded IS NULL OR p.amount > r.refunded"""


def cut_points_sql(scores: str, *, rules: ProgrammeRules, scheme: Scheme) -> str:
    """Observed value range per score and measure over a scored relation (stored with the run)."""
    monetary = "monetary_total" if rules.monetary(scheme) == "total" else "monetary_avg"
    scores = quote_relation(scores)
    parts = [
        f"SELECT {order} AS measure_order, '{measure}' AS measure, {score} AS score, "
        f"min({measure}) AS lower_bound, max({measure}) AS upper_bound, count(*) AS customers "
        f"FROM {scores} GROUP BY {score}"
        for order, measure, score in ((1, "recency_days", "r"), (2, "frequency", "f"), (3, monetary, "m"))
    ]
    union = "\n    UNION ALL ".join(parts)
    return f"""SELECT measure, CAST(score AS BIGINT) AS score, CAST(lower_bound AS BIGINT) AS lower_bound,
       CAST(upper_bound AS BIGINT) AS upper_bound, CAST(customers AS BIGINT) AS customers
FROM (
    {union}
) AS bounds
ORDER BY measure_order, score"""


def _score_sql(rules: ProgrammeRules, scheme: Scheme, monetary: str) -> str:
    if scheme == "quintile":
        # Tie-consistent quintiles: rank() - 1 counts the customers with a strictly smaller value (a
        # strictly larger recency for R), so equal values always share a score.
        n = "count(*) OVER ()"
        return ",\n".join(
            f"        CAST(1 + ({QUINTILES} * (rank() OVER (ORDER BY {order}) - 1)) // {n} AS BIGINT) AS {name}"
            for name, order in (("r", "recency_days DESC"), ("f", "frequency"), ("m", monetary))
        )
    t = rules.three_level
    r3_max, r2_max = t.recency_max_days
    (f2, f3), (m2, m3) = t.frequency_min, t.monetary_min_won
    bands = (
        ("r", f"recency_days <= {r3_max}", f"recency_days <= {r2_max}"),
        ("f", f"frequency >= {f3}", f"frequency >= {f2}"),
        ("m", f"{monetary} >= {m3}", f"{monetary} >= {m2}"),
    )
    return ",\n".join(
        f"        CAST(CASE WHEN {three} THEN 3 WHEN {two} THEN 2 ELSE 1 END AS BIGINT) AS {name}"
        for name, three, two in bands
    )


def _segment_sql(rules: ProgrammeRules, scheme: Scheme) -> str:
    whens = "\n".join(
        f"        WHEN r BETWEEN {s.r[0]} AND {s.r[1]} AND f BETWEEN {s.f[0]} AND {s.f[1]} THEN '{s.name}'"
        for s in rules.segments.for_scheme(scheme)
    )
    return f"    CASE\n{whens}\n    END"


def _tier_sql(rules: ProgrammeRules, scheme: Scheme, attribute: str) -> str:
    def value(tier: object) -> str:
        v = getattr(tier, attribute)
        return f"'{v}'" if isinstance(v, str) else str(v)

    whens = "\n".join(
        f"        WHEN f >= {t.condition(scheme).min_f} AND m >= {t.condition(scheme).min_m} THEN {value(t)}"
        for t in rules.tiers
    )
    return f"    CASE\n{whens}\n    END"


def utc_naive(moment: datetime) -> datetime:
    """A datetime as naive UTC (naive input is taken to be UTC already); a bare date is refused."""
    if not isinstance(moment, datetime):
        raise TypeError(f"as_of must be a datetime (UTC), got {type(moment).__name__}")
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def timestamp_sql(moment: datetime) -> str:
    return f"TIMESTAMP '{utc_naive(moment).isoformat(sep=' ', timespec='microseconds')}'"


def quote_relation(name: str) -> str:
    """A (schema-qualified) relation name as quoted SQL identifiers; anything else is refused."""
    parts = name.split(".")
    if not all(_IDENTIFIER.match(p) for p in parts) or len(parts) > 3:
        raise ValueError(f"relation must be a plain (optionally qualified) name, got {name!r}")
    return ".".join(f'"{p}"' for p in parts)


def require_columns(con: duckdb.DuckDBPyConnection, relation: str, columns: tuple[str, ...]) -> None:
    present = set(con.sql(f"SELECT * FROM {quote_relation(relation)} LIMIT 0").columns)
    missing = [c for c in columns if c not in present]
    if missing:
        raise ValueError(f"relation {relation!r} lacks column(s) {', '.join(missing)}")


def _require_int(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
