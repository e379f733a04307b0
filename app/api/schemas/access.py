"""What a brand sees and buys: audience counts, profiles recorded on chain, its account and request history."""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_serializer,
)

from app.api.schemas import Amount, CategoryLabels, ChainAddress, DecimalInt, Hash32, Merged, PurposeLabel, Timestamp
from app.services import access
from app.services.audience import Filters


def _json_object(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value  # stored as JSON text


Name = Annotated[StrictStr, Field(min_length=1, max_length=100)]
Level = Annotated[StrictFloat | StrictInt, Field(ge=0, allow_inf_nan=False)]


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
    request_id: Hash32 | None = Field(description="The bytes32 recorded on chain with the batch")
    tx_hash: Hash32 | None
    block_number: int | None
    purpose: str
    categories: CategoryLabels
    filters: dict[str, Any]
    limit: int
    customers: int
    cost: Amount
    attempts: int = Field(description="recordAccess batches sent (1; 0 when nobody matched)")
    profiles: list[Profile] = Field(
        description="address and price always; contact, demographics, purchases, segment, interests, styles, "
        "cart only for the categories asked"
    )
    skipped: list[SkippedCustomer] = Field(
        description="Customers of the batch the registry did not record: no data, nothing charged"
    )

    @classmethod
    def of(cls, batch: access.ProfileBatch) -> Profiles:
        record = batch.record
        merged = Merged(
            batch,
            access_id=record.id if record else None,
            request_id=record.request_id if record else None,
            tx_hash=record.tx_hash if record else None,
            block_number=record.block_number if record else None,
            purpose=batch.scope.purpose_name,
            categories=batch.scope.categories,
            filters=batch.filters.as_dict(),
            customers=len(batch.profiles),
        )
        return cls.model_validate(merged, from_attributes=True)


class PriceSpread(BaseModel):
    purpose: str
    consents: ShownCount
    min: Amount | None
    median: Amount | None
    max: Amount | None


class CarriedShortfall(BaseModel):
    epoch: int
    owed: Amount
    available: Amount
    carried: Amount


class Budget(BaseModel):
    deposited: Amount
    withdrawn: Amount
    spent: Amount = Field(description="Debited by published epochs")
    on_chain: Amount = Field(description="RewardDistributor.budgetOf(brand)")
    committed: Amount = Field(description="Owed for accesses recorded on chain, not yet settled by an epoch")
    remaining: Amount = Field(description="on_chain - committed (never below 0)")
    shortfall: Amount = Field(description="committed - on_chain when the budget cannot pay what is owed")
    funded: Amount = Field(description="Minted into the budget by the operator against payments (part of deposited)")
    allowance: Amount = Field(description="What the recorder may still charge (GET/POST /brands/me/access-limits)")
    max_price: Amount = Field(description="The most the recorder may charge for one customer's access")
    carried: list[CarriedShortfall] = Field(
        description="Epochs whose purchase cashback the unreserved budget could not pay: carried to the next epoch"
    )


class AccessTotals(BaseModel):
    requests: int
    customers: int


class BrandAccount(BaseModel):
    brand: ChainAddress
    indexed_block: int | None
    budget: Budget
    prices: list[PriceSpread]
    accesses: AccessTotals


class AccessRequestPublic(BaseModel):
    """One of the brand's profile requests and its record on chain."""

    id: str
    request_id: Hash32
    purpose: PurposeLabel
    categories: CategoryLabels
    filters: Annotated[dict[str, Any], BeforeValidator(_json_object)]
    limit: int = Field(validation_alias=AliasChoices("requested_limit", "limit"))
    customers: int
    cost: Amount
    skipped: int
    status: str
    attempts: int
    error: str | None
    tx_hash: Hash32 | None
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
