"""The ledger's views of the mirror tables: pages of chain events, the registry's consents, a customer's trail."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, Self, TypeVar, cast

from pydantic import BaseModel, Field, computed_field

from app.api.schemas import Amount, ChainAddress, ChainSeconds, DecimalInt, Hash32, Merged, Timestamp
from app.domain import category_names
from app.services.ledger import Rows, TrailEntry

T = TypeVar("T")


class Paging(BaseModel):
    limit: int
    offset: int


class Page(BaseModel, Generic[T]):
    """One page of rows and where the mirror stands."""

    items: list[T]
    total: int = Field(description="Rows matching the filters")
    limit: int
    offset: int
    indexed_block: int | None = Field(description="Last block the mirror holds (None before the first run)")

    @classmethod
    def of(cls, rows: Rows[Any], items: list[T], paging: Paging) -> Self:
        return cls(
            items=items, total=rows.total, limit=paging.limit, offset=paging.offset, indexed_block=rows.indexed_block
        )


class OnChain(BaseModel):
    block_number: int
    log_index: int
    block_hash: Hash32
    block_time: Timestamp
    tx_hash: Hash32


class _Categories(BaseModel):
    categories: DecimalInt = Field(description="uint64 bitmask")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def category_names(self) -> list[str]:
        return category_names(self.categories)


class RegistryConsentPublic(_Categories):
    """The registry's consent for one (customer, brand, purpose) as the mirror holds it.

    Not the customer's `ConsentPublic` (app/api/schemas/consents.py), which is a consent receipt joined
    with this state; here "expired" is the service's reading of the clock, never stored."""

    customer: ChainAddress
    brand: ChainAddress
    purpose: int
    status: Literal["active", "expired", "revoked"]
    granted_at: ChainSeconds
    expires_at: ChainSeconds = Field(description="None: no expiry")
    price: Amount
    receipt_hash: Hash32
    notice_hash: Hash32
    nonce: DecimalInt
    updated_block: int
    updated_tx_hash: Hash32


class ConsentEventPublic(OnChain):
    kind: Literal["granted", "narrowed", "revoked"]
    customer: ChainAddress
    brand: ChainAddress
    purpose: int
    categories: DecimalInt | None = Field(description="uint64 bitmask; None for a revocation")
    expires_at: ChainSeconds
    price: Amount | None
    receipt_hash: Hash32 | None
    notice_hash: Hash32 | None
    nonce: DecimalInt


class AccessPublic(OnChain, _Categories):
    """One customer's place in a recorded access batch."""

    position: int
    brand: ChainAddress
    purpose: int
    request_id: Hash32
    customer: ChainAddress
    price: Amount
    batch_size: int
    batch_total: Amount


class DebitPublic(BaseModel):
    brand: ChainAddress
    amount: Amount


class EpochPublic(OnChain):
    epoch: int
    root: Hash32
    commitment: Hash32
    total: Amount
    debits: list[DebitPublic]


class ClaimPublic(OnChain):
    """A claim paid on chain (the customer's claimable amount is `ClaimablePublic`, app/api/schemas/me.py)."""

    account: ChainAddress
    amount: Amount
    cumulative_amount: Amount


BudgetKind = Literal["funded", "deposited", "withdrawn", "reserved", "released", "returned"]


class BudgetEventPublic(OnChain):
    kind: BudgetKind
    brand: ChainAddress
    counterparty: ChainAddress | None = Field(description="Funder, depositor or recipient; none for reserves")
    amount: Amount
    reserved: Amount | None = Field(default=None, description="The brand's reserve afterwards (reserved, released)")


class TransferPublic(OnChain):
    from_address: ChainAddress
    to_address: ChainAddress
    amount: Amount


class RegisteredBrandPublic(BaseModel):
    """A brand as the registry knows it (the operator's brand account is `BrandPublic`)."""

    brand: ChainAddress
    registered: bool
    first_registered_block: int
    updated_block: int


class LedgerStatus(BaseModel):
    chain_id: int | None
    genesis_hash: Hash32 | None
    deployment_block: int | None
    indexed_block: int | None
    indexed_block_hash: Hash32 | None
    updated_at: Timestamp | None
    chain_head: int | None = Field(description="None when the chain does not answer")
    confirmations: int
    lag: int | None = Field(description="Blocks between the chain head and the indexed block")


# -- a customer's trail ---------------------------------------------------------------------------


class TrailItemBase(BaseModel):
    """Where the chain shows a trail item: the event's block, log index and transaction."""

    block_number: int
    log_index: int | None = Field(description="None only for an epoch the mirror has not reached yet")
    block_hash: Hash32 | None
    block_time: Timestamp
    tx_hash: Hash32


class ConsentChangeItem(TrailItemBase):
    kind: Literal["consent_granted", "consent_narrowed", "consent_revoked"]
    brand: ChainAddress
    purpose: int
    categories: DecimalInt | None = Field(description="uint64 bitmask; None for a revocation")
    expires_at: ChainSeconds
    price: Amount | None
    receipt_hash: Hash32 | None
    notice_hash: Hash32 | None
    nonce: DecimalInt

    @computed_field  # type: ignore[prop-decorator]
    @property
    def category_names(self) -> list[str]:
        return category_names(self.categories or 0)


class AccessItem(TrailItemBase, _Categories):
    kind: Literal["access"]
    brand: ChainAddress
    purpose: int
    price: Amount
    request_id: Hash32
    position: int = Field(description="The customer's place in the access batch")
    batch_size: int


class EpochCreditItem(TrailItemBase):
    kind: Literal["epoch_credit"]
    epoch: int
    as_of: Timestamp
    purchase_cashback: Amount
    access_earnings: Amount
    earned: Amount
    cumulative: Amount
    root: Hash32 | None


class ClaimItem(TrailItemBase):
    kind: Literal["claim"]
    amount: Amount
    cumulative_amount: Amount


class TransferItem(TrailItemBase):
    kind: Literal["transfer_in", "transfer_out"]
    from_address: ChainAddress
    to_address: ChainAddress
    amount: Amount


TrailItem = Annotated[
    ConsentChangeItem | AccessItem | EpochCreditItem | ClaimItem | TransferItem, Field(discriminator="kind")
]


class TrailPage(Page[TrailItem]):  # type: ignore[valid-type]
    """One page of a customer's trail (a named schema rather than the generic's long one)."""


_TRAIL_MODELS: dict[str, type[TrailItemBase]] = {
    "consent_granted": ConsentChangeItem,
    "consent_narrowed": ConsentChangeItem,
    "consent_revoked": ConsentChangeItem,
    "access": AccessItem,
    "epoch_credit": EpochCreditItem,
    "claim": ClaimItem,
    "transfer_in": TransferItem,
    "transfer_out": TransferItem,
}


def trail_item(entry: TrailEntry) -> TrailItem:
    # Where the chain shows the item comes from the entry (an epoch credit's row has no block), the rest from its row.
    item = _TRAIL_MODELS[entry.kind].model_validate(Merged(entry, entry.row), from_attributes=True)
    return cast(TrailItem, item)
