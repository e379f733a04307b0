"""Brand accounts: registration and API keys (operator), the brand's own account (brand)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.api.deps import ChainDep, CurrentBrand, FreshMirrorDep, OperatorDep, SessionDep
from app.api.schemas import DocumentedRoute, Id, Merged, errors
from app.api.schemas.brand_applications import PriceFloorPublic, PriceFloorSet, SpendingPublic
from app.api.schemas.brands import ApiKeyCreate, ApiKeyCreated, ApiKeyPublic, BrandCreate, BrandPublic
from app.services import auth, brand_account, brand_floor, brands

router = APIRouter(prefix="/brands", tags=["brands"], route_class=DocumentedRoute, responses=errors(404, 409))

BrandId = Annotated[Id, Path(description="The brand's id")]


@router.post("", status_code=201)
def create_brand(*, body: BrandCreate, session: SessionDep, chain: ChainDep, _: OperatorDep) -> BrandPublic:
    """Registers a brand in the database and in the ConsentRegistry (operator)."""
    brand = brands.register_brand(session, chain, body.name, body.address)
    return BrandPublic.model_validate(brand, from_attributes=True)


@router.get("")
def read_brands(*, session: SessionDep, _: OperatorDep) -> list[BrandPublic]:
    """All brands (operator)."""
    return [BrandPublic.model_validate(b, from_attributes=True) for b in brands.list_brands(session)]


@router.get("/me")
def read_own_brand(*, brand: CurrentBrand) -> BrandPublic:
    """The calling brand's account (brand)."""
    return BrandPublic.model_validate(brand, from_attributes=True)


@router.get("/me/price-floor")
def read_price_floor(*, brand: CurrentBrand, session: SessionDep) -> PriceFloorPublic:
    """The least price per access the brand accepts; 0 until it sets one (brand)."""
    return PriceFloorPublic.model_validate(brand_floor.price_floor(session, brand), from_attributes=True)


@router.put("/me/price-floor")
def set_price_floor(*, body: PriceFloorSet, brand: CurrentBrand, session: SessionDep) -> PriceFloorPublic:
    """Sets the brand's data prices' floor: an integer of CASH smallest units up to 2^96 - 1 (brand)."""
    return PriceFloorPublic.model_validate(
        brand_floor.set_price_floor(session, brand, body.floor), from_attributes=True
    )


@router.get("/me/spending")
def read_spending(*, brand: CurrentBrand, session: FreshMirrorDep, chain: ChainDep) -> SpendingPublic:
    """Deposits, access spending, offer spending and what remains, from the mirror and the chain (brand)."""
    return SpendingPublic.model_validate(brand_account.spending(session, chain, brand), from_attributes=True)


@router.post("/{brand_id}/keys", status_code=201)
def create_api_key(*, brand_id: BrandId, body: ApiKeyCreate, session: SessionDep, _: OperatorDep) -> ApiKeyCreated:
    """A new API key for the brand, shown once (operator)."""
    record, key = auth.create_api_key(session, brands.get_brand(session, brand_id), body.label)
    return ApiKeyCreated.model_validate(Merged(record, key=key), from_attributes=True)


@router.delete("/{brand_id}/keys/{key_id}")
def revoke_api_key(
    *, brand_id: BrandId, key_id: Annotated[Id, Path(description="The key's id")], session: SessionDep, _: OperatorDep
) -> ApiKeyPublic:
    """Revokes one of the brand's API keys (operator)."""
    return ApiKeyPublic.model_validate(auth.revoke_api_key(session, brand_id, key_id), from_attributes=True)
