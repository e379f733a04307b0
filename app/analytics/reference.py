"""Plain pandas versions of the interest profile and of brands' extra rates: test oracles and the benchmark's baseline.

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


BRAND_EXTRA_COLUMNS = ["purchase_id", "customer_id", "brand_id", "category", "tier", "extra_bps"]


def brand_extra_reference(
    covered: pd.DataFrame,
    items: pd.DataFrame,
    versions: pd.DataFrame,
    tiers: pd.DataFrame,
    *,
    epoch: int,
    base_tier: str,
) -> pd.DataFrame:
    """app/services/epoch_brand_rates.py's `brand_extra` in pandas: each covered purchase (id, customer_id,
    brand_id) earning a brand's own rate in `epoch`, from its items (purchase_id, category, quantity,
    unit_price), the brands' rule versions (brand_id, version, effective_epoch, category, tier, extra_bps; one
    row per rule row) and the previous epoch's tiers (customer_id, tier)."""
    live = versions[versions["effective_epoch"] <= epoch]
    newest = live.groupby("brand_id")["version"].transform("max")
    rows = live[live["version"] == newest][["brand_id", "category", "tier", "extra_bps"]]
    named = items[items["category"].notna()].assign(
        value=lambda f: f["quantity"].astype(object) * f["unit_price"].astype(object)
    )
    value = named.groupby(["purchase_id", "category"], as_index=False)["value"].sum()
    value = value.assign(neg=-value["value"]).sort_values(["purchase_id", "neg", "category"], kind="stable")
    main = value.drop_duplicates("purchase_id")[["purchase_id", "category"]]
    purchases = covered.rename(columns={"id": "purchase_id"})[["purchase_id", "customer_id", "brand_id"]]
    graded = purchases.merge(tiers, on="customer_id", how="left")
    graded["tier"] = graded["tier"].fillna(base_tier)
    out = graded.merge(main, on="purchase_id").merge(rows, on=["brand_id", "category", "tier"])
    return out[BRAND_EXTRA_COLUMNS].sort_values("purchase_id").reset_index(drop=True)
