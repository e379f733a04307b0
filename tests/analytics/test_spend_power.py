"""The spend plan's minimum detectable effect is detected about 80% of the time at its size (simulation)."""

from __future__ import annotations

import numpy as np
import pytest

from app.analytics import experiments as ex

SIMULATIONS = 1_000


def test_spend_mde_is_detected_with_eighty_percent_power() -> None:
    mde = ex.mean_mde(800, 400, 10_000.0)
    rng = np.random.default_rng(21)
    found = 0
    for _ in range(SIMULATIONS):
        test = rng.normal(50_000 + mde, 10_000, 800)
        holdout = rng.normal(50_000, 10_000, 400)
        found += ex.welch_test(test, holdout).significant
    assert abs(found / SIMULATIONS - 0.8) <= 0.05
    # The effect size is standardised: the MDE scales with the spread of the spend.
    assert ex.mean_mde(800, 400, 5_000.0) == pytest.approx(mde / 2)


@pytest.mark.parametrize(("n_t", "n_c", "std"), [(1, 10, 1.0), (10, 1, 1.0), (10, 10, 0.0)])
def test_spend_mde_refuses_what_has_no_answer(n_t: int, n_c: int, std: float) -> None:
    with pytest.raises(ValueError):
        ex.mean_mde(n_t, n_c, std)
