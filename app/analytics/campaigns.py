"""A campaign's outcome per member (hit, spend, pre-period spend) as one DuckDB query, judged by experiments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb
import numpy as np

from app.analytics import experiments as ex
from app.analytics.rfm import quote_relation, require_columns, timestamp_sql, utc_naive

PURCHASE_COLUMNS = ("customer_id", "brand_id", "purchased_at", "amount")
MEMBER_COLUMNS = ("customer_id", "holdout")
OUTCOME_COLUMNS = ["customer_id", "holdout", "hit", "spend", "pre_spend"]


@dataclass(frozen=True)
class Window:
    """When a campaign ran and how its primary metric is read."""

    brand_id: int
    starts_at: datetime
    ends_at: datetime
    conversion_days: int  # a hit: a purchase at the brand within this many days of the start
    holdout_bps: int

    def __post_init__(self) -> None:
        if utc_naive(self.ends_at) <= utc_naive(self.starts_at):
            raise ValueError("the end must be after the start")
        if self.conversion_days < 1:
            raise ValueError("conversion_days must be at least 1")
        if not 0 < self.holdout_bps <= ex.BPS // 2:
            raise ValueError("the holdout share is in (0, 50%]")

    @property
    def pre_starts_at(self) -> datetime:
        """The pre-period for CUPED: as long as the campaign, just before it."""
        return self.starts_at - (self.ends_at - self.starts_at)


@dataclass(frozen=True)
class CampaignResult:
    """Everything the brand and the auditor are shown at a campaign's end."""

    conversion: ex.ConversionResult
    spend: ex.MeanResult
    spend_cuped: ex.MeanResult
    sample_ratio: ex.SampleRatio


def outcomes_sql(purchases: str, members: str, window: Window) -> str:
    """Per member: hit (bool), spend in the campaign window and spend in the pre-period, in won.

    Sums are HUGEINT so no purchase amount the API accepts can overflow them; only the member's
    purchases at the campaign's brand count.
    """
    start, end = timestamp_sql(window.starts_at), timestamp_sql(window.ends_at)
    # A hit counts inside the campaign only: a purchase after the end is not known when it is judged.
    hit_until = timestamp_sql(min(window.starts_at + timedelta(days=window.conversion_days), window.ends_at))
    pre = timestamp_sql(window.pre_starts_at)
    return f"""WITH bought AS (
    SELECT p.customer_id,
           bool_or(p.purchased_at >= {start} AND p.purchased_at < {hit_until}) AS hit,
           sum(CASE WHEN p.purchased_at >= {start} AND p.purchased_at < {end}
                    THEN CAST(p.amount AS HUGEINT) ELSE 0 END) AS spend,
           sum(CASE WHEN p.purchased_at < {start} THEN CAST(p.amount AS HUGEINT) ELSE 0 END) AS pre_spend
    FROM {quote_relation(purchases)} AS p
    SEMI JOIN {quote_relation(members)} AS m ON m.customer_id = p.customer_id
    WHERE p.brand_id = {int(window.brand_id)} AND p.purchased_at >= {pre} AND p.purchased_at < {end}
    GROUP BY p.customer_id
)
SELECT m.customer_id, m.holdout, coalesce(b.hit, false) AS hit,
       coalesce(b.spend, 0) AS spend, coalesce(b.pre_spend, 0) AS pre_spend
FROM {quote_relation(members)} AS m LEFT JOIN bought AS b ON b.customer_id = m.customer_id"""


def evaluate(con: duckdb.DuckDBPyConnection, purchases: str, members: str, window: Window) -> CampaignResult:
    """Hit ratio and spend of test against holdout (z-test, Welch, CUPED) and the sample-ratio check."""
    require_columns(con, purchases, PURCHASE_COLUMNS)
    require_columns(con, members, MEMBER_COLUMNS)
    frame = con.sql(
        f"SELECT holdout, hit, CAST(spend AS DOUBLE) AS spend, CAST(pre_spend AS DOUBLE) AS pre_spend "
        # Ordered by customer: the float sums of the tests then come out bit for bit the same in any re-derivation.
        f"FROM ({outcomes_sql(purchases, members, window)}) ORDER BY customer_id"
    ).fetchnumpy()
    holdout = np.asarray(frame["holdout"], dtype=bool)
    hit = np.asarray(frame["hit"], dtype=bool)
    spend, pre = np.asarray(frame["spend"]), np.asarray(frame["pre_spend"])
    test = ~holdout
    n_t, n_c = int(test.sum()), int(holdout.sum())
    if n_t < 2 or n_c < 2:
        raise ValueError(f"each arm needs at least two members (test {n_t}, holdout {n_c})")
    return CampaignResult(
        conversion=ex.conversion_test(int(hit[test].sum()), n_t, int(hit[holdout].sum()), n_c),
        spend=ex.welch_test(spend[test], spend[holdout]),
        spend_cuped=ex.cuped_test(spend[test], spend[holdout], pre[test], pre[holdout]),
        sample_ratio=ex.sample_ratio_check(n_t, n_c, window.holdout_bps),
    )
