"""Read-only views of the mirror tables and the indexer's status, for auditors and the operator.

Amounts (CASH smallest units, up to uint256) are JSON strings of decimal digits, so that no client
parsing JSON numbers as doubles can lose a unit. Lists are paged by `limit` / `offset` in chain
order (block, log index) and say which block the mirror has reached (`indexed_block`). Event lists
filter by block range and by block time (`from_time` / `to_time`, ISO-8601 with a timezone,
inclusive); the queries live in app/services/ledger.py.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from app.api.deps import AuditorDep, ChainDep, FreshMirrorDep, SessionDep
from app.api.schemas import INT64_MAX, MAX_OFFSET, DocumentedRoute, Merged, ZonedTime, errors
from app.api.schemas.ledger import (
    AccessPublic,
    BudgetEventPublic,
    BudgetKind,
    ClaimPublic,
    ConsentEventPublic,
    EpochPublic,
    LedgerStatus,
    Page,
    Paging,
    RegisteredBrandPublic,
    RegistryConsentPublic,
    TrailPage,
    TransferPublic,
    trail_item,
)
from app.chain.indexer import read_status
from app.models.types import Address, Bytes32
from app.services import ledger
from app.services.ledger import TrailKind, Window

router = APIRouter(prefix="/ledger", tags=["ledger"], route_class=DocumentedRoute, responses=errors(404))

MAX_PAGE = 1000
M = TypeVar("M", bound=BaseModel)

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"Rows per page (1-{MAX_PAGE})")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description=f"Rows to skip (0-{MAX_OFFSET})")]
Block = Annotated[int | None, Query(ge=0, le=INT64_MAX, description="Block number (inclusive, 0 to 2^63-1)")]
FromTime = Annotated[
    ZonedTime | None,
    Query(description="Earliest block time (inclusive), ISO-8601 with a timezone, e.g. 2026-01-01T00:00:00Z"),
]
ToTime = Annotated[ZonedTime | None, Query(description="Latest block time (inclusive), ISO-8601 with a timezone")]
AddressQuery = Annotated[Address | None, Query(description="A 0x address (any case)")]
PurposeQuery = Annotated[int | None, Query(ge=0, le=255, description="The uint8 purpose")]


def _window(
    from_block: Block = None, to_block: Block = None, from_time: FromTime = None, to_time: ToTime = None
) -> Window:
    return Window(from_block, to_block, from_time, to_time)


def _paging(limit: Limit = 100, offset: Offset = 0) -> Paging:
    return Paging(limit=limit, offset=offset)


# Every event list filters by block range and block time, and pages.
WindowDep = Annotated[Window, Depends(_window)]
PagingDep = Annotated[Paging, Depends(_paging)]


# -- routes ---------------------------------------------------------------------------------------


def _page(rows: ledger.Rows[Any], model: type[M], paging: Paging) -> Page[M]:
    """One page of mirror rows, each read into `model` by attribute."""
    return Page[M].of(rows, [model.model_validate(r, from_attributes=True) for r in rows.items], paging)


@router.get("/status")
def read_ledger_status(*, session: SessionDep, chain: ChainDep, _: AuditorDep) -> LedgerStatus:
    """The indexer's cursor, the chain head and the lag between them (auditor or operator)."""
    return LedgerStatus.model_validate(read_status(session, chain), from_attributes=True)


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
) -> Page[RegistryConsentPublic]:
    """Current terms of every (customer, brand, purpose) consent on chain (auditor or operator)."""
    rows = ledger.consents(
        session, customer=customer, brand=brand, purpose=purpose, status=status, limit=page.limit, offset=page.offset
    )
    return _page(rows, RegistryConsentPublic, page)


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
    return _page(rows, ConsentEventPublic, page)


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
    return _page(rows, AccessPublic, page)


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
    items = [EpochPublic.model_validate(Merged(e, debits=debits), from_attributes=True) for e, debits in rows.items]
    return Page.of(rows, items, page)


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
    return _page(rows, ClaimPublic, page)


@router.get("/budgets")
def read_budget_events(
    *,
    session: SessionDep,
    _: AuditorDep,
    brand: AddressQuery = None,
    kind: Annotated[BudgetKind | None, Query()] = None,
    window: WindowDep,
    page: PagingDep,
) -> Page[BudgetEventPublic]:
    """Brands' budget fundings, deposits, withdrawals, reserves and returns (auditor or operator)."""
    rows = ledger.budget_events(session, window, brand=brand, kind=kind, limit=page.limit, offset=page.offset)
    return _page(rows, BudgetEventPublic, page)


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
    return _page(rows, TransferPublic, page)


@router.get("/brands")
def read_brands(
    *,
    session: SessionDep,
    _: AuditorDep,
    registered: Annotated[bool | None, Query()] = None,
    page: PagingDep,
) -> Page[RegisteredBrandPublic]:
    """Brands the registry knows and whether they are registered now (auditor or operator)."""
    rows = ledger.brands(session, registered=registered, limit=page.limit, offset=page.offset)
    return _page(rows, RegisteredBrandPublic, page)


@router.get("/customers/{address}/trail")
def read_customer_trail(
    *,
    address: Annotated[Address, Path(description="The customer's 0x address (any case)")],
    session: FreshMirrorDep,
    _: AuditorDep,
    kind: Annotated[list[TrailKind] | None, Query(description="Only these kinds (repeat the parameter)")] = None,
    window: WindowDep,
    page: PagingDep,
) -> TrailPage:
    """A customer's full trail: consent changes, accesses, epoch credits, claims, transfers (auditor or operator).

    One list in chain order (block, log index, place in an access batch), each item with its kind
    and its evidence (block, transaction). An epoch credit (what the epoch's committed rewards gave
    the customer) sits at the event that published the epoch; its time is that block's time. The
    mirror is caught up with the chain first, so the latest blocks are included.
    """
    rows = ledger.trail(session, address, kinds=kind, window=window, limit=page.limit, offset=page.offset)
    return TrailPage.of(rows, [trail_item(e) for e in rows.items], page)
