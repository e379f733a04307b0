"""A brand's webhook endpoint as the console sets and reads it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr

from app.api.schemas import Timestamp


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: StrictStr = Field(min_length=1, max_length=2000, description="Where offer.delivered / offer.redeemed go")
    rotate_secret: StrictBool = Field(default=False, description="Issue a new signing secret")


class WebhookPublic(BaseModel):
    url: str
    created_at: Timestamp
    secret: str | None = Field(
        default=None, description="The HMAC-SHA256 signing secret: shown only when created or rotated"
    )
    pending: int = Field(default=0, description="Events waiting to be taken")
    failed: int = Field(default=0, description="Events given up on")
