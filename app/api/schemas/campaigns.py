"""Campaign request and response models: the draft, its plan, its on-chain commitment and reveal, its results."""

from __future__ import annotations

import json
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from app.api.schemas import DecimalInt, Timestamp
from app.models.crm import Campaign, CampaignStatus
from app.services import campaigns as service

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-f]{64}$", description="32 bytes as 0x-hex")]


class CampaignCreate(BaseModel):
    """A campaign: an offer to a rule's audience, measured against a holdout committed on chain."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(min_length=1, max_length=200)
    offer_id: StrictInt = Field(ge=1, le=2**63 - 1, description="One of the brand's offers: what the test arm gets")
    rule_id: StrictInt = Field(ge=1, le=2**63 - 1, description="One of the brand's rules: whom (its trigger is unused)")
    holdout_share: StrictFloat | StrictInt = Field(
        description="Share held out, in (0, 0.5]; stored in basis points", allow_inf_nan=False
    )
    metric: StrictStr = Field(description="Primary metric: `conversion` (a purchase within N days) or `spend`")
    conversion_days: StrictInt = Field(
        default=14, description="N of the conversion metric, 1..366 (inside the campaign)"
    )
    guardrails: list[StrictStr] = Field(
        default_factory=list, max_length=2, description="Other metrics that must not drop"
    )
    starts_at: AwareDatetime = Field(description="In the future: the commitment goes on chain before it")
    ends_at: AwareDatetime = Field(description="After the start; the salt and results are revealed after it")

    def domain(self) -> service.CampaignDraft:
        return service.CampaignDraft(
            name=self.name,
            offer_id=self.offer_id,
            rule_id=self.rule_id,
            holdout_share=float(self.holdout_share),
            metric=self.metric,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            conversion_days=self.conversion_days,
            guardrails=tuple(self.guardrails),
        )


class ArmsPublic(BaseModel):
    test: int
    holdout: int


class CampaignPublic(BaseModel):
    """A campaign as its brand sees it; the salt only once revealed (before, it would let anyone re-draw arms)."""

    id: int
    name: str
    offer_id: int
    rule_id: int
    holdout_bps: int = Field(description="Share held out, basis points of 10,000")
    metric: str
    conversion_days: int
    guardrails: list[str]
    starts_at: Timestamp
    ends_at: Timestamp
    status: CampaignStatus
    campaign_key: Hex32 = Field(description="The campaign's id on CampaignRegistry")
    params_hash: Hex32 = Field(description="keccak256 of the canonical JSON of the parameters")
    commitment: Hex32 = Field(description="keccak256(abi.encode(params_hash, salt)), on chain before the start")
    commit_tx: str | None
    reveal_tx: str | None
    salt: Hex32 | None = Field(description="Revealed with the results; null before")
    results_hash: Hex32 | None
    members: ArmsPublic | None = Field(description="Members per arm, fixed at the start")
    created_at: Timestamp

    @classmethod
    def of(cls, campaign: Campaign, arms: service.Arms | None) -> CampaignPublic:
        revealed = campaign.status == CampaignStatus.REVEALED
        return cls.model_validate(
            {
                **campaign.model_dump(),
                "guardrails": json.loads(campaign.guardrails),
                "salt": campaign.salt if revealed else None,
                "results_hash": campaign.results_hash if revealed else None,
                "members": None if arms is None else ArmsPublic(test=arms.test, holdout=arms.holdout),
            }
        )


class PlanPublic(BaseModel):
    """What the campaign can detect with its audience now: minimum detectable effect at 80% power, alpha 5%."""

    audience: int = Field(description="Customers the rule reaches now (under consent)")
    test_n: int
    holdout_n: int
    metric: str
    baseline: float = Field(description="Conversion rate, or spend per customer in won, over the recent past")
    baseline_assumed: bool = Field(description="True when there was no history: a 5% conversion is assumed")
    mde_abs: float | None = Field(description="Smallest absolute uplift detected with 80% power; null: too few")
    mde_rel: float | None = Field(description="The same relative to the baseline")
    power: float
    access_cost: DecimalInt = Field(description="Recording the test arm's data access at today's prices, CASH units")


class CampaignCreated(BaseModel):
    campaign: CampaignPublic
    plan: PlanPublic


class IntervalPublic(BaseModel):
    low: float | None
    high: float | None


class ConversionPublic(BaseModel):
    test_hits: int
    holdout_hits: int
    test_rate: float | None
    holdout_rate: float | None
    uplift_abs: float | None
    uplift_abs_ci: IntervalPublic | None
    uplift_rel: float | None
    uplift_rel_ci: IntervalPublic | None
    z: float | None
    p_value: float | None
    significant: bool


class MeanPublic(BaseModel):
    test_mean: float | None
    holdout_mean: float | None
    uplift_abs: float | None
    uplift_abs_ci: IntervalPublic | None
    uplift_rel: float | None
    uplift_rel_ci: IntervalPublic | None
    t: float | None
    df: float | None
    p_value: float | None
    significant: bool
    variance_reduction: float | None


class SampleRatioPublic(BaseModel):
    expected_holdout_share: float
    p_value: float | None
    mismatch: bool = Field(description="p < 0.001: the split is not the committed one")


class GuardrailPublic(BaseModel):
    metric: str
    uplift_abs: float | None
    low: float | None
    high: float | None
    p_value: float | None
    harmed: bool = Field(description="The test arm is significantly worse (the 95% CI lies below 0)")


class ResultsPublic(BaseModel):
    """The results document whose keccak256 is revealed on chain (`results_hash`)."""

    campaign: Hex32
    primary: str
    evaluated_at: Timestamp
    purchases_through: int = Field(description="The evaluation read purchases up to this id (and voids up to the next)")
    voids_through: int
    members: ArmsPublic
    conversion: ConversionPublic
    spend: MeanPublic
    spend_cuped: MeanPublic = Field(description="Spend adjusted by CUPED with pre-period spend")
    sample_ratio: SampleRatioPublic
    guardrails: list[GuardrailPublic]


class CampaignResults(BaseModel):
    campaign: CampaignPublic
    results: ResultsPublic
    results_hash: Hex32
    revealed: bool = Field(description="True once salt and results hash are on chain")


class DeliveredPublic(BaseModel):
    delivered: int
    not_covered: int = Field(description="Test members the offer could not reach now (consent, price, budget)")
    already: int
    cost: DecimalInt
    access_request_id: str | None


class CampaignStarted(BaseModel):
    campaign: CampaignPublic
    delivery: DeliveredPublic | None


class CampaignTickPublic(BaseModel):
    started: list[int]
    revealed: list[int]
    failed: dict[str, str] = Field(description="Campaign id → why it could not move on")


class CampaignAudit(BaseModel):
    """One campaign on chain as an auditor sees it, and whether it verifies."""

    campaign_key: Hex32
    brand: str
    holdout_bps: int
    starts_at: Timestamp
    ends_at: Timestamp
    committed_at: Timestamp
    commit_block: int
    commit_tx: str
    revealed_at: Timestamp | None
    reveal_tx: str | None
    params_hash: Hex32 | None
    salt: Hex32 | None
    results_hash: Hex32 | None
    members: int | None
    verified: bool | None = Field(description="Null until revealed; then whether every check holds")
    problems: list[str]


def plan_public(plan: service.Plan) -> PlanPublic:
    return PlanPublic.model_validate(plan, from_attributes=True)
