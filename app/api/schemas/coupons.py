"""A purchase's coupon code and what became of it, as ingestion answers it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.services.coupons import CouponOutcome


class CouponPublic(BaseModel):
    code: str
    redeemed: bool
    offer_id: int | None = None
    reason: str | None = Field(
        default=None, description="Why not redeemed: unknown_code, not_valid, not_delivered, used_up"
    )
    message: str | None = None

    @classmethod
    def of(cls, outcome: CouponOutcome | None) -> CouponPublic | None:
        return None if outcome is None else cls.model_validate(outcome.public() | {"offer_id": outcome.offer_id})
