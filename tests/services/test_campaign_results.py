"""The results document a campaign reveals: guardrails harmed only when significantly worse; canonical and finite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np

from app.analytics import experiments as ex
from app.analytics.campaigns import CampaignResult
from app.models.crm import Campaign
from app.services.campaign_params import canonical_json
from app.services.campaign_results import Cutoff, results_document

START = datetime(2026, 5, 1, tzinfo=UTC)


def _campaign(**changes: object) -> Campaign:
    fields: dict[str, object] = {
        "brand_id": 1, "offer_id": 1, "rule_id": 1, "name": "c", "holdout_bps": 2_000, "metric": "conversion",
        "conversion_days": 7, "guardrails": json.dumps(["spend"]), "starts_at": START,
        "ends_at": START + timedelta(days=14), "campaign_key": "0x" + "01" * 32, "salt": "0x" + "02" * 32,
        "params_hash": "", "commitment": "",
    } | changes  # fmt: skip
    return Campaign(**fields)


def _result(test_spend: np.ndarray, holdout_spend: np.ndarray) -> CampaignResult:
    pre = np.zeros(len(test_spend) + len(holdout_spend))
    return CampaignResult(
        conversion=ex.conversion_test(40, 400, 10, 100),
        spend=ex.welch_test(test_spend, holdout_spend),
        spend_cuped=ex.cuped_test(test_spend, holdout_spend, pre[: len(test_spend)], pre[len(test_spend) :]),
        sample_ratio=ex.sample_ratio_check(400, 100, 2_000),
    )


def test_a_guardrail_is_harmed_only_when_significantly_worse() -> None:
    rng = np.random.default_rng(1)
    worse = _result(rng.normal(900, 50, 400), rng.normal(1_000, 50, 100))
    level = _result(rng.normal(1_000, 50, 400), rng.normal(1_000, 50, 100))
    at = datetime(2026, 6, 1, tzinfo=UTC)
    (harmed,) = results_document(_campaign(), worse, Cutoff(9, 0), at)["guardrails"]
    (held,) = results_document(_campaign(), level, Cutoff(9, 0), at)["guardrails"]
    assert harmed["metric"] == "spend" and harmed["harmed"] and harmed["high"] < 0
    assert not held["harmed"] and held["low"] < 0 < held["high"]


def test_the_document_is_canonical_json_without_non_finite_numbers() -> None:
    flat = _result(np.full(400, 5.0), np.full(100, 5.0))  # no variance: nothing to test
    document = results_document(_campaign(guardrails="[]"), flat, Cutoff(3, 1), datetime(2026, 6, 1, tzinfo=UTC))
    text = canonical_json(document)
    assert json.loads(text) == document and b" " not in text
    assert document["spend"]["uplift_rel_ci"] is not None and document["purchases_through"] == 3
    assert document["evaluated_at"] == "2026-06-01T00:00:00.000000Z"
