"""Campaign statistics: holdout assignment by keyed hash, hit ratio and uplift with CIs, SRM, CUPED, power."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import sha3  # safe-pysha3: keccak-256, the EVM's hash, so a contract or any auditor can recompute it
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

BPS = 10_000
ALPHA = 0.05
# GrowthBook's default: a split this unlikely under the planned ratio means the assignment is broken.
SRM_THRESHOLD = 0.001


# -------------------------------------------------------------------------------------------------
# Assignment
# -------------------------------------------------------------------------------------------------


def assignment_bucket(salt: bytes, customer: str) -> int:
    """The customer's bucket in [0, 10,000): keccak256(salt ‖ address) read as a big-endian integer."""
    if len(salt) != 32:
        raise ValueError("the campaign salt is 32 bytes")
    address = bytes.fromhex(customer.removeprefix("0x"))
    if len(address) != 20:
        raise ValueError(f"not an address: {customer!r}")
    return int.from_bytes(sha3.keccak_256(salt + address).digest(), "big") % BPS


def in_holdout(salt: bytes, customer: str, holdout_bps: int) -> bool:
    """True when the customer is in the holdout: bucket < holdout share in basis points."""
    return assignment_bucket(salt, customer) < holdout_bps


def assign(salt: bytes, customers: Iterable[str], holdout_bps: int) -> dict[str, bool]:
    """Each customer's assignment (True = holdout); fixed by the salt, so it can never be re-drawn."""
    if not 0 < holdout_bps <= BPS // 2:
        raise ValueError("the holdout share is in (0, 50%]")
    return {c: in_holdout(salt, c, holdout_bps) for c in customers}


# -------------------------------------------------------------------------------------------------
# Results
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class ConversionResult:
    """Hit ratio per arm and the uplift of test over holdout, with a two-proportion z-test."""

    test_n: int
    test_hits: int
    holdout_n: int
    holdout_hits: int
    test_rate: float
    holdout_rate: float
    uplift_abs: float
    uplift_abs_ci: Interval
    uplift_rel: float | None
    uplift_rel_ci: Interval | None
    z: float
    p_value: float

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def conversion_test(test_hits: int, test_n: int, holdout_hits: int, holdout_n: int) -> ConversionResult:
    """Pooled two-sided z-test (statsmodels); Wald CI for the difference, log CI for the ratio."""
    for name, hits, n in (("test", test_hits, test_n), ("holdout", holdout_hits, holdout_n)):
        if n <= 0 or not 0 <= hits <= n:
            raise ValueError(f"{name}: need 0 <= hits <= n and n > 0 (hits={hits}, n={n})")
    p_t, p_c = test_hits / test_n, holdout_hits / holdout_n
    if test_hits + holdout_hits in (0, test_n + holdout_n):
        z, p = 0.0, 1.0  # no variation at all: nothing to test
    else:
        z, p = (float(v) for v in proportions_ztest([test_hits, holdout_hits], [test_n, holdout_n]))
    lo, hi = confint_proportions_2indep(
        test_hits, test_n, holdout_hits, holdout_n, method="wald", compare="diff", alpha=ALPHA
    )
    rel: float | None = None
    rel_ci: Interval | None = None
    if holdout_hits > 0 and test_hits > 0:
        rlo, rhi = confint_proportions_2indep(
            test_hits, test_n, holdout_hits, holdout_n, method="log", compare="ratio", alpha=ALPHA
        )
        rel, rel_ci = p_t / p_c - 1, Interval(float(rlo) - 1, float(rhi) - 1)
    return ConversionResult(
        test_n=test_n,
        test_hits=test_hits,
        holdout_n=holdout_n,
        holdout_hits=holdout_hits,
        test_rate=p_t,
        holdout_rate=p_c,
        uplift_abs=p_t - p_c,
        uplift_abs_ci=Interval(float(lo), float(hi)),
        uplift_rel=rel,
        uplift_rel_ci=rel_ci,
        z=z,
        p_value=p,
    )


@dataclass(frozen=True)
class MeanResult:
    """Mean of a metric per arm (spend per customer) and the difference, by Welch's t-test."""

    test_n: int
    holdout_n: int
    test_mean: float
    holdout_mean: float
    uplift_abs: float
    uplift_abs_ci: Interval
    uplift_rel: float | None
    uplift_rel_ci: Interval | None
    t: float
    df: float
    p_value: float
    variance_reduction: float = 0.0  # CUPED: 1 - var(adjusted) / var(raw)

    @property
    def significant(self) -> bool:
        return self.p_value < ALPHA


def welch_test(test: Sequence[float] | np.ndarray, holdout: Sequence[float] | np.ndarray) -> MeanResult:
    """Welch's t-test (scipy); CI of the difference from Welch's df; relative CI by the delta method."""
    y_t, y_c = np.asarray(test, dtype=float), np.asarray(holdout, dtype=float)
    if len(y_t) < 2 or len(y_c) < 2:
        raise ValueError("each arm needs at least two customers")
    m_t, m_c = float(y_t.mean()), float(y_c.mean())
    v_t, v_c = float(y_t.var(ddof=1)) / len(y_t), float(y_c.var(ddof=1)) / len(y_c)
    if v_t + v_c == 0:
        ci, t, df, p = Interval(m_t - m_c, m_t - m_c), 0.0, float(len(y_t) + len(y_c) - 2), 1.0
        if m_t != m_c:
            p = 0.0
    else:
        res = stats.ttest_ind(y_t, y_c, equal_var=False)
        low, high = res.confidence_interval(1 - ALPHA)
        ci, t, df, p = Interval(float(low), float(high)), float(res.statistic), float(res.df), float(res.pvalue)
    rel: float | None = None
    rel_ci: Interval | None = None
    if m_c != 0:
        rel = m_t / m_c - 1
        se = math.sqrt(v_t / m_c**2 + (m_t**2) * v_c / m_c**4)
        q = float(stats.norm.ppf(1 - ALPHA / 2))
        rel_ci = Interval(rel - q * se, rel + q * se)
    return MeanResult(
        test_n=len(y_t),
        holdout_n=len(y_c),
        test_mean=m_t,
        holdout_mean=m_c,
        uplift_abs=m_t - m_c,
        uplift_abs_ci=ci,
        uplift_rel=rel,
        uplift_rel_ci=rel_ci,
        t=t,
        df=df,
        p_value=p,
    )


def cuped_test(test: np.ndarray, holdout: np.ndarray, test_pre: np.ndarray, holdout_pre: np.ndarray) -> MeanResult:
    """Welch's t-test on CUPED-adjusted values: y - θ(x - x̄), θ = cov(x, y) / var(x) over both arms.

    The pre-period covariate (spend before the campaign) is independent of the assignment, so the
    adjustment keeps the estimate unbiased and removes the variance the covariate explains.
    """
    y = np.concatenate([test, holdout]).astype(float)
    x = np.concatenate([test_pre, holdout_pre]).astype(float)
    if len(x) != len(y):
        raise ValueError("one pre-period value per customer")
    var_x = float(x.var(ddof=1))
    theta = 0.0 if var_x == 0 else float(np.cov(x, y, ddof=1)[0, 1]) / var_x
    adjusted = y - theta * (x - x.mean())
    n_t = len(test)
    result = welch_test(adjusted[:n_t], adjusted[n_t:])
    var_y = float(y.var(ddof=1))
    reduction = 0.0 if var_y == 0 else 1 - float(adjusted.var(ddof=1)) / var_y
    # Relative uplift against the raw holdout mean: the adjustment shifts both arms' means alike.
    m_c = float(np.asarray(holdout, dtype=float).mean())
    rel = rel_ci = None
    if m_c != 0:
        rel = result.uplift_abs / m_c
        rel_ci = Interval(result.uplift_abs_ci.low / m_c, result.uplift_abs_ci.high / m_c)
    return MeanResult(
        **{
            **result.__dict__,
            "test_mean": float(np.asarray(test, dtype=float).mean()),
            "holdout_mean": m_c,
            "uplift_rel": rel,
            "uplift_rel_ci": rel_ci,
            "variance_reduction": reduction,
        }
    )


@dataclass(frozen=True)
class SampleRatio:
    """Sample-ratio-mismatch check: the observed split against the planned holdout share."""

    test_n: int
    holdout_n: int
    expected_holdout_share: float
    p_value: float

    @property
    def mismatch(self) -> bool:
        return self.p_value < SRM_THRESHOLD


def sample_ratio_check(test_n: int, holdout_n: int, holdout_bps: int) -> SampleRatio:
    """Pearson's chi-square (scipy) of the arm sizes against the planned split."""
    total = test_n + holdout_n
    share = holdout_bps / BPS
    if total == 0:
        return SampleRatio(test_n, holdout_n, share, 1.0)
    expected = [total * (1 - share), total * share]
    p = float(stats.chisquare([test_n, holdout_n], f_exp=expected).pvalue)
    return SampleRatio(test_n, holdout_n, share, p)


# -------------------------------------------------------------------------------------------------
# Power before the start
# -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PowerPlan:
    """What a campaign of this size can detect: minimum detectable effect at 80% power, alpha 5%."""

    test_n: int
    holdout_n: int
    baseline_rate: float
    mde_abs: float  # smallest absolute conversion uplift detected with the given power
    power_at_mde: float


def conversion_power_plan(test_n: int, holdout_n: int, baseline_rate: float, power: float = 0.8) -> PowerPlan:
    """MDE by Cohen's h with statsmodels' normal power: h solved for the sizes, mapped back to a rate."""
    if test_n < 2 or holdout_n < 2:
        raise ValueError("each arm needs at least two customers")
    if not 0 < baseline_rate < 1:
        raise ValueError("the baseline conversion rate is in (0, 1)")
    analysis = NormalIndPower()
    h = float(analysis.solve_power(nobs1=test_n, ratio=holdout_n / test_n, alpha=ALPHA, power=power))
    target = math.sin(min(math.pi / 2, math.asin(math.sqrt(baseline_rate)) + h / 2)) ** 2
    achieved = float(
        analysis.power(
            effect_size=proportion_effectsize(target, baseline_rate),
            nobs1=test_n,
            ratio=holdout_n / test_n,
            alpha=ALPHA,
        )
    )
    return PowerPlan(test_n, holdout_n, baseline_rate, target - baseline_rate, achieved)


def conversion_power(test_n: int, holdout_n: int, baseline_rate: float, uplift_abs: float) -> float:
    """Probability of detecting an absolute uplift with these arm sizes (two-sided, alpha 5%)."""
    h = proportion_effectsize(baseline_rate + uplift_abs, baseline_rate)
    return float(NormalIndPower().power(effect_size=h, nobs1=test_n, ratio=holdout_n / test_n, alpha=ALPHA))


def mean_mde(test_n: int, holdout_n: int, std: float, power: float = 0.8) -> float:
    """Smallest difference of means (in the metric's unit) detected with `power`: Cohen's d solved by
    statsmodels' normal power for these sizes, times the metric's standard deviation."""
    if test_n < 2 or holdout_n < 2:
        raise ValueError("each arm needs at least two customers")
    if not std > 0:
        raise ValueError("the metric's standard deviation must be positive")
    d = float(NormalIndPower().solve_power(nobs1=test_n, ratio=holdout_n / test_n, alpha=ALPHA, power=power))
    return d * std
