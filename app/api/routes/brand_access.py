"""Brand access routes: audience counts (free), profiles (recorded on chain and paid), the brand's account and history.

Amounts (CASH smallest units) are JSON strings of decimal digits, as in the ledger routes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_serializer,
)

from app.api.deps import ChainDep, CurrentBrand, SessionDep, SettingsDep
from app.api.schemas import MAX_OFFSET, DecimalInt, DocumentedRoute, Timestamp, errors
from app.domain import Purpose, category_names
from app.services import access, audience
from app.services.audience import Filters

router = APIRouter(tags=["brand access"], route_class=DocumentedRoute, responses=errors(402, 409))

Name = Annotated[StrictStr, Field(min_length=1, max_length=100)]
Level = Annotated[StrictFloat | StrictInt, Field(ge=0, allow_inf_nan=False)]


# -- request and response models ------------------------------------------------------------------


class ProfileFilters(BaseModel):
    """Narrow the customers; each filter needs its dimension's category in `categories`."""

    model_config = ConfigDict(extra="forbid")

    segment: Name | None = Field(default=None, description="RFM segment at the latest epoch (needs `segment`)")
    tier: Name | None = Field(default=None, description="Tier at the latest epoch (needs `segment`)")
    category: Name | None = Field(default=None, description="Interest category (needs `interests`)")
    style: Name | None = Field(default=None, description="Style among the customer's interests (needs `styles`)")
    min_interest: Level | None = Field(default=None, description="Least score in `category` (needs `interests`)")

    def domain(self) -> Filters:
        return Filters(**self.model_dump())


class ProfileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: StrictStr = Field(description="marketing, personalisation, analytics or research")
    categories: list[StrictStr] = Field(min_length=1, max_length=16, description="Data categories asked")
    filters: ProfileFilters = Field(default_factory=ProfileFilters)
    limit: StrictInt = Field(default=100, ge=1, le=access.MAX_LIMIT, description="Most profiles returned")


class ShownCount(BaseModel):
    count: int | None = Field(description="Exact count, or None when under the threshold")
    fewer_than: int | None = Field(description="Set instead of `count` when the count is under the threshold")


class Group(ShownCount):
    value: str


class AudiencePrivacy(BaseModel):
    epsilon: float = Field(description="Epsilon this answer cost when it was first given (docs/privacy-audience.md)")
    repeated: bool = Field(description="True when this query was answered before in this period: the same answer")
    epsilon_spent: float = Field(description="Epsilon the brand has spent in this period")
    epsilon_budget: float = Field(description="Epsilon the brand may spend per period")
    epsilon_left: float
    period_start: Timestamp
    period_end: Timestamp = Field(description="New queries are refused (429) until then once the budget is spent")


class Audience(BaseModel):
    brand: str
    purpose: str
    categories: list[str]
    filters: dict[str, Any]
    k_min: int
    block_number: int
    total: ShownCount
    by_segment: list[Group] | None = Field(description="None unless `segment` is among the categories")
    by_tier: list[Group] | None = Field(description="None unless `segment` is among the categories")
    by_category: list[Group] | None = Field(description="None unless `interests` is among the categories")
    by_style: list[Group] | None = Field(description="None unless `styles` is among the categories")
    privacy: AudiencePrivacy


class PurchaseSummary(BaseModel):
    count: int
    total_won: DecimalInt
    last_purchased_at: Timestamp | None


class Profile(BaseModel):
    """One customer: address and price always, the other fields only for the categories asked."""

    model_config = ConfigDict(extra="allow")

    address: str
    price: DecimalInt
    contact: dict[str, Any] | None = None
    demographics: dict[str, Any] | None = None
    purchases: PurchaseSummary | None = None
    segment: dict[str, Any] | None = None
    interests: dict[str, Any] | None = None
    styles: list[dict[str, Any]] | None = None
    cart: dict[str, int] | None = None

    @model_serializer(mode="wrap")
    def _asked_only(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A category not asked is absent, not null: null means "asked, nothing known".
        return {k: v for k, v in handler(self).items() if k in self.model_fields_set}


class SkippedCustomer(BaseModel):
    address: str
    reason: str = Field(
        description="not_covered (consent revoked, narrowed or expired), price_above_maximum (re-priced above "
        "the price agreed here or your max_price), duplicate, over_allowance, over_budget"
    )


class Profiles(BaseModel):
    access_id: str | None = Field(description="This request in GET /brands/me/accesses; None if nobody matched")
    request_id: str | None = Field(description="The bytes32 recorded on chain with the batch")
    tx_hash: str | None
    block_number: int | None
    purpose: str
    categories: list[str]
    filters: dict[str, Any]
    limit: int
    customers: int
    cost: str
    attempts: int = Field(description="recordAccess batches sent (1; 0 when nobody matched)")
    profiles: list[Profile] = Field(
        description="address and price always; contact, demographics, purchases, segment, interests, styles, "
        "cart only for the categories asked"
    )
    skipped: list[SkippedCustomer] = Field(
        description="Customers of the batch the registry did not record: no data, nothing charged"
    )


class PriceSpread(BaseModel):
    purpose: str
    consents: ShownCount
    min: str | None
    median: str | None
    max: str | None


class CarriedShortfall(BaseModel):
    epoch: int
    owed: str
    available: str
    carried: str


class Budget(BaseModel):
    deposited: str
    withdrawn: str
    spent: str = Field(description="Debited by published epochs")
    on_chain: str = Field(description="RewardDistributor.budgetOf(brand)")
    committed: str = Field(description="Owed for accesses recorded on chain, not yet settled by an epoch")
    remaining: str = Field(description="on_chain - committed (never below 0)")
    shortfall: str = Field(description="committed - on_chain when the budget cannot pay what is owed")
    funded: str = Field(description="Minted into the budget by the operator against payments (part of deposited)")
    allowance: str = Field(description="What the recorder may still charge (GET/POST /brands/me/access-limits)")
    max_price: str = Field(description="The most the recorder may charge for one customer's access")
    carried: list[CarriedShortfall] = Field(
        description="Epochs whose purchase cashback the unreserved budget could not pay: carried to the next epoch"
    )


class AccessTotals(BaseModel):
    requests: int
    customers: int


class BrandAccount(BaseModel):
    brand: str
    indexed_block: int | None
    budget: Budget
    prices: list[PriceSpread]
    accesses: AccessTotals


class AccessRequestPublic(BaseModel):
    id: str
    request_id: str
    purpose: str
    categories: list[str]
    filters: dict[str, Any]
    limit: int
    customers: int
    cost: str
    skipped: int
    status: str
    attempts: int
    error: str | None
    tx_hash: str | None
    block_number: int | None
    gas_used: int | None
    created_at: Timestamp
    recorded_at: Timestamp | None
    delivered_at: Timestamp | None


class AccessPage(BaseModel):
    items: list[AccessRequestPublic]
    total: int
    limit: int
    offset: int


# -- routes ---------------------------------------------------------------------------------------


@router.get("/audience")
def read_audience(
    *,
    session: SessionDep,
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
    return Audience(**audience.audience(session, settings, chain, brand, scope, filters))


@router.post("/profiles")
def create_profiles(
    *, body: ProfileRequest, session: SessionDep, settings: SettingsDep, chain: ChainDep, brand: CurrentBrand
) -> Profiles:
    """Profiles of consenting customers, each access recorded on chain and payable before any is returned (brand)."""
    scope = audience.parse_scope(body.purpose, body.categories)
    result = access.request_profiles(session, settings, chain, brand, scope, body.filters.domain(), body.limit)
    return Profiles(**result)


@router.get("/brands/me/account")
def read_brand_account(
    *, session: SessionDep, settings: SettingsDep, chain: ChainDep, brand: CurrentBrand
) -> BrandAccount:
    """The calling brand's budget, what it owes, its consent prices and access totals (brand).

    The operator funds a brand's budget against a payment (`RewardDistributor.fund`, the only way CASH is
    minted); a brand holding CASH may also `deposit` it with its own key. The recorder charges the
    budget only within the allowance and maximum price the brand signed (POST /brands/me/access-limits).
    """
    return BrandAccount(**access.brand_account(session, settings, chain, brand))


@router.get("/brands/me/accesses")
def read_brand_accesses(
    *,
    session: SessionDep,
    brand: CurrentBrand,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> AccessPage:
    """The calling brand's own profile requests, newest first, with their on-chain records (brand)."""
    rows, total = access.access_history(session, brand, limit, offset)
    items = [
        AccessRequestPublic(
            id=r.id,
            request_id=r.request_id,
            purpose=Purpose(r.purpose).name.lower(),
            categories=category_names(r.categories),
            filters=json.loads(r.filters),
            limit=r.requested_limit,
            customers=r.customers,
            cost=str(r.cost),
            skipped=r.skipped,
            status=r.status,
            attempts=r.attempts,
            error=r.error,
            tx_hash=r.tx_hash,
            block_number=r.block_number,
            gas_used=r.gas_used,
            created_at=r.created_at,
            recorded_at=r.recorded_at,
            delivered_at=r.delivered_at,
        )
        for r in rows
    ]
    return AccessPage(items=items, total=total, limit=limit, offset=offset)
