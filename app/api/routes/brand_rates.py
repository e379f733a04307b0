"""The brand's own earning rules: create a version (effective from the next epoch), read the current one and history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.api.deps import CurrentBrand, SessionDep
from app.api.schemas import DocumentedRoute, errors
from app.api.schemas.brand_rates import EarningRulesCreate, EarningRulesPublic, RulesVersionPublic
from app.services import brand_rates

router = APIRouter(
    prefix="/brands/me/earning-rules", tags=["earning rules"], route_class=DocumentedRoute, responses=errors(404)
)

Version = Annotated[int, Path(ge=1, le=2**31 - 1, description="The version number")]


@router.post("", status_code=201)
def create_earning_rules(*, body: EarningRulesCreate, session: SessionDep, brand: CurrentBrand) -> RulesVersionPublic:
    """A new version of the brand's extra rates, applied from the next epoch opened (brand); 422 names each
    row outside the programme's bounds, and nothing is stored."""
    return RulesVersionPublic.of(brand_rates.create_version(session, brand, body.rule_rows()))


@router.get("")
def read_earning_rules(*, session: SessionDep, brand: CurrentBrand) -> EarningRulesPublic:
    """The programme's bounds, the brand's current version and every version, newest first (brand)."""
    return EarningRulesPublic.of(brand_rates.earning_rules(session, brand))


@router.get("/{version}")
def read_earning_rules_version(*, version: Version, session: SessionDep, brand: CurrentBrand) -> RulesVersionPublic:
    """One version of the brand's earning rules (brand)."""
    return RulesVersionPublic.of(brand_rates.version_of(session, brand, version))
