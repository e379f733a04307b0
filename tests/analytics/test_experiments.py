"""Campaign statistics shown right by simulation: A/A false positives, power, SRM, CUPED, exact p-values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportions_ztest
from web3 import Web3

from app.analytics import experiments as ex

SIMULATIONS = 1_000  # the issue asks for >= 400; 1,000 keeps the ±2.5-point band at 3.6 standard errors


def _addresses(n: int, seed: int = 1) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["0x" + bytes(rng.integers(0, 256, 20, dtype=np.uint8)).hex() for _ in range(n)]


# -- assignment -----------------------------------------------------------------------------------


def test_assignment_is_keccak_of_salt_and_address() -> None:
    salt = bytes(range(32))
    customer = "0x" + "ab" * 20
    expected = (
        int.from_bytes(Web3.solidity_keccak(["bytes32", "address"], [salt, Web3.to_checksum_address(customer)]), "big")
        % 10_000
    )
    assert ex.assignment_bucket(salt, customer) == expected


def test_assignment_holds_the_share_and_depends_on_the_salt() -> None:
    customers = _addresses(20_000)
    a = ex.assign(b"\x01" * 32, customers, 2_000)
    b = ex.assign(b"\x02" * 32, customers, 2_000)
    share = sum(a.values()) / len(a)
    assert abs(share - 0.2) < 0.015
    assert a == ex.assign(b"\x01" * 32, reversed(customers), 2_000)  # order-free, fixed by the salt
    assert a != b


@pytest.mark.parametrize("bps", [0, -1, 5_001, 10_000])
def test_assign_refuses_a_holdout_outside_half(bps: int) -> None:
    with pytest.raises(ValueError, match="holdout share"):
        ex.assign(b"\x00" * 32, ["0x" + "00" * 20], bps)


# -- exact p-values -------------------------------------------------------------------------------


def test_conversion_p_value_equals_statsmodels_and_the_closed_form() -> None:
    result = ex.conversion_test(1_234, 10_000, 1_100, 10_000)
    _, sm_p = proportions_ztest([1_234, 1_100], [10_000, 10_000])
    pooled = (1_234 + 1_100) / 20_000
    z = (0.1234 - 0.11) / math.sqrt(pooled * (1 - pooled) * (2 / 10_000))
    assert result.p_value == pytest.approx(sm_p, abs=1e-9)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), abs=1e-9)
    assert result.uplift_abs_ci.low < result.uplift_abs < result.uplift_abs_ci.high


def test_welch_p_value_equals_the_closed_form() -> None:
    rng = np.random.default_rng(7)
    t_arm, c_arm = rng.gamma(2.0, 30_000, 3_000), rng.gamma(2.0, 28_000, 1_000)
    result = ex.welch_test(t_arm, c_arm)
    v_t, v_c = t_arm.var(ddof=1) / len(t_arm), c_arm.var(ddof=1) / len(c_arm)
    t = (t_arm.mean() - c_arm.mean()) / math.sqrt(v_t + v_c)
    df = (v_t + v_c) ** 2 / (v_t**2 / (len(t_arm) - 1) + v_c**2 / (len(c_arm) - 1))
    assert result.df == pytest.approx(df, rel=1e-12)
    assert result.p_value == pytest.approx(2 * stats.t.sf(abs(t), df), abs=1e-9)
    half = stats.t.ppf(0.975, df) * math.sqrt(v_t + v_c)
    assert result.uplift_abs_ci.low == pytest.approx(t_arm.mean() - c_arm.mean() - half, rel=1e-9)


# -- simulations ----------------------------------------------------------------------------------


def test_aa_conversion_false_positive_rate_is_five_percent() -> None:
    rng = np.random.default_rng(2026)
    n = 5_000
    hits_t, hits_c = rng.binomial(n, 0.1, SIMULATIONS), rng.binomial(n, 0.1, SIMULATIONS)
    positives = sum(ex.conversion_test(int(a), n, int(b), n).significant for a, b in zip(hits_t, hits_c, strict=True))
    assert 0.025 <= positives / SIMULATIONS <= 0.075


def test_aa_spend_false_positive_rate_is_five_percent_also_with_cuped() -> None:
    rng = np.random.default_rng(11)
    raw = cuped = 0
    for _ in range(SIMULATIONS):
        pre = rng.gamma(2.0, 20_000, 1_600)
        spend = 0.6 * pre + rng.gamma(2.0, 8_000, 1_600)
        raw += ex.welch_test(spend[:1_200], spend[1_200:]).significant
        cuped += ex.cuped_test(spend[:1_200], spend[1_200:], pre[:1_200], pre[1_200:]).significant
    assert 0.025 <= raw / SIMULATIONS <= 0.075
    assert 0.025 <= cuped / SIMULATIONS <= 0.075


def test_a_three_point_uplift_on_20000_per_arm_is_detected() -> None:
    rng = np.random.default_rng(3)
    n = 20_000
    hits_t, hits_c = rng.binomial(n, 0.13, SIMULATIONS), rng.binomial(n, 0.10, SIMULATIONS)
    detected = [ex.conversion_test(int(a), n, int(b), n) for a, b in zip(hits_t, hits_c, strict=True)]
    assert sum(r.significant and r.uplift_abs > 0 for r in detected) / SIMULATIONS >= 0.75
    # The CI covers the true +3 points about 95% of the time.
    covered = sum(r.uplift_abs_ci.low <= 0.03 <= r.uplift_abs_ci.high for r in detected) / SIMULATIONS
    assert 0.925 <= covered <= 0.975


def test_power_plan_matches_simulated_power_at_its_mde() -> None:
    plan = ex.conversion_power_plan(4_000, 1_000, 0.08)
    rng = np.random.default_rng(5)
    hits_t = rng.binomial(4_000, 0.08 + plan.mde_abs, SIMULATIONS)
    hits_c = rng.binomial(1_000, 0.08, SIMULATIONS)
    found = sum(
        ex.conversion_test(int(a), 4_000, int(b), 1_000).significant for a, b in zip(hits_t, hits_c, strict=True)
    )
    assert plan.power_at_mde == pytest.approx(0.8, abs=0.01)
    assert abs(found / SIMULATIONS - 0.8) <= 0.07
    assert ex.conversion_power(4_000, 1_000, 0.08, plan.mde_abs) == pytest.approx(0.8, abs=0.01)


def test_cuped_reduces_variance_without_bias() -> None:
    rng = np.random.default_rng(9)
    pre = rng.gamma(2.0, 20_000, 10_000)
    spend = 0.8 * pre + rng.normal(0, 5_000, 10_000)
    spend[:5_000] += 1_000  # the true effect
    raw = ex.welch_test(spend[:5_000], spend[5_000:])
    adjusted = ex.cuped_test(spend[:5_000], spend[5_000:], pre[:5_000], pre[5_000:])
    assert adjusted.variance_reduction > 0.8
    width = adjusted.uplift_abs_ci.high - adjusted.uplift_abs_ci.low
    assert width < 0.5 * (raw.uplift_abs_ci.high - raw.uplift_abs_ci.low)
    assert adjusted.uplift_abs_ci.low <= 1_000 <= adjusted.uplift_abs_ci.high


def test_sample_ratio_mismatch_flags_a_tampered_split() -> None:
    customers = _addresses(20_000, seed=4)
    holdout = ex.assign(b"\x07" * 32, customers, 1_000)
    n_h = sum(holdout.values())
    honest = ex.sample_ratio_check(len(customers) - n_h, n_h, 1_000)
    assert not honest.mismatch
    # Someone quietly moves a quarter of the holdout's customers into the test group.
    moved = n_h // 4
    tampered = ex.sample_ratio_check(len(customers) - n_h + moved, n_h - moved, 1_000)
    assert tampered.mismatch


def test_honest_splits_rarely_raise_a_sample_ratio_alarm() -> None:
    rng = np.random.default_rng(12)
    holdouts = rng.binomial(10_000, 0.2, SIMULATIONS)
    alarms = sum(ex.sample_ratio_check(10_000 - int(h), int(h), 2_000).mismatch for h in holdouts)
    assert alarms <= 3  # the threshold is 0.1%


@pytest.mark.parametrize(
    ("hits_t", "n_t", "hits_c", "n_c"), [(1, 0, 0, 10), (11, 10, 0, 10), (-1, 10, 0, 10), (0, 10, 0, -3)]
)
def test_conversion_test_refuses_impossible_counts(hits_t: int, n_t: int, hits_c: int, n_c: int) -> None:
    with pytest.raises(ValueError):
        ex.conversion_test(hits_t, n_t, hits_c, n_c)
