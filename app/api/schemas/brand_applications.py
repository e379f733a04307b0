"""Brand self-service: applications signed with the brand's wallet, their decisions, the price floor, spending."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.api.schemas import Amount, ChainAddress, Timestamp
from app.models.types import Signature


class ApplicationCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="The brand's name as customers will see it")
    message: str = Field(max_length=2000, description="The SIWE message from POST /auth/siwe/nonce")
    signature: Signature


class ApplicationToken(BaseModel):
    token: str = Field(min_length=1, max_length=200, description="The status token the sign-up returned")


class KeyCollect(ApplicationToken):
    label: str = Field(default="console", max_length=100)


class ApplicationRefusal(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="Why, for the applicant to read")


class ApplicationPublic(BaseModel):
    id: int
    name: str
    address: ChainAddress
    status: str = Field(description="pending, approved or refused")
    reason: str = Field(description="Why it was refused (empty otherwise)")
    brand_id: int | None
    key_collected: bool
    created_at: Timestamp
    decided_at: Timestamp | None


class ApplicationCreated(BaseModel):
    application: ApplicationPublic
    token: str = Field(description="Shown once: the applicant's token to read its status and collect its key")


class PriceFloorSet(BaseModel):
    floor: Amount = Field(description="The least price per access the brand accepts, CASH smallest units (uint96)")


class PriceFloorPublic(BaseModel):
    floor: Amount
    updated_at: Timestamp


class SpendingPublic(BaseModel):
    deposited: Amount
    access_spending: Amount
    offer_spending: Amount
    remaining: Amount
    indexed_block: int | None
