"""Read-only views of the mirror tables and the indexer's status, for auditors and the operator.

Amounts (CASH smallest units, up to uint256) are JSON strings of decimal digits, so that no client
parsing JSON numbers as doubles can lose a unit. Lists are paged by `limit` / `offset` in chain
order (block, log index) and say which block the mirror has reached (`indexed_block`). Event lists
filter by block range and by block time (`from_time` / `to_time`, ISO-8601 with a timezone,
inclusive); the queries live in app/services/ledger.py.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, BeforeValidator, Field

from app.api.deps import AuditorDep, ChainDep, SessionDep, SettingsDep
from app.api.schemas import INT64_MAX, MAX_OFFSET, DecimalInt, DocumentedRoute, Timestamp, errors
from app.chain.indexer import read_status
from app.domain import category_names
from app.models.types import Address, Bytes32
from app.services import ledger
from app.services.ledger import TrailEntry, TrailKind, Window

router = APIRouter(prefix="/ledger", tags=["ledger"], route_class=DocumentedRoute, responses=errors(404))

T = TypeVar("T")
MAX_PAGE = 1000


def _iso_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an ISO-8601 time; write e.g. 2026-01-01T00:00:00Z (+ as %2B in a URL)"
            ) from None
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"{value.isoformat()} has no timezone; add Z or an offset such as +09:00")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_time)]
"""A moment with its timezone; naive times are refused rather than guessed."""

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Rows per page (1-{MAX_PAGE})")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"Rows to skip (0-{MAX_OFFSET})")]
Block = Annotated[int | None, Query(ge=0, le=INT64_MAX, description="Block number (inclusive, 0 to 2^63-1)")]
FromTime = Annotated[
    IsoTime | None,
    Query(description="Earliest block time (inclusive), ISO-8601 with a timezone, e.g. 2026-01-01T00:00:00Z"),
]
ToTime = Annotated[IsoTime | None, Query(description="Latest block time (inclusive), ISO-8601 with a timezone")]
AddressQuery = Annotated[Address | None, Query(description="A 0x address (any case)")]
PurposeQuery = Annotated[int | None, Query(ge=0, le=255, description="The uint8 purpose")]


def _window(
    from_block: Block = None, to_block: Block = None, from_time: FromTime = None, to_time: ToTime = None
) -> Window:
    return Window(from_block, to_block, from_time, to_time)


class Paging(BaseModel):
    limit: int
    offset: int


def _paging(limit: Limit = 100, offset: Offset = 0) -> Paging:
    return Paging(limit=limit, offset=offset)


# Every event list filters by block range and block time, and pages.
WindowDep = Annotated[Window, Depends(_window)]
PagingDep = Annotated[Paging, Depends(_paging)]


# -- response models ------------------------------------------------------------------------------


class Page(BaseModel, Generic[T]):
    """One page of rows and where the mirror stands."""

    items: list[T]
    total: int = Field(description="Rows matching the filters")
    limit: int
    offset: int
    indexed_block: int | None = Field(description="Last block the mirror holds (None before the first run)")


class OnChain(BaseModel):
    block_number: int
    log_index: int
    block_hash: str
    block_time: Timestamp
    tx_hash: str


class ConsentPublic(BaseModel):
    customer: str
    brand: str
    purpose: int
    status: Literal["active", "expired", "revoked"]
    categories: DecimalInt = Field(description="uint64 bitmask")
    category_names: list[str]
    granted_at: Timestamp | None
    expires_at: Timestamp | None = Field(description="None: no expiry")
    price: str
    receipt_hash: str
    notice_hash: str
    nonce: str
    updated_block: int
    updated_tx_hash: str


class ConsentEventPublic(OnChain):
    kind: Literal["granted", "narrowed", "revoked"]
    customer: str
    brand: str
    purpose: int
    categories: DecimalInt | None = Field(description="uint64 bitmask; None for a revocation")
    expires_at: Timestamp | None
    price: str | None
    receipt_hash: str | None
    notice_hash: str | None
    nonce: str


class AccessPublic(OnChain):
    position: int
    brand: str
    purpose: int
    request_id: str
    categories: DecimalInt = Field(description="uint64 bitmask")
    category_names: list[str]
    customer: str
    price: str
    batch_size: int
    batch_total: str


class DebitPublic(BaseModel):
    brand: str
    amount: str


class EpochPublic(OnChain):
    epoch: int
    root: str
    commitment: str
    total: str
    debits: list[DebitPublic]


class ClaimPublic(OnChain):
    account: str
    amount: str
    cumulative_amount: str


class BudgetEventPublic(OnChain):
    kind: Literal["deposited", "withdrawn"]
    brand: str
    counterparty: str
    amount: str


class TransferPublic(OnChain):
    from_address: str
    to_address: str
    amount: str


class BrandPublic(BaseModel):
    brand: str
    registered: bool
    first_registered_block: int
    updated_block: int


class LedgerStatus(BaseModel):
    chain_id: int | None
    genesis_hash: str | None
    deployment_block: int | None
    indexed_block: int | None
    indexed_block_hash: str | None
    updated_at: Timestamp | None
    chain_head: int | None = Field(description="None when the chain does not answer")
    confirmations: int
    lag: int | None = Field(description="Blocks between the chain head and the indexed block")


class TrailItemBase(BaseModel):
    """Where the chain shows a trail item: the event's block, log index and transaction."""

    block_number: int
    log_index: int | None = Field(description="None only for an epoch the mirror has not reached yet")
    block_hash: str | None
    block_time: Timestamp
    tx_hash: str


class ConsentChangeItem(TrailItemBase):
    kind: Literal["consent_granted", "consent_narrowed", "consent_revoked"]
    brand: str
    purpose: int
    categories: DecimalInt | None = Field(description="uint64 bitmask; None for a revocation")
    category_names: list[str]
    expires_at: Timestamp | None
    price: str | None
    receipt_hash: str | None
    notice_hash: str | None
    nonce: str


class AccessItem(TrailItemBase):
    kind: Literal["access"]
    brand: str
    purpose: int
    categories: DecimalInt = Field(description="uint64 bitmask")
    category_names: list[str]
    price: str
    request_id: str
    position: int = Field(description="The customer's place in the access batch")
    batch_size: int


class EpochCreditItem(TrailItemBase):
    kind: Literal["epoch_credit"]
    epoch: int
    as_of: Timestamp
    purchase_cashback: str
    access_earnings: str
    earned: str
    cumulative: str
    root: str | None


class ClaimItem(TrailItemBase):
    kind: Literal["claim"]
    amount: str
    cumulative_amount: str


class TransferItem(TrailItemBase):
    kind: Literal["transfer_in", "transfer_out"]
    from_address: str
    to_address: str
    amount: str


TrailItem = Annotated[
    ConsentChangeItem | AccessItem | EpochCreditItem | ClaimItem | TransferItem, Field(discriminator="kind")
]


# -- helpers --------------------------------------------------------------------------------------


def _seconds(value: int) -> Timestamp | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def _on_chain(row: Any) -> dict[str, Any]:
    return {
        "block_number": row.block_number,
        "log_index": row.log_index,
        "block_hash": row.block_hash,
        "block_time": row.block_time,
        "tx_hash": row.tx_hash,
    }


def _page(rows: ledger.Rows[Any], items: list[T], page: Paging) -> Page[T]:
    return Page(items=items, total=rows.total, limit=page.limit, offset=page.offset, indexed_block=rows.indexed_block)


def _trail_item(entry: TrailEntry) -> TrailItem:
    where: dict[str, Any] = {
        "block_number": entry.block_number,
        "log_index": entry.log_index,
        "block_hash": entry.block_hash,
        "block_time": entry.block_time,
        "tx_hash": entry.tx_hash,
    }
    r = entry.row
    if entry.kind.startswith("consent_"):
        return ConsentChangeItem(
            **where,
            kind=entry.kind,  # type: ignore[arg-type]
            brand=r.brand,
            purpose=r.purpose,
            categories=r.categories,
            category_names=category_names(r.categories or 0),
            expires_at=_seconds(r.expires_at) if r.expires_at is not None else None,
            price=None if r.price is None else str(r.price),
            receipt_hash=r.receipt_hash,
            notice_hash=r.notice_hash,
            nonce=str(r.nonce),
        )
    if entry.kind == "access":
        return AccessItem(
            **where,
            kind="access",
            brand=r.brand,
            purpose=r.purpose,
            categories=r.categories,
            category_names=category_names(r.categories),
            price=str(r.price),
            request_id=r.request_id,
            position=r.position,
            batch_size=r.batch_size,
        )
    if entry.kind == "epoch_credit":
        epoch, reward, published = r
        return EpochCreditItem(
            **where,
            kind="epoch_credit",
            epoch=epoch.number,
            as_of=epoch.as_of,
            purchase_cashback=str(reward.purchase_cashback),
            access_earnings=str(reward.access_earnings),
            earned=str(reward.earned),
            cumulative=str(reward.cumulative),
            root=published.root if published is not None else epoch.root,
        )
    if entry.kind == "claim":
        return ClaimItem(**where, kind="claim", amount=str(r.amount), cumulative_amount=str(r.cumulative_amount))
    return TransferItem(
        **where,
        kind=entry.kind,  # type: ignore[arg-type]
        from_address=r.from_address,
        to_address=r.to_address,
        amount=str(r.amount),
    )


# -- routes ---------------------------------------------------------------------------------------


@router.get("/status")
def read_ledger_status(*, session: SessionDep, chain: ChainDep, _: AuditorDep) -> LedgerStatus:
    """The indexer's cursor, the chain head and the lag between them (auditor or operator)."""
    status = read_status(session, chain)
    return LedgerStatus(**status.__dict__)


@router.get("/consents")
def read_consents(
    *,
    session: SessionDep,
    _: AuditorDep,
    customer: AddressQuery = None,
    brand: AddressQuery = None,
    purpose: PurposeQuery = None,
    status: Annotated[Literal["active", "revoked"] | None, Query(description="Stored status")] = None,
    page: PagingDep,
) -> Page[ConsentPublic]:
    """Current terms of every (customer, brand, purpose) consent on chain (auditor or operator)."""
    rows = ledger.consents(
        session, customer=customer, brand=brand, purpose=purpose, status=status, limit=page.limit, offset=page.offset
    )
    now = int(time.time())
    items = []
    for r in rows.items:
        shown = "expired" if r.status == "active" and r.expires_at and r.expires_at <= now else r.status
        items.append(
            ConsentPublic(
                customer=r.customer,
                brand=r.brand,
                purpose=r.purpose,
                status=shown,  # type: ignore[arg-type]
                categories=r.categories,
                category_names=category_names(r.categories),
                granted_at=_seconds(r.granted_at),
                expires_at=_seconds(r.expires_at),
                price=str(r.price),
                receipt_hash=r.receipt_hash,
                notice_hash=r.notice_hash,
                nonce=str(r.nonce),
                updated_block=r.updated_block,
                updated_tx_hash=r.updated_tx_hash,
            )
        )
    return _page(rows, items, page)


@router.get("/consent-events")
def read_consent_events(
    *,
    session: SessionDep,
    _: AuditorDep,
    customer: AddressQuery = None,
    brand: AddressQuery = None,
    purpose: PurposeQuery = None,
    window: WindowDep,
    page: PagingDep,
) -> Page[ConsentEventPublic]:
    """Every grant, narrowing and revocation in chain order (auditor or operator)."""
    rows = ledger.consent_events(
        session, window, customer=customer, brand=brand, purpose=purpose, limit=page.limit, offset=page.offset
    )
    items = [
        ConsentEventPublic(
            **_on_chain(r),
            kind=r.kind,  # type: ignore[arg-type]
            customer=r.customer,
            brand=r.brand,
            purpose=r.purpose,
            categories=r.categories,
            expires_at=_seconds(r.expires_at) if r.expires_at is not None else None,
            price=None if r.price is None else str(r.price),
            receipt_hash=r.receipt_hash,
            notice_hash=r.notice_hash,
            nonce=str(r.nonce),
        )
        for r in rows.items
    ]
    return _page(rows, items, page)


@router.get("/accesses")
def read_accesses(
    *,
    session: SessionDep,
    _: AuditorDep,
    customer: AddressQuery = None,
    brand: AddressQuery = None,
    purpose: PurposeQuery = None,
    request_id: Annotated[Bytes32 | None, Query(description="The batch's 0x request id")] = None,
    window: WindowDep,
    page: PagingDep,
) -> Page[AccessPublic]:
    """Every recorded data access, one row per customer of a batch, with its price (auditor or operator)."""
    rows = ledger.accesses(
        session,
        window,
        customer=customer,
        brand=brand,
        purpose=purpose,
        request_id=request_id,
        limit=page.limit,
        offset=page.offset,
    )
    items = [
        AccessPublic(
            **_on_chain(r),
            position=r.position,
            brand=r.brand,
            purpose=r.purpose,
            request_id=r.request_id,
            categories=r.categories,
            category_names=category_names(r.categories),
            customer=r.customer,
            price=str(r.price),
            batch_size=r.batch_size,
            batch_total=str(r.batch_total),
        )
        for r in rows.items
    ]
    return _page(rows, items, page)


@router.get("/epochs")
def read_epochs(
    *,
    session: SessionDep,
    _: AuditorDep,
    brand: Annotated[Address | None, Query(description="Only epochs debiting this brand")] = None,
    window: WindowDep,
    page: PagingDep,
) -> Page[EpochPublic]:
    """Published epochs: root, commitment, total and each brand's debit (auditor or operator).

    Blocks and times are those of the publication (the EpochPublished event's block), not the
    epoch's as-of date: the mirror knows only what the chain says.
    """
    rows = ledger.epochs(session, window, brand=brand, limit=page.limit, offset=page.offset)
    items = [
        EpochPublic(
            **_on_chain(r),
            epoch=r.epoch,
            root=r.root,
            commitment=r.commitment,
            total=str(r.total),
            debits=[DebitPublic(brand=d.brand, amount=str(d.amount)) for d in debits],
        )
        for r, debits in rows.items
    ]
    return _page(rows, items, page)


@router.get("/claims")
def read_claims(
    *,
    session: SessionDep,
    _: AuditorDep,
    customer: Annotated[Address | None, Query(description="The claiming account")] = None,
    window: WindowDep,
    page: PagingDep,
) -> Page[ClaimPublic]:
    """Rewards paid out by claims (auditor or operator)."""
    rows = ledger.claims(session, window, customer=customer, limit=page.limit, offset=page.offset)
    items = [
        ClaimPublic(
            **_on_chain(r),
            account=r.account,
            amount=str(r.amount),
            cumulative_amount=str(r.cumulative_amount),
        )
        for r in rows.items
    ]
    return _page(rows, items, page)


@router.get("/budgets")
def read_budget_events(
    *,
    session: SessionDep,
    _: AuditorDep,
    brand: AddressQuery = None,
    kind: Annotated[Literal["deposited", "withdrawn"] | None, Query()] = None,
    window: WindowDep,
    page: PagingDep,
) -> Page[BudgetEventPublic]:
    """Brands' budget deposits and withdrawals (auditor or operator)."""
    rows = ledger.budget_events(session, window, brand=brand, kind=kind, limit=page.limit, offset=page.offset)
    items = [
        BudgetEventPublic(
            **_on_chain(r),
            kind=r.kind,  # type: ignore[arg-type]
            brand=r.brand,
            counterparty=r.counterparty,
            amount=str(r.amount),
        )
        for r in rows.items
    ]
    return _page(rows, items, page)


@router.get("/transfers")
def read_transfers(
    *,
    session: SessionDep,
    _: AuditorDep,
    customer: Annotated[Address | None, Query(description="Sender or recipient")] = None,
    brand: Annotated[Address | None, Query(description="Sender or recipient")] = None,
    window: WindowDep,
    page: PagingDep,
) -> Page[TransferPublic]:
    """CASH token transfers, mints included (from 0x0) (auditor or operator)."""
    rows = ledger.transfers(session, window, parties=(customer, brand), limit=page.limit, offset=page.offset)
    items = [
        TransferPublic(**_on_chain(r), from_address=r.from_address, to_address=r.to_address, amount=str(r.amount))
        for r in rows.items
    ]
    return _page(rows, items, page)


@router.get("/brands")
def read_brands(
    *,
    session: SessionDep,
    _: AuditorDep,
    registered: Annotated[bool | None, Query()] = None,
    page: PagingDep,
) -> Page[BrandPublic]:
    """Brands the registry knows and whether they are registered now (auditor or operator)."""
    rows = ledger.brands(session, registered=registered, limit=page.limit, offset=page.offset)
    items = [
        BrandPublic(
            brand=r.brand,
            registered=r.registered,
            first_registered_block=r.first_registered_block,
            updated_block=r.updated_block,
        )
        for r in rows.items
    ]
    return _page(rows, items, page)


@router.get("/customers/{address}/trail")
def read_customer_trail(
    *,
    address: Annotated[Address, Path(description="The customer's 0x address (any case)")],
    session: SessionDep,
    settings: SettingsDep,
    chain: ChainDep,
    _: AuditorDep,
    kind: Annotated[list[TrailKind] | None, Query(description="Only these kinds (repeat the parameter)")] = None,
    window: WindowDep,
    page: PagingDep,
) -> Page[TrailItem]:
    """A customer's full trail: consent changes, accesses, epoch credits, claims, transfers (auditor or operator).

    One list in chain order (block, log index, place in an access batch), each item with its kind
    and its evidence (block, transaction). An epoch credit (what the epoch's committed rewards gave
    the customer) sits at the event that published the epoch; its time is that block's time. The
    mirror is caught up with the chain first, so the latest blocks are included.
    """
    rows = ledger.trail(
        session, settings, chain, address, kinds=kind, window=window, limit=page.limit, offset=page.offset
    )
    return _page(rows, [_trail_item(e) for e in rows.items], page)
