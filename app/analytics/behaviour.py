"""Behaviour changes between two epochs' scored customers: tiers, segments, thresholds, gone quiet, new."""

from __future__ import annotations

import duckdb
import pandas as pd

from app.analytics.rules import SCHEMES, ProgrammeRules, Scheme

FRAME_COLUMNS = ("customer_id", "tier", "segment", "r", "f", "m", "cumulative_spend", "cumulative_points")
EVENT_COLUMNS = ["customer_id", "event", "previous", "current", "threshold"]
# Order of events for one customer in the output (and the names other parts act on).
EVENTS = (
    "new_customer",
    "tier_up",
    "tier_down",
    "segment_change",
    "spend_threshold_crossed",
    "points_threshold_crossed",
    "high_value_gone_quiet",
)


def detect_changes(
    previous: pd.DataFrame | None,
    current: pd.DataFrame,
    rules: ProgrammeRules,
    *,
    scheme: Scheme = "quintile",
) -> pd.DataFrame:
    """Change events from the previous epoch's frame to this one's (FRAME_COLUMNS each; previous may be None).

    Columns EVENT_COLUMNS, sorted by customer_id, event (in EVENTS order), threshold. `previous` and
    `current` are the before / after values as text; `threshold` is set for threshold crossings only.
    """
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}, got {scheme!r}")
    if previous is None:
        previous = current.iloc[0:0]
    for label, frame in (("previous", previous), ("current", current)):
        missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(f"{label} frame lacks column(s) {', '.join(missing)}")
        unknown = sorted(set(frame["tier"].dropna()) - set(rules.tier_names()))
        if unknown:
            raise ValueError(f"{label} frame has tier(s) the rules do not define: {', '.join(map(str, unknown))}")
    con = duckdb.connect()
    try:
        con.register("previous_epoch", previous[list(FRAME_COLUMNS)])
        con.register("current_epoch", current[list(FRAME_COLUMNS)])
        events = con.sql(changes_sql(rules, scheme)).df()
    finally:
        con.close()
    events["threshold"] = events["threshold"].astype("Int64")
    return events


def changes_sql(rules: ProgrammeRules, scheme: Scheme) -> str:
    """The change events as one query over relations `previous_epoch` and `current_epoch` (FRAME_COLUMNS each):
    EVENT_COLUMNS, threshold as an integer or NULL (for jobs that keep the data inside DuckDB)."""
    tier_ranks = ", ".join(f"('{t.name}', {rank})" for rank, t in enumerate(rules.tiers))
    spend = ", ".join(f"({v})" for v in rules.behaviour.spend_thresholds_won)
    points = ", ".join(f"({v})" for v in rules.behaviour.points_thresholds)
    event_order = ", ".join(f"('{e}', {i})" for i, e in enumerate(EVENTS))
    quiet = rules.behaviour.high_value_gone_quiet.for_scheme(scheme)
    return f"""WITH tier_ranks (tier, rank) AS (VALUES {tier_ranks}),
spend_thresholds (threshold) AS (VALUES {spend}),
points_thresholds (threshold) AS (VALUES {points}),
event_order (event, ordinal) AS (VALUES {event_order}),
pairs AS (
    -- rank 0 is the highest tier: a smaller rank now than before is a step up.
    SELECT
        c.customer_id,
        p.customer_id IS NOT NULL AS known,
        p.tier AS previous_tier, c.tier AS current_tier, pt.rank AS previous_rank, ct.rank AS current_rank,
        p.segment AS previous_segment, c.segment AS current_segment,
        p.r AS previous_r, p.f AS previous_f, p.m AS previous_m,
        c.r AS current_r, c.f AS current_f, c.m AS current_m,
        coalesce(p.cumulative_spend, 0) AS previous_spend, c.cumulative_spend AS current_spend,
        coalesce(p.cumulative_points, 0) AS previous_points, c.cumulative_points AS current_points
    FROM current_epoch AS c
    LEFT JOIN previous_epoch AS p ON p.customer_id = c.customer_id
    LEFT JOIN tier_ranks AS pt ON pt.tier = p.tier
    LEFT JOIN tier_ranks AS ct ON ct.tier = c.tier
),
events AS (
    SELECT customer_id, 'new_customer' AS event, NULL AS previous, NULL AS current, NULL AS threshold
    FROM pairs WHERE NOT known
    UNION ALL
    SELECT customer_id, CASE WHEN current_rank < previous_rank THEN 'tier_up' ELSE 'tier_down' END,
           previous_tier, current_tier, NULL
    FROM pairs WHERE known AND current_rank <> previous_rank
    UNION ALL
    SELECT customer_id, 'segment_change', previous_segment, current_segment, NULL
    FROM pairs WHERE known AND current_segment <> previous_segment
    UNION ALL
    SELECT customer_id, 'spend_threshold_crossed', CAST(previous_spend AS VARCHAR),
           CAST(current_spend AS VARCHAR), t.threshold
    FROM pairs JOIN spend_thresholds AS t ON previous_spend < t.threshold AND t.threshold <= current_spend
    UNION ALL
    SELECT customer_id, 'points_threshold_crossed', CAST(previous_points AS VARCHAR),
           CAST(current_points AS VARCHAR), t.threshold
    FROM pairs JOIN points_thresholds AS t ON previous_points < t.threshold AND t.threshold <= current_points
    UNION ALL
    SELECT customer_id, 'high_value_gone_quiet',
           CAST(previous_r AS VARCHAR) || CAST(previous_f AS VARCHAR) || CAST(previous_m AS VARCHAR),
           CAST(current_r AS VARCHAR) || CAST(current_f AS VARCHAR) || CAST(current_m AS VARCHAR), NULL
    FROM pairs
    WHERE known AND previous_r > {quiet.r_max} AND current_r <= {quiet.r_max}
      AND previous_f >= {quiet.f_min} AND previous_m >= {quiet.m_min}
)
SELECT e.customer_id, e.event, CAST(e.previous AS VARCHAR) AS previous, CAST(e.current AS VARCHAR) AS current,
       CAST(e.threshold AS BIGINT) AS threshold
FROM events AS e JOIN event_order AS o ON o.event = e.event
ORDER BY e.customer_id, o.ordinal, e.threshold NULLS FIRST"""
