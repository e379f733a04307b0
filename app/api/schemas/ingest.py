"""Ingestion: purchases, refunds and interest events as stored and answered, the rows a bulk upload carries, voids."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from app import ingestion
from app.api.schemas import DECIMAL_INPUT, ChainAddress, DecimalInt, Timestamp
from app.api.schemas.coupons import CouponPublic
from app.models.purchases import DEFAULT_CURRENCY, InterestKind
from app.services import voids


class PurchaseItemPublic(BaseModel):
    item_id: str
    category: str | None
    style: str | None
    quantity: DecimalInt
    unit_price: DecimalInt


class PurchasePublic(BaseModel):
    id: int
    customer: ChainAddress
    brand_id: int
    external_id: str
    purchased_at: Timestamp
    amount: DecimalInt = Field(description="Integer won")
    currency: str
    items: list[PurchaseItemPublic]
    created_at: Timestamp
    duplicate: bool
    coupon_code: str | None = None
    coupon: CouponPublic | None = Field(default=None, description="What became of the coupon code, if one was given")


class InterestEventPublic(BaseModel):
    id: int
    customer: ChainAddress
    brand_id: int
    external_id: str
    kind: str
    item_id: str | None
    category: str | None
    style: str | None
    occurred_at: Timestamp
    created_at: Timestamp
    duplicate: bool


# -- the rows' request schemas: documentation of what app/ingestion/parse.py checks per line -------------

Text = Annotated[str, Field(min_length=1, max_length=ingestion.MAX_TEXT)]
Wide = Annotated[int | str, WithJsonSchema(DECIMAL_INPUT)]
BrandRef = Annotated[
    int | str, Field(description="The brand's id or its 0x address (the brand is registered beforehand)")
]


class PurchaseItemRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: Text
    category: Text | None = None
    style: Text | None = None
    quantity: Wide = Field(default=1, description="At least 1")
    unit_price: Wide = Field(description="Integer won")


class PurchaseRow(BaseModel):
    """One purchase, as one JSON line of a bulk upload."""

    model_config = ConfigDict(extra="forbid")

    customer: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
    brand: BrandRef
    external_id: Text | int = Field(description="The brand's own order id; the same id again is a duplicate")
    purchased_at: datetime = Field(description="RFC 3339 with its zone, not in the future")
    amount: Wide = Field(description="Integer won")
    currency: str = Field(default=DEFAULT_CURRENCY, description=f"Only {DEFAULT_CURRENCY}")
    items: list[PurchaseItemRow] = Field(default_factory=list, max_length=ingestion.MAX_ITEMS)
    coupon_code: str | None = Field(
        default=None, max_length=ingestion.MAX_COUPON_CODE, description="A coupon offer's code, if used"
    )


class EventRow(BaseModel):
    """One interest event, as one JSON line of a bulk upload (names an item_id, a category or a style)."""

    model_config = ConfigDict(extra="forbid")

    customer: Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$")]
    brand: BrandRef
    external_id: Text | int
    kind: InterestKind
    item_id: Text | None = None
    category: Text | None = None
    style: Text | None = None
    occurred_at: datetime = Field(description="RFC 3339 with its zone, not in the future")


class RefundRow(BaseModel):
    """One refund of (part of) a purchase, as one JSON line of a bulk upload."""

    model_config = ConfigDict(extra="forbid")

    brand: BrandRef
    external_id: Text | int = Field(description="The brand's own refund id; the same id again is a duplicate")
    purchase_external_id: Text | int = Field(description="The external_id of the purchase returned, at that brand")
    refunded_at: datetime = Field(description="RFC 3339 with its zone, not in the future, not before the purchase")
    amount: Wide = Field(description="Integer won given back, at least 1, at most what is left of the purchase")


class RefundPublic(BaseModel):
    id: int
    purchase_id: int
    purchase_external_id: str
    customer: ChainAddress
    brand_id: int
    external_id: str
    refunded_at: Timestamp
    amount: DecimalInt = Field(description="Integer won")
    created_at: Timestamp
    duplicate: bool


class PurchaseVoidCreate(BaseModel):
    reason: str = Field(min_length=3, max_length=voids.MAX_REASON, description="Why the purchase is voided")


class PurchaseVoidPublic(BaseModel):
    id: int
    purchase_id: int
    reason: str
    voided_by: str
    voided_at: Timestamp
