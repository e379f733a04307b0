"""Plain pandas versions of the analytics: the test oracle and the benchmark's baseline."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from app.analytics.interests import FIXED_POINT, REPORTED_DECIMALS
from app.analytics.rfm import BIGINT_MAX, CUT_POINT_COLUMNS, QUINTILES, SCORE_COLUMNS, utc_naive
from app.analytics.rules import ProgrammeRules, Scheme

DAY = pd.Timedelta(days=1)


def score_rfm_reference(
    purchases: pd.DataFrame,
    *,
    as_of: datetime,
    window_days: int | None = None,
    rules: ProgrammeRules,
    scheme: Scheme = "quintile",
    brand_id: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scores, cut_points) exactly as rfm.score_rfm computes them, with groupby and rank."""
    as_of_ts = pd.Timestamp(utc_naive(as_of))
    window = rules.window_days(scheme) if window_days is None else window_days
    age = (as_of_ts - purchases["purchased_at"]) // DAY
    keep = (purchases["purchased_at"] <= as_of_ts) & (age <= window)
    if brand_id is not None:
        keep &= purchases["brand_id"] == brand_id
    rows = purchases.loc[keep, ["customer_id", "purchased_at", "amount"]].assign(age=age[keep])
    if scheme == "three_level":
        rows["counted"] = (rows["age"] <= rules.three_level.frequency_window_days).astype("int64")
    else:
        rows["counted"] = 1
    by_customer = rows.groupby("customer_id", sort=True)
    scores = pd.DataFrame(
        {
            "recency_days": by_customer["age"].min(),
            "frequency": by_customer["counted"].sum(),
            # Python integers: exact where int64 would wrap (two purchases near 2^63 won)
            "monetary_total": by_customer["amount"].apply(lambda a: sum(int(x) for x in a)),
            "purchases": by_customer["amount"].size(),
        }
    ).reset_index()
    scores["monetary_avg"] = [
        int(t) // int(n) for t, n in zip(scores["monetary_total"], scores["purchases"], strict=True)
    ]
    monetary = "monetary_total" if rules.monetary(scheme) == "total" else "monetary_avg"
    if scheme == "quintile":
        n = len(scores)
        # rank(method="min") - 1 = customers with a strictly smaller value: ties share a score.
        for name, column, ascending in (
            ("r", "recency_days", False),
            ("f", "frequency", True),
            ("m", monetary, True),
        ):
            smaller = scores[column].rank(method="min", ascending=ascending).astype("int64") - 1
            scores[name] = 1 + (QUINTILES * smaller) // max(n, 1)
    else:
        t = rules.three_level
        r3_max, r2_max = t.recency_max_days
        scores["r"] = np.select([scores["recency_days"] <= r3_max, scores["recency_days"] <= r2_max], [3, 2], 1)
        scores["f"] = _bands(scores["frequency"], t.frequency_min)
        scores["m"] = _bands(scores[monetary], t.monetary_min_won)
    segments = rules.segments.for_scheme(scheme)
    scores["segment"] = np.select(
        [scores["r"].between(*s.r) & scores["f"].between(*s.f) for s in segments],
        [s.name for s in segments],
        default=None,  # type: ignore[call-overload]
    )
    qualifies = [
        (scores["f"] >= t.condition(scheme).min_f) & (scores["m"] >= t.condition(scheme).min_m) for t in rules.tiers
    ]
    scores["tier"] = np.select(qualifies, [t.name for t in rules.tiers], default=None)  # type: ignore[call-overload]
    scores["cashback_bps"] = np.select(qualifies, [t.cashback_bps for t in rules.tiers], default=0)
    scores["monetary_total"] = scores["monetary_total"].clip(upper=BIGINT_MAX)  # as rfm_sql reports it
    scores = scores[SCORE_COLUMNS].astype({c: "int64" for c in SCORE_COLUMNS if c not in ("segment", "tier")})
    return scores.reset_index(drop=True), _cut_points(scores, monetary)


def _bands(values: pd.Series, minimums: tuple[int, int]) -> np.ndarray:
    return np.select([values >= minimums[1], values >= minimums[0]], [3, 2], 1)


def _cut_points(scores: pd.DataFrame, monetary: str) -> pd.DataFrame:
    frames = []
    for measure, score in (("recency_days", "r"), ("frequency", "f"), (monetary, "m")):
        bounds = scores.groupby(score)[measure].agg(["min", "max", "size"]).reset_index()
        bounds.columns = ["score", "lower_bound", "upper_bound", "customers"]
        frames.append(bounds.assign(measure=measure))
    cut_points = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=CUT_POINT_COLUMNS)
    return cut_points[CUT_POINT_COLUMNS].astype({c: "int64" for c in CUT_POINT_COLUMNS[1:]})


def interest_profile_reference(
    events: pd.DataFrame, items: pd.DataFrame, *, as_of: datetime, rules: ProgrammeRules
) -> pd.DataFrame:
    """interests.interest_profile in pandas: same fixed-point sums, same rounding, same order."""
    as_of_ts = pd.Timestamp(utc_naive(as_of))
    signals = pd.concat(
        [
            events[["customer_id", "kind", "category", "style", "occurred_at"]]
            .rename(columns={"occurred_at": "at"})
            .assign(quantity=1),
            items[["customer_id", "category", "style", "purchased_at", "quantity"]]
            .rename(columns={"purchased_at": "at"})
            .assign(kind="purchase"),
        ],
        ignore_index=True,
    )
    age_us = (as_of_ts - signals["at"]) // pd.Timedelta(microseconds=1)
    signals = signals[(signals["at"] <= as_of_ts) & (age_us // 86_400_000_000 <= rules.interests.max_age_days)]
    age_us = age_us[signals.index]
    weight = signals["kind"].map(dict(rules.interests.weights.items()))
    decay = np.power(0.5, (age_us / 86_400_000_000.0) / rules.interests.half_life_days)
    units = np.floor(weight * signals["quantity"] * decay * FIXED_POINT + 0.5)
    signals = signals.assign(units=units)[weight.notna()]
    frames = []
    for dimension in ("category", "style"):
        part = signals[signals[dimension].notna()]
        grouped = part.groupby(["customer_id", dimension]).agg(units=("units", "sum"), signals=("units", "size"))
        grouped = grouped.reset_index().rename(columns={dimension: "value"})
        frames.append(grouped.assign(dimension=dimension))
    profile = pd.concat(frames, ignore_index=True)
    profile["units"] = profile["units"].astype("int64")
    step = FIXED_POINT // 10**REPORTED_DECIMALS
    profile["score"] = ((profile["units"] + step // 2) // step) / 10**REPORTED_DECIMALS
    profile = profile.sort_values(
        ["customer_id", "dimension", "units", "value"], ascending=[True, True, False, True], kind="stable"
    )
    return profile[["customer_id", "dimension", "value", "score", "signals"]].reset_index(drop=True)
