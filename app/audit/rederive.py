"""The audit's re-derivation of scores, tiers and rewards in pandas, apart from the epoch job's DuckDB SQL.

`score_rfm_reference` grades customers as app/analytics/rfm.py's SQL does, written again with
groupby and rank (tests/analytics/test_rfm.py holds the two equal on every rule set they try); the
audit rescores each epoch's tiers with it and recomputes each account's earnings line by line, so
a bug in the epoch job's scoring or reward SQL makes the two disagree. Only the programme's rules
(programme.toml, through the shared loader) are shared: data, not arithmetic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd

from app.analytics.rules import ProgrammeRules, Scheme
from app.audit.records import PurchaseRecord, RefundRecord, naive_utc

DAY = pd.Timedelta(days=1)
QUINTILES = 5
BIGINT_MAX = 2**63 - 1  # won figures are reported as BIGINT, capped there (display only)
# The columns app/analytics/rfm.py reports, in its order (the tests compare the two frames whole).
_MEASURES = ["recency_days", "frequency", "monetary_total", "monetary_avg"]
SCORE_COLUMNS = ["customer_id", *_MEASURES, "r", "f", "m", "segment", "tier", "cashback_bps"]
CUT_POINT_COLUMNS = ["measure", "score", "lower_bound", "upper_bound", "customers"]


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
    as_of_ts = pd.Timestamp(naive_utc(as_of))
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


def net_of_refunds(
    purchases: Iterable[PurchaseRecord], refunds: Iterable[RefundRecord], *, as_of: datetime
) -> list[PurchaseRecord]:
    """The purchases with each amount net of the refunds made up to `as_of`; one refunded in full is left out
    (as app/analytics/rfm.net_of_refunds_sql, written again: what the scoring reads)."""
    refunded: dict[int, int] = defaultdict(int)
    for r in refunds:
        if r.refunded_at <= as_of:
            refunded[r.purchase_id] += r.amount
    net = []
    for p in purchases:
        back = refunded.get(p.id, 0)
        if back == 0:
            net.append(p)
        elif p.amount > back:
            net.append(replace(p, amount=p.amount - back))
    return net


def tier_rates(
    purchases: Sequence[PurchaseRecord], *, max_purchase_id: int, as_of: datetime, scheme: Scheme, rules: ProgrammeRules
) -> dict[int, int]:
    """customer_id -> cashback bps of the tier graded at `as_of` over the purchases up to `max_purchase_id`."""
    grades = tier_grades(purchases, max_purchase_id=max_purchase_id, as_of=as_of, scheme=scheme, rules=rules)
    return {c: bps for c, (_, bps) in grades.items()}


def tier_grades(
    purchases: Sequence[PurchaseRecord], *, max_purchase_id: int, as_of: datetime, scheme: Scheme, rules: ProgrammeRules
) -> dict[int, tuple[str, int]]:
    """customer_id -> (tier, cashback bps) graded at `as_of` over the purchases up to `max_purchase_id`."""
    rows = [p for p in purchases if p.id <= max_purchase_id]
    if not rows:
        return {}
    frame = pd.DataFrame(
        {
            "customer_id": pd.Series([p.customer_id for p in rows], dtype="int64"),
            "brand_id": pd.Series([p.brand_id for p in rows], dtype="int64"),
            "purchased_at": pd.Series([p.purchased_at for p in rows], dtype="datetime64[us]"),
            "amount": pd.Series([p.amount for p in rows], dtype="int64"),
        }
    )
    scores, _ = score_rfm_reference(frame, as_of=as_of, rules=rules, scheme=scheme)
    return {
        int(c): (str(t), int(b))
        for c, t, b in zip(scores["customer_id"], scores["tier"], scores["cashback_bps"], strict=True)
    }


@dataclass(frozen=True)
class Access:
    """One customer's recorded access: what the brand pays into the customer's line."""

    customer: str  # lower-case address
    brand: str  # lower-case address
    price: int  # token units


def reward_lines(
    covered: Iterable[PurchaseRecord],
    accesses: Iterable[Access],
    *,
    rates: dict[int, int],
    rules: ProgrammeRules,
    extra: dict[int, int] | None = None,
) -> dict[tuple[str, str], list[int]]:
    """(account, brand) -> [purchase cashback, access earnings] in token units.

    Cashback is the won spent at one rate, summed first and then rounded down once per (account,
    brand, rate): won x bps x units-per-won / 10,000. A customer with no graded tier earns the base
    (last) tier's rate; `extra` (purchase id -> bps) is a brand's own rate on top of it for that purchase.
    """
    extra = extra or {}
    base_bps = rules.tiers[-1].cashback_bps
    units = rules.epochs.cash_units_per_won
    spend: dict[tuple[str, str, int], int] = defaultdict(int)
    for p in covered:
        spend[(p.customer, p.brand, rates.get(p.customer_id, base_bps) + extra.get(p.id, 0))] += p.amount
    lines: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (account, brand, bps), won in spend.items():
        lines[(account, brand)][0] += won * bps * units // 10_000
    for a in accesses:
        lines[(a.customer, a.brand)][1] += a.price
    return lines
