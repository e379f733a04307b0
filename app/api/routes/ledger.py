"""Read-only views of the mirror tables and the indexer's status, for auditors and the operator.

Amounts (CASH smallest units, up to uint256) are JSON strings of decimal digits, so that no client
parsing JSON numbers as doubles can lose a unit. Lists are paged by `limit` / `offset` in chain
order (block, log index) and say which block the mirror has reached (`indexed_block`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlmodel import Session, SQLModel, select

from app.api.deps import AuditorDep, ChainDep, SessionDep
from app.chain.indexer import read_status
from app.domain import category_names
from app.errors import InvalidInput
from app.models.mirror import (
    IndexerCursor,
    MirrorAccess,
    MirrorBrand,
    MirrorBudgetEvent,
    MirrorClaim,
    MirrorConsent,
    MirrorConsentEvent,
    MirrorEpoch,
    MirrorEpochDebit,
    MirrorTransfer,
)
from app.models.types import Address, Bytes32

router = APIRouter(prefix="/ledger", tags=["ledger"])

T = TypeVar("T")
MAX_PAGE = 1000

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Rows per page (1-{MAX_PAGE})")]
Offset = Annotated[int, Query(ge=0, description="Rows to skip")]
Block = Annotated[int | None, Query(ge=0, description="Block number (inclusive)")]
AddressQuery = Annotated[Address | None, Query(description="A 0x address (any case)")]
PurposeQuery = Annotated[int | None, Query(ge=0, le=255, description="The uint8 purpose")]


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
    block_time: datetime
    tx_hash: str


class ConsentPublic(BaseModel):
    customer: str
    brand: str
    purpose: int
    status: Literal["active", "expired", "revoked"]
    categories: int
    category_names: list[str]
    granted_at: datetime | None
    expires_at: datetime | None = Field(description="None: no expiry")
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
    categories: int | None
    expires_at: datetime | None
    price: str | None
    receipt_hash: str | None
    notice_hash: str | None
    nonce: str


class AccessPublic(OnChain):
    position: int
    brand: str
    purpose: int
    request_id: str
    categories: int
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
    updated_at: datetime | None
    chain_head: int | None = Field(description="None when the chain does not answer")
    confirmations: int
    lag: int | None = Field(description="Blocks between the chain head and the indexed block")


# -- helpers --------------------------------------------------------------------------------------


def _aware(value: datetime) -> datetime:
    # SQLite hands timestamps back without their zone; they were written in UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _seconds(value: int) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def _on_chain(row: Any) -> dict[str, Any]:
    return {
        "block_number": row.block_number,
        "log_index": row.log_index,
        "block_hash": row.block_hash,
        "block_time": _aware(row.block_time),
        "tx_hash": row.tx_hash,
    }


def _check_blocks(from_block: int | None, to_block: int | None) -> None:
    if from_block is not None and to_block is not None and from_block > to_block:
        raise InvalidInput(f"from_block ({from_block}) is after to_block ({to_block})")


def _page(
    session: Session,
    model: type[SQLModel],
    filters: list[Any],
    order: list[Any],
    limit: int,
    offset: int,
) -> tuple[list[Any], int, int | None]:
    total = session.exec(select(func.count()).select_from(model).where(*filters)).one()
    rows = list(session.exec(select(model).where(*filters).order_by(*order).limit(limit).offset(offset)).all())
    cursor = session.get(IndexerCursor, 1)
    return rows, int(total), cursor.last_block if cursor else None


def _block_filters(model: Any, from_block: int | None, to_block: int | None, column: str = "block_number") -> list:
    _check_blocks(from_block, to_block)
    filters = []
    if from_block is not None:
        filters.append(getattr(model, column) >= from_block)
    if to_block is not None:
        filters.append(getattr(model, column) <= to_block)
    return filters


# -- routes ---------------------------------------------------------------------------------------


@router.get("/status")
def read_ledger_status(*, session: SessionDep, chain: ChainDep, _: AuditorDep) -> LedgerStatus:
    """The indexer's cursor, the chain head and the lag between them (auditor or operator)."""
    status = read_status(session, chain)
    data = status.__dict__ | {"updated_at": _aware(status.updated_at) if status.updated_at else None}
    return LedgerStatus(**data)


@router.get("/consents")
def read_consents(
    *,
    session: SessionDep,
    _: AuditorDep,
    customer: AddressQuery = None,
    brand: AddressQuery = None,
    purpose: PurposeQuery = None,
    status: Annotated[Literal["active", "revoked"] | None, Query(description="Stored status")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[ConsentPublic]:
    """Current terms of every (customer, brand, purpose) consent on chain (auditor or operator)."""
    m = MirrorConsent
    filters: list[Any] = []
    if customer:
        filters.append(m.customer == customer)
    if brand:
        filters.append(m.brand == brand)
    if purpose is not None:
        filters.append(m.purpose == purpose)
    if status:
        filters.append(m.status == status)
    rows, total, indexed = _page(session, m, filters, [m.customer, m.brand, m.purpose], limit, offset)
    now = int(time.time())
    items = []
    for r in rows:
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
    return Page(items=items, total=total, limit=limit, offset=offset, indexed_block=indexed)


@router.get("/consent-events")
def read_consent_events(
    *,
    session: SessionDep,
    _: AuditorDep,
    customer: AddressQuery = None,
    brand: AddressQuery = None,
    purpose: PurposeQuery = None,
    from_block: Block = None,
    to_block: Block = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[ConsentEventPublic]:
    """Every grant, narrowing and revocation in chain order (auditor or operator)."""
    m = MirrorConsentEvent
    filters = _block_filters(m, from_block, to_block)
    if customer:
        filters.append(m.customer == customer)
    if brand:
        filters.append(m.brand == brand)
    if purpose is not None:
        filters.append(m.purpose == purpose)
    rows, total, indexed = _page(session, m, filters, [m.block_number, m.log_index], limit, offset)
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
        for r in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset, indexed_block=indexed)


@router.get("/accesses")
def read_accesses(
    *,
    session: SessionDep,
    _: AuditorDep,
    customer: AddressQuery = None,
    brand: AddressQuery = None,
    purpose: PurposeQuery = None,
    request_id: Annotated[Bytes32 | None, Query(description="The batch's 0x request id")] = None,
    from_block: Block = None,
    to_block: Block = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[AccessPublic]:
    """Every recorded data access, one row per customer of a batch, with its price (auditor or operator)."""
    m = MirrorAccess
    filters = _block_filters(m, from_block, to_block)
    if customer:
        filters.append(m.customer == customer)
    if brand:
        filters.append(m.brand == brand)
    if purpose is not None:
        filters.append(m.purpose == purpose)
    if request_id:
        filters.append(m.request_id == request_id)
    rows, total, indexed = _page(session, m, filters, [m.block_number, m.log_index, m.position], limit, offset)
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
        for r in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset, indexed_block=indexed)


@router.get("/epochs")
def read_epochs(
    *,
    session: SessionDep,
    _: AuditorDep,
    brand: Annotated[Address | None, Query(description="Only epochs debiting this brand")] = None,
    from_block: Block = None,
    to_block: Block = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[EpochPublic]:
    """Published epochs: root, commitment, total and each brand's debit (auditor or operator)."""
    m = MirrorEpoch
    filters = _block_filters(m, from_block, to_block)
    if brand:
        debited = select(MirrorEpochDebit.epoch).where(MirrorEpochDebit.brand == brand)
        filters.append(m.epoch.in_(debited))  # type: ignore[attr-defined]
    rows, total, indexed = _page(session, m, filters, [m.epoch], limit, offset)
    debits: dict[int, list[DebitPublic]] = {r.epoch: [] for r in rows}
    if debits:
        found = session.exec(
            select(MirrorEpochDebit)
            .where(MirrorEpochDebit.epoch.in_(list(debits)))  # type: ignore[attr-defined]
            .order_by(MirrorEpochDebit.epoch, MirrorEpochDebit.position)  # type: ignore[arg-type]
        ).all()
        for d in found:
            debits[d.epoch].append(DebitPublic(brand=d.brand, amount=str(d.amount)))
    items = [
        EpochPublic(
            **_on_chain(r),
            epoch=r.epoch,
            root=r.root,
            commitment=r.commitment,
            total=str(r.total),
            debits=debits[r.epoch],
        )
        for r in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset, indexed_block=indexed)


@router.get("/claims")
def read_claims(
    *,
    session: SessionDep,
    _: AuditorDep,
    customer: Annotated[Address | None, Query(description="The claiming account")] = None,
    from_block: Block = None,
    to_block: Block = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[ClaimPublic]:
    """Rewards paid out by claims (auditor or operator)."""
    m = MirrorClaim
    filters = _block_filters(m, from_block, to_block)
    if customer:
        filters.append(m.account == customer)
    rows, total, indexed = _page(session, m, filters, [m.block_number, m.log_index], limit, offset)
    items = [
        ClaimPublic(
            **_on_chain(r),
            account=r.account,
            amount=str(r.amount),
            cumulative_amount=str(r.cumulative_amount),
        )
        for r in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset, indexed_block=indexed)


@router.get("/budgets")
def read_budget_events(
    *,
    session: SessionDep,
    _: AuditorDep,
    brand: AddressQuery = None,
    kind: Annotated[Literal["deposited", "withdrawn"] | None, Query()] = None,
    from_block: Block = None,
    to_block: Block = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[BudgetEventPublic]:
    """Brands' budget deposits and withdrawals (auditor or operator)."""
    m = MirrorBudgetEvent
    filters = _block_filters(m, from_block, to_block)
    if brand:
        filters.append(m.brand == brand)
    if kind:
        filters.append(m.kind == kind)
    rows, total, indexed = _page(session, m, filters, [m.block_number, m.log_index], limit, offset)
    items = [
        BudgetEventPublic(
            **_on_chain(r),
            kind=r.kind,
            brand=r.brand,
            counterparty=r.counterparty,
            amount=str(r.amount),  # type: ignore[arg-type]
        )
        for r in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset, indexed_block=indexed)


@router.get("/transfers")
def read_transfers(
    *,
    session: SessionDep,
    _: AuditorDep,
    customer: Annotated[Address | None, Query(description="Sender or recipient")] = None,
    brand: Annotated[Address | None, Query(description="Sender or recipient")] = None,
    from_block: Block = None,
    to_block: Block = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[TransferPublic]:
    """CASH token transfers, mints included (from 0x0) (auditor or operator)."""
    m = MirrorTransfer
    filters = _block_filters(m, from_block, to_block)
    for party in (customer, brand):
        if party:
            filters.append((m.from_address == party) | (m.to_address == party))  # type: ignore[operator]
    rows, total, indexed = _page(session, m, filters, [m.block_number, m.log_index], limit, offset)
    items = [
        TransferPublic(**_on_chain(r), from_address=r.from_address, to_address=r.to_address, amount=str(r.amount))
        for r in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset, indexed_block=indexed)


@router.get("/brands")
def read_brands(
    *,
    session: SessionDep,
    _: AuditorDep,
    registered: Annotated[bool | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Page[BrandPublic]:
    """Brands the registry knows and whether they are registered now (auditor or operator)."""
    m = MirrorBrand
    filters = [] if registered is None else [m.registered == registered]
    rows, total, indexed = _page(session, m, filters, [m.first_registered_block, m.brand], limit, offset)
    items = [
        BrandPublic(
            brand=r.brand,
            registered=r.registered,
            first_registered_block=r.first_registered_block,
            updated_block=r.updated_block,
        )
        for r in rows
    ]
    return Page(items=items, total=total, limit=limit, offset=offset, indexed_block=indexed)
