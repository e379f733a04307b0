"""Signed requests: a customer invalidating its outstanding signatures, a brand's access limits for the recorder.

Amounts (CASH smallest units) are JSON strings of decimal digits (a JSON integer is accepted too).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import ChainDep, CurrentBrand, CurrentCustomer, SessionDep, SettingsDep
from app.api.schemas import DecimalInt, DocumentedRoute, Timestamp, TypedDataDocument, errors
from app.models.signed import SignedRequest
from app.models.types import Signature
from app.services import signed_requests

router = APIRouter(tags=["signatures"], route_class=DocumentedRoute, responses=errors(400, 404, 409))

Units = Annotated[DecimalInt, Field(lt=2**96)]
"""CASH smallest units as a uint96: a decimal string in JSON (a JSON integer is read too)."""


class SignedTypedData(BaseModel):
    request_id: str = Field(description="Send it back with the signature")
    nonce: DecimalInt
    deadline: Timestamp = Field(description="The signature is refused after it")
    typed_data: TypedDataDocument = Field(description="Sign with eth_signTypedData_v4, exactly as JSON.parse gives it")


class SignedSubmission(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: uuid.UUID
    signature: Signature


class SignedRelayed(BaseModel):
    request_id: str
    tx_hash: str
    block_number: int


class AccessLimitsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowance: Units = Field(description="What the recorder may still charge the brand in all (replaces the rest)")
    max_price: Units = Field(description="The most one customer's access may cost")


class AccessLimitsPublic(BaseModel):
    allowance: Units
    max_price: Units
    changed_at: Timestamp | None


def _typed(prepared: signed_requests.Prepared) -> SignedTypedData:
    r = prepared.request
    return SignedTypedData(
        request_id=r.id, nonce=r.nonce, deadline=datetime.fromtimestamp(r.deadline, UTC), typed_data=prepared.typed_data
    )


def _relayed(request: SignedRequest) -> SignedRelayed:
    return SignedRelayed(request_id=request.id, tx_hash=request.tx_hash or "", block_number=request.block_number or 0)


@router.post("/consents/invalidation/typed-data")
def create_invalidation_typed_data(
    *, customer: CurrentCustomer, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> SignedTypedData:
    """EIP-712 typed data that, once relayed, refuses every signature you made until now (customer)."""
    return _typed(signed_requests.prepare_invalidation(session, settings, chain, customer.address))


@router.post("/consents/invalidation")
def submit_invalidation(
    *, body: SignedSubmission, customer: CurrentCustomer, session: SessionDep, chain: ChainDep
) -> SignedRelayed:
    """Relays your signed invalidation: no consent change signed before it can land any more (customer)."""
    return _relayed(signed_requests.submit(session, chain, customer.address, str(body.request_id), body.signature))


@router.get("/brands/me/access-limits")
def read_access_limits(*, brand: CurrentBrand, chain: ChainDep) -> AccessLimitsPublic:
    """What the recorder may still charge the brand, and the most per customer (brand)."""
    return AccessLimitsPublic(**signed_requests.access_limits(chain, brand.address))


@router.post("/brands/me/access-limits/typed-data")
def create_access_limits_typed_data(
    *, body: AccessLimitsRequest, brand: CurrentBrand, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> SignedTypedData:
    """EIP-712 typed data of new access limits, to sign with the brand's key (brand)."""
    prepared = signed_requests.prepare_access_limits(
        session, settings, chain, brand.address, allowance=body.allowance, max_price=body.max_price
    )
    return _typed(prepared)


@router.post("/brands/me/access-limits")
def submit_access_limits(
    *, body: SignedSubmission, brand: CurrentBrand, session: SessionDep, chain: ChainDep
) -> SignedRelayed:
    """Relays the brand's signed access limits (brand)."""
    return _relayed(signed_requests.submit(session, chain, brand.address, str(body.request_id), body.signature))
