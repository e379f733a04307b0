"""The wallet's inbox: deliveries with their offer, "why am I seeing this", redemptions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.api.schemas import DecimalInt, Timestamp
from app.services.inbox import InboxItem, RedeemResult, Why
from app.services.offers import ends_at


class InboxOffer(BaseModel):
    id: int
    brand_id: int
    brand: str = Field(description="The brand's name")
    name: str
    kind: str
    description: str = Field(description="What it gives, in words")
    terms: str
    valid_from: Timestamp
    valid_until: Timestamp = Field(description="The end of its validity (earlier if the brand ended it)")
    bps: int | None
    bonus_units: DecimalInt | None
    discount: str | None
    body: str | None
    per_customer: int


class InboxItemPublic(BaseModel):
    id: int = Field(description="The delivery's id")
    offer: InboxOffer
    channel: str
    delivered_at: Timestamp
    read_at: Timestamp | None
    redeemed: int = Field(description="How often the customer redeemed this offer")
    how_to_use: str

    @classmethod
    def of(cls, item: InboxItem) -> InboxItemPublic:
        o = item.offer
        offer = InboxOffer.model_validate(
            o.model_dump() | {"brand": item.brand.name, "description": item.description, "valid_until": ends_at(o)}
        )
        d = item.delivery
        return cls(
            id=d.id,  # type: ignore[arg-type]
            offer=offer,
            channel=d.channel,
            delivered_at=d.delivered_at,
            read_at=d.read_at,
            redeemed=item.redeemed,
            how_to_use=item.how_to_use,
        )


class ConsentUsedPublic(BaseModel):
    receipt_id: str | None = Field(description="The consent receipt (GET /consents/{receipt_id})")
    purpose: str
    categories: list[str] = Field(description="The data categories the targeting read")
    receipt_hash: str | None


class WhyPublic(BaseModel):
    trigger: str | None = Field(description="behaviour, cart_abandoned, date_window, or a campaign")
    event: str | None
    source: str = Field(description="rule:<id> or campaign:<id>")
    reads_data: bool = Field(description="False: an offer to every customer of the brand, no data read")
    consent: ConsentUsedPublic | None
    data_used: dict[str, Any] = Field(description="The values the targeting used")

    @classmethod
    def of(cls, why: Why) -> WhyPublic:
        consent = ConsentUsedPublic.model_validate(why.consent, from_attributes=True) if why.consent else None
        return cls(
            trigger=why.trigger,
            event=why.event,
            source=why.source,
            reads_data=why.reads_data,
            consent=consent,
            data_used=why.data_used,
        )


class InboxItemDetail(InboxItemPublic):
    why: WhyPublic


class InboxPage(BaseModel):
    items: list[InboxItemPublic]
    total: int
    unread: int
    limit: int
    offset: int


class RedeemPublic(BaseModel):
    item: InboxItemPublic
    redemption_id: int | None = Field(description="The gift's redemption")
    code: str | None = Field(description="A coupon's code to show at the till")
    message: str

    @classmethod
    def of(cls, result: RedeemResult) -> RedeemPublic:
        return cls(
            item=InboxItemPublic.of(result.item),
            redemption_id=result.redemption.id if result.redemption else None,
            code=result.code,
            message=result.message,
        )
