"""Offers as the brand console sends and reads them."""

from __future__ import annotations

from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from app.api.schemas import DecimalInt, Timestamp
from app.models.crm import OfferKind
from app.services.offers import MAX_BPS, MAX_PER_CUSTOMER, OfferDraft, OfferView

Text = Annotated[StrictStr, Field(max_length=200)]


class OfferCreate(BaseModel):
    """A new offer; each kind takes its own value fields (`bps`, `bonus_units`, `coupon_code` + `discount`,
    `discount`, `body`) and no others."""

    model_config = ConfigDict(extra="forbid")

    name: Text = Field(description="Refused when blank")
    kind: OfferKind
    terms: StrictStr = Field(max_length=5_000, description="Shown to the customer; refused when blank")
    valid_from: AwareDatetime
    valid_until: AwareDatetime = Field(description="Exclusive end; after valid_from")
    budget_units: DecimalInt = Field(default=0, description="Cap on what a monetary offer pays, CASH units")
    per_customer: StrictInt = Field(default=1, ge=1, le=MAX_PER_CUSTOMER, description="Redemptions per customer")
    bps: StrictInt | None = Field(default=None, ge=1, le=MAX_BPS, description="Extra cashback (cashback_bps)")
    bonus_units: DecimalInt | None = Field(default=None, description="Fixed bonus, CASH units (fixed_bonus)")
    coupon_code: Annotated[StrictStr, Field(max_length=40)] | None = Field(default=None, description="coupon")
    discount: Text | None = Field(default=None, description="What the coupon or gift gives")
    body: Annotated[StrictStr, Field(max_length=5_000)] | None = Field(default=None, description="message / page")

    def draft(self) -> OfferDraft:
        return OfferDraft(**self.model_dump())


class OfferPublic(BaseModel):
    id: int
    brand_id: int
    name: str
    kind: str
    terms: str
    bps: int | None
    bonus_units: DecimalInt | None
    coupon_code: str | None
    discount: str | None
    body: str | None
    budget_units: DecimalInt
    per_customer: int
    valid_from: Timestamp
    valid_until: Timestamp
    ended_at: Timestamp | None
    created_at: Timestamp
    spent: DecimalInt = Field(description="Paid through the epochs so far (CASH units)")
    remaining: DecimalInt = Field(description="What the budget cap still allows")
    delivered: int = Field(description="Customers it was delivered to")
    redeemed: int = Field(description="Redemptions (coupons used, gifts handed over)")

    @classmethod
    def of(cls, view: OfferView) -> OfferPublic:
        return cls.model_validate(
            view.offer.model_dump()
            | {"spent": view.spent, "remaining": view.remaining, "delivered": view.delivered, "redeemed": view.redeemed}
        )


class OfferPage(BaseModel):
    offers: list[OfferPublic]
    total: int
    limit: int
    offset: int
