"""Signed requests: a customer invalidating its outstanding signatures, a brand's access limits for the recorder.

Amounts (CASH smallest units) are JSON strings of decimal digits (a JSON integer is accepted too).
"""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ChainDep, CurrentBrand, CurrentCustomer, SessionDep, SettingsDep
from app.api.schemas import DocumentedRoute, errors
from app.api.schemas.signed import (
    AccessLimitsPublic,
    AccessLimitsRequest,
    SignedRelayed,
    SignedSubmission,
    SignedTypedData,
)
from app.services import signed_requests

router = APIRouter(tags=["signatures"], route_class=DocumentedRoute, responses=errors(400, 404, 409))


@router.post("/consents/invalidation/typed-data")
def create_invalidation_typed_data(
    *, customer: CurrentCustomer, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> SignedTypedData:
    """EIP-712 typed data that, once relayed, refuses every signature you made until now (customer)."""
    return SignedTypedData.of(signed_requests.prepare_invalidation(session, settings, chain, customer.address))


@router.post("/consents/invalidation")
def submit_invalidation(
    *, body: SignedSubmission, customer: CurrentCustomer, session: SessionDep, chain: ChainDep
) -> SignedRelayed:
    """Relays your signed invalidation: no consent change signed before it can land any more (customer)."""
    return SignedRelayed.of(
        signed_requests.submit(session, chain, customer.address, str(body.request_id), body.signature)
    )


@router.get("/brands/me/access-limits")
def read_access_limits(*, brand: CurrentBrand, chain: ChainDep) -> AccessLimitsPublic:
    """What the recorder may still charge the brand, and the most per customer (brand)."""
    return AccessLimitsPublic.model_validate(signed_requests.access_limits(chain, brand.address), from_attributes=True)


@router.post("/brands/me/access-limits/typed-data")
def create_access_limits_typed_data(
    *, body: AccessLimitsRequest, brand: CurrentBrand, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> SignedTypedData:
    """EIP-712 typed data of new access limits, to sign with the brand's key (brand)."""
    prepared = signed_requests.prepare_access_limits(
        session, settings, chain, brand.address, allowance=body.allowance, max_price=body.max_price
    )
    return SignedTypedData.of(prepared)


@router.post("/brands/me/access-limits")
def submit_access_limits(
    *, body: SignedSubmission, brand: CurrentBrand, session: SessionDep, chain: ChainDep
) -> SignedRelayed:
    """Relays the brand's signed access limits (brand)."""
    return SignedRelayed.of(signed_requests.submit(session, chain, brand.address, str(body.request_id), body.signature))
