"""Brand access routes: audience counts (free), profiles (recorded on chain and paid), the brand's account and history.

Amounts (CASH smallest units) are JSON strings of decimal digits, as in the ledger routes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import ChainDep, CurrentBrand, FreshMirrorDep, SessionDep, SettingsDep
from app.api.schemas import MAX_OFFSET, DocumentedRoute, errors
from app.api.schemas.access import AccessPage, AccessRequestPublic, Audience, BrandAccount, ProfileRequest, Profiles
from app.services import access, audience, brand_account
from app.services.audience import Filters

router = APIRouter(tags=["brand access"], route_class=DocumentedRoute, responses=errors(402, 409))

# -- routes ---------------------------------------------------------------------------------------


@router.get("/audience")
def read_audience(
    *,
    session: FreshMirrorDep,
    settings: SettingsDep,
    chain: ChainDep,
    brand: CurrentBrand,
    purpose: Annotated[str, Query(description="marketing, personalisation, analytics or research")],
    categories: Annotated[list[str], Query(description="Data categories (repeat or comma-separate)")],
    segment: Annotated[str | None, Query(max_length=100)] = None,
    tier: Annotated[str | None, Query(max_length=100)] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    style: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    min_interest: Annotated[float | None, Query(ge=0, allow_inf_nan=False)] = None,
) -> Audience:
    """Noisy counts of customers consenting to this purpose and categories now, by dimension (brand).

    Each new query spends privacy budget, a repeated one is answered the same; 429 once the budget is spent
    (docs/privacy-audience.md)."""
    scope = audience.parse_scope(purpose, categories)
    filters = Filters(segment=segment, tier=tier, category=category, style=style, min_interest=min_interest)
    return Audience.model_validate(audience.audience(session, settings, chain, brand, scope, filters))


@router.post("/profiles")
def create_profiles(
    *, body: ProfileRequest, session: FreshMirrorDep, settings: SettingsDep, chain: ChainDep, brand: CurrentBrand
) -> Profiles:
    """Profiles of consenting customers, each access recorded on chain and payable before any is returned (brand)."""
    scope = audience.parse_scope(body.purpose, body.categories)
    result = access.request_profiles(session, settings, chain, brand, scope, body.filters.domain(), body.limit)
    return Profiles.of(result)


@router.get("/brands/me/account")
def read_brand_account(
    *, session: FreshMirrorDep, settings: SettingsDep, chain: ChainDep, brand: CurrentBrand
) -> BrandAccount:
    """The calling brand's budget, what it owes, its consent prices and access totals (brand).

    The operator funds a brand's budget against a payment (`RewardDistributor.fund`, the only way CASH is
    minted); a brand holding CASH may also `deposit` it with its own key. The recorder charges the
    budget only within the allowance and maximum price the brand signed (POST /brands/me/access-limits).
    """
    return BrandAccount.model_validate(
        brand_account.brand_account(session, settings, chain, brand), from_attributes=True
    )


@router.get("/brands/me/accesses")
def read_brand_accesses(
    *,
    session: SessionDep,
    brand: CurrentBrand,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AccessPage:
    """The calling brand's own profile requests, newest first, with their on-chain records (brand)."""
    rows, total = brand_account.access_history(session, brand, limit, offset)
    items = [AccessRequestPublic.model_validate(r, from_attributes=True) for r in rows]
    return AccessPage(items=items, total=total, limit=limit, offset=offset)
