"""Behaviour changes between epochs on hand-made before / after frames, and the articles' (1, 3, 3) case."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pandas as pd
import pytest

from app.analytics.behaviour import EVENT_COLUMNS, FRAME_COLUMNS, detect_changes
from app.analytics.rfm import score_rfm
from app.analytics.rules import default_rules

RULES = default_rules()


def frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(FRAME_COLUMNS))


def events_of(events: pd.DataFrame) -> list[tuple]:
    return [tuple(None if pd.isna(v) else v for v in row) for row in events.itertuples(index=False, name=None)]


PREVIOUS = frame(
    [
        # customer, tier, segment, r, f, m, cumulative spend (won), cumulative points
        (1, "silver", "loyal", 4, 4, 3, 900_000, 900),
        (2, "gold", "champions", 3, 4, 4, 2_000_000, 4_000),
        (3, "bronze", "new", 5, 1, 1, 50_000, 10),
        (5, "vip", "champions", 5, 5, 5, 9_000_000, 60_000),  # absent now: no event
    ]
)
CURRENT = frame(
    [
        (1, "gold", "loyal", 4, 4, 4, 1_200_000, 1_100),  # up a tier, crosses 1,000,000 won and 1,000 points
        (2, "silver", "at risk", 2, 4, 4, 2_000_000, 4_000),  # down, segment change, high value gone quiet
        (3, "bronze", "new", 5, 1, 1, 50_000, 10),  # nothing changed
        (4, "bronze", "new", 5, 1, 2, 600_000, 50),  # new, and crosses two spend thresholds at once
    ]
)


def test_detect_changes_on_hand_made_epochs() -> None:
    events = detect_changes(PREVIOUS, CURRENT, RULES, scheme="quintile")
    assert list(events.columns) == EVENT_COLUMNS
    assert events_of(events) == [
        (1, "tier_up", "silver", "gold", None),
        (1, "spend_threshold_crossed", "900000", "1200000", 1_000_000),
        (1, "points_threshold_crossed", "900", "1100", 1_000),
        (2, "tier_down", "gold", "silver", None),
        (2, "segment_change", "champions", "at risk", None),
        (2, "high_value_gone_quiet", "344", "244", None),  # R 3 -> 2 with F 4, M 4 (quintile: R <= 2)
        (4, "new_customer", None, None, None),
        (4, "spend_threshold_crossed", "0", "600000", 100_000),
        (4, "spend_threshold_crossed", "0", "600000", 500_000),
    ]


def test_first_epoch_makes_everyone_new() -> None:
    events = detect_changes(None, CURRENT.iloc[:2], RULES)
    assert [(c, e) for c, e, *_ in events_of(events) if e == "new_customer"] == [
        (1, "new_customer"),
        (2, "new_customer"),
    ]
    assert all(
        e in ("new_customer", "spend_threshold_crossed", "points_threshold_crossed") for _, e, *_ in events_of(events)
    )


@pytest.mark.parametrize(
    ("before", "after", "fires"),
    [
        ((2, 3, 3), (1, 1, 3), True),  # the articles' case: frequent big spender, now R 1
        ((3, 3, 3), (1, 1, 3), True),
        ((2, 2, 3), (1, 1, 3), False),  # not frequent enough
        ((2, 3, 2), (1, 1, 2), False),  # not a big spender
        ((1, 3, 3), (1, 3, 3), False),  # already quiet last epoch: reported once, not every epoch
        ((3, 3, 3), (2, 3, 3), False),  # not quiet yet
    ],
)
def test_high_value_gone_quiet_in_the_three_level_scheme(before, after, fires) -> None:
    previous = frame([(1, "vip", "x", *before, 0, 0)])
    current = frame([(1, "vip", "x", *after, 0, 0)])
    events = detect_changes(previous, current, RULES, scheme="three_level")
    assert ("high_value_gone_quiet" in set(events["event"])) is fires


def test_articles_personal_message_case_from_two_scoring_runs() -> None:
    # Three purchases of 600,000 won, the last 100 days before this epoch; the previous epoch was 30 days ago.
    as_of = datetime(2025, 7, 1)
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE purchases AS SELECT 7::BIGINT AS customer_id, 1::BIGINT AS brand_id,"
        " TIMESTAMP '2025-07-01' - to_days(d) AS purchased_at, 600000::BIGINT AS amount"
        " FROM (VALUES (100), (110), (120)) AS t(d)"
    )

    def epoch(moment: datetime) -> pd.DataFrame:
        scores = score_rfm(con, "purchases", as_of=moment, rules=RULES, scheme="three_level").scores
        return scores.assign(cumulative_spend=scores["monetary_total"], cumulative_points=0)

    previous, current = epoch(as_of - timedelta(days=30)), epoch(as_of)
    assert tuple(previous.loc[0, ["r", "f", "m"]]) == (2, 3, 3)
    assert tuple(current.loc[0, ["r", "f", "m"]]) == (1, 1, 3)
    events = detect_changes(previous, current, RULES, scheme="three_level")
    assert ("high_value_gone_quiet", "233", "113") in {(e, p, c) for _, e, p, c, _ in events_of(events)}


def test_frames_are_checked() -> None:
    with pytest.raises(ValueError, match="lacks column"):
        detect_changes(PREVIOUS, CURRENT.drop(columns="cumulative_points"), RULES)
    with pytest.raises(ValueError, match="tier"):
        detect_changes(PREVIOUS, CURRENT.assign(tier="platinum"), RULES)
    with pytest.raises(ValueError, match="scheme"):
        detect_changes(PREVIOUS, CURRENT, RULES, scheme="deciles")  # type: ignore[arg-type]
