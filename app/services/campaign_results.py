"""A campaign's results as committed: the document the brand is shown and whose hash is revealed on chain."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.analytics import experiments as ex
from app.analytics.campaigns import CampaignResult, Window, evaluate
from app.analytics.store import analytics
from app.config import Settings
from app.models.crm import Campaign, CampaignMember, CampaignMetric
from app.models.purchases import Purchase, PurchaseVoid

MEMBER_COLUMNS = ["customer_id", "holdout"]


def _num(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _interval(ci: ex.Interval | None) -> dict[str, float | None] | None:
    return None if ci is None else {"low": _num(ci.low), "high": _num(ci.high)}


def _mean(result: ex.MeanResult) -> dict[str, Any]:
    return {
        "test_mean": _num(result.test_mean),
        "holdout_mean": _num(result.holdout_mean),
        "uplift_abs": _num(result.uplift_abs),
        "uplift_abs_ci": _interval(result.uplift_abs_ci),
        "uplift_rel": _num(result.uplift_rel),
        "uplift_rel_ci": _interval(result.uplift_rel_ci),
        "t": _num(result.t),
        "df": _num(result.df),
        "p_value": _num(result.p_value),
        "significant": result.significant,
        "variance_reduction": _num(result.variance_reduction),
    }


@dataclass(frozen=True)
class Cutoff:
    """Which records an evaluation read: purchases and voids up to these ids (later ones came after it)."""

    purchases_through: int
    voids_through: int


def results_document(
    campaign: Campaign, result: CampaignResult, cutoff: Cutoff, evaluated_at: datetime
) -> dict[str, Any]:
    """The results the brand is shown and whose hash is revealed on chain (re-derived by the audit)."""
    c = result.conversion
    guardrails = []
    for name in json.loads(campaign.guardrails):
        m: ex.ConversionResult | ex.MeanResult = c if name == CampaignMetric.CONVERSION else result.spend
        guardrails.append(
            {
                "metric": name,
                "uplift_abs": _num(m.uplift_abs),
                "low": _num(m.uplift_abs_ci.low),
                "high": _num(m.uplift_abs_ci.high),
                "p_value": _num(m.p_value),
                "harmed": bool(m.uplift_abs_ci.high < 0),  # significantly worse: the whole CI below zero
            }
        )
    return {
        "campaign": campaign.campaign_key,
        "primary": campaign.metric,
        "evaluated_at": clock.as_utc(evaluated_at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "purchases_through": cutoff.purchases_through,
        "voids_through": cutoff.voids_through,
        "members": {"test": c.test_n, "holdout": c.holdout_n},
        "conversion": {
            "test_hits": c.test_hits,
            "holdout_hits": c.holdout_hits,
            "test_rate": _num(c.test_rate),
            "holdout_rate": _num(c.holdout_rate),
            "uplift_abs": _num(c.uplift_abs),
            "uplift_abs_ci": _interval(c.uplift_abs_ci),
            "uplift_rel": _num(c.uplift_rel),
            "uplift_rel_ci": _interval(c.uplift_rel_ci),
            "z": _num(c.z),
            "p_value": _num(c.p_value),
            "significant": c.significant,
        },
        "spend": _mean(result.spend),
        "spend_cuped": _mean(result.spend_cuped),
        "sample_ratio": {
            "expected_holdout_share": result.sample_ratio.expected_holdout_share,
            "p_value": _num(result.sample_ratio.p_value),
            "mismatch": result.sample_ratio.mismatch,
        },
        "guardrails": guardrails,
    }


def window_of(campaign: Campaign) -> Window:
    return Window(
        brand_id=campaign.brand_id,
        starts_at=clock.as_utc(campaign.starts_at),
        ends_at=clock.as_utc(campaign.ends_at),
        conversion_days=campaign.conversion_days,
        holdout_bps=campaign.holdout_bps,
    )


def results_of(campaign: Campaign) -> dict[str, Any] | None:
    return json.loads(campaign.results) if campaign.results else None


def cutoff_now(session: Session) -> Cutoff:
    return Cutoff(
        int(session.exec(select(func.max(Purchase.id))).one() or 0),
        int(session.exec(select(func.max(PurchaseVoid.id))).one() or 0),
    )


def evaluate_campaign(session: Session, settings: Settings, campaign: Campaign) -> dict[str, Any]:
    """The results document from the purchases recorded so far (voided ones left out)."""
    cutoff = cutoff_now(session)
    evaluated_at = clock.utcnow()
    members = pd.DataFrame(
        session.exec(
            select(CampaignMember.customer_id, CampaignMember.holdout)
            .where(CampaignMember.campaign_id == campaign.id)
            .order_by(col(CampaignMember.customer_id))
        ).all(),
        columns=MEMBER_COLUMNS,
    ).astype({"customer_id": "int64", "holdout": "bool"})
    with analytics(settings) as con:
        con.register("campaign_members_df", members)
        con.execute(
            "CREATE TEMP VIEW campaign_purchases AS SELECT p.customer_id, p.brand_id, p.purchased_at, p.amount "
            f"FROM store.purchases p WHERE p.brand_id = {int(campaign.brand_id)} "
            f"AND p.id <= {cutoff.purchases_through} AND NOT EXISTS (SELECT 1 FROM store.purchase_voids v "
            f"WHERE v.purchase_id = p.id AND v.id <= {cutoff.voids_through})"
        )
        result = evaluate(con, "campaign_purchases", "campaign_members_df", window_of(campaign))
    return results_document(campaign, result, cutoff, evaluated_at)
