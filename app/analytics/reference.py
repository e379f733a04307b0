"""A plain pandas version of the interest profile: the test oracle and the benchmark's baseline.

The RFM scoring's pandas version is product code now: the audit's re-derivation (app/audit/rederive.py).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from app.analytics.interests import FIXED_POINT, REPORTED_DECIMALS
from app.analytics.rfm import utc_naive
from app.analytics.rules import ProgrammeRules


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
