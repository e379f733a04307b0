"""Business rules (whom, what, where, when) and their firing, as the brand console and the operator see them."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from app.api.schemas import DecimalInt, Id, Timestamp

Name = StrictStr


class AudienceIn(BaseModel):
    """Whom: every customer of the brand, or filters (each read with the customer's consent only)."""

    model_config = ConfigDict(extra="forbid")

    everyone: StrictBool | None = Field(default=None, description="Every customer of the brand (reads no data)")
    segment: Name | None = Field(default=None, max_length=100, description="RFM segment at the latest epoch")
    tier: Name | None = Field(default=None, max_length=100, description="Tier at the latest epoch")
    rfm: Name | None = Field(default=None, max_length=20, description='RFM cell at the latest epoch, e.g. "1,3,3"')
    category: Name | None = Field(default=None, min_length=1, max_length=100, description="Interest category")
    style: Name | None = Field(default=None, min_length=1, max_length=100, description="Style")
    min_score: StrictFloat | StrictInt | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Least interest score in `category` or `style`"
    )


class TriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: StrictStr = Field(max_length=20, description="behaviour, cart_abandoned or date_window")
    event: StrictStr | None = Field(
        default=None,
        max_length=40,
        description="Behaviour change (behaviour): tier_up, tier_down, segment_change, spend_threshold_crossed, "
        "points_threshold_crossed, high_value_gone_quiet, new_customer",
    )
    window_start: AwareDatetime | None = Field(default=None, description="date_window: from (with its zone)")
    window_end: AwareDatetime | None = Field(default=None, description="date_window: until, after window_start")


class RuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: StrictStr = Field(min_length=1, max_length=200)
    offer_id: Id
    purpose: StrictStr = Field(default="marketing", max_length=20, description="What the targeting uses data for")
    audience: AudienceIn = Field(default_factory=AudienceIn)
    channel: StrictStr = Field(default="inbox", max_length=16, description="inbox or email")
    trigger: TriggerIn
    also_reads: list[StrictStr] = Field(
        default_factory=list, max_length=8, description="Further data categories the offer uses (e.g. demographics)"
    )


class TriggerPublic(BaseModel):
    kind: str
    event: str | None
    window_start: Timestamp | None
    window_end: Timestamp | None


class RulePublic(BaseModel):
    id: int
    name: str
    offer_id: int
    purpose: str
    audience: dict[str, Any]
    categories: list[str] = Field(description="Every data category the rule reads: consent must cover them all")
    reads_data: bool = Field(description="False for every customer of the brand through the inbox: no consent used")
    channel: str
    trigger: TriggerPublic
    active: bool
    created_at: Timestamp
    deliveries: int = Field(description="Deliveries made by the rule")
    customers: int = Field(description="Distinct customers reached")


class FiredPublic(BaseModel):
    rule_id: int
    source: str = Field(description="The deliveries' source: rule:<id>, rule:<id>/epoch:<n>, rule:<id>/cart:<day>")
    delivered: int
    not_covered: int = Field(description="Selected but not covered at delivery (or skipped by the registry)")
    already: int = Field(description="Delivered before from this source")
    cost: DecimalInt = Field(description="Paid to the customers for the access, CASH units")
    error: str | None = Field(description="Why the rule could not deliver (budget, allowance, chain)")


class TickPublic(BaseModel):
    at: Timestamp
    fired: list[FiredPublic]


class CocOffer(BaseModel):
    id: int
    name: str
    kind: str


class CocCell(BaseModel):
    audience: str = Field(
        description="Whom the rules aimed at (their audience and trigger), not a grade read per customer"
    )
    offer_id: int
    offer_name: str
    channel: str
    rule_ids: list[int]
    deliveries: int
    customers: int = Field(description="Distinct customers reached")
    redemptions: int = Field(description="Redemptions of the offer by them since their first delivery here")
    conversions: int = Field(
        description="Customers reached who bought at the brand after it, within the offer's validity"
    )
    conversion_rate: float | None = Field(description="conversions / customers; None before anyone is reached")


class CocMapPublic(BaseModel):
    audiences: list[str]
    offers: list[CocOffer]
    channels: list[str]
    cells: list[CocCell]
