"""Signed requests: typed data to sign, the signature sent back, what was relayed, a brand's access limits."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import DecimalInt, Hash32, Merged, Timestamp, TypedDataDocument
from app.models.signed import SignedRequest
from app.models.types import Signature
from app.services.signed_requests import Prepared

Units = Annotated[DecimalInt, Field(lt=2**96)]
"""CASH smallest units as a uint96: a decimal string in JSON (a JSON integer is read too)."""


class SignedTypedData(BaseModel):
    request_id: str = Field(description="Send it back with the signature")
    nonce: DecimalInt
    deadline: Timestamp = Field(description="The signature is refused after it")
    typed_data: TypedDataDocument = Field(description="Sign with eth_signTypedData_v4, exactly as JSON.parse gives it")

    @classmethod
    def of(cls, prepared: Prepared) -> SignedTypedData:
        request = prepared.request
        merged = Merged(request, request_id=request.id, typed_data=prepared.typed_data)
        return cls.model_validate(merged, from_attributes=True)


class SignedSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: uuid.UUID
    signature: Signature


class SignedRelayed(BaseModel):
    request_id: str
    tx_hash: Hash32
    block_number: int

    @classmethod
    def of(cls, request: SignedRequest) -> SignedRelayed:
        merged = Merged(request_id=request.id, tx_hash=request.tx_hash or "", block_number=request.block_number or 0)
        return cls.model_validate(merged, from_attributes=True)


class AccessLimitsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowance: Units = Field(description="What the recorder may still charge the brand in all (replaces the rest)")
    max_price: Units = Field(description="The most one customer's access may cost")


class AccessLimitsPublic(BaseModel):
    allowance: Units
    max_price: Units
    changed_at: Timestamp | None
