"""The ledger's read side for auditors: paged, filtered lists of the mirror tables and a customer's trail.

Lists are in chain order (block, log index) and every filter bound is inclusive. Times filter on the
block's time (the chain's clock), so a row's `block_time` can be fed back as a bound to find it.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import islice
from typing import Any, Generic, Literal, TypeVar, get_args

from sqlalchemy import and_, func, or_
from sqlmodel import Session, SQLModel, col, select

from app import clock
from app.errors import InvalidInput
from app.models.epochs import Epoch, EpochReward, EpochStatus
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

R = TypeVar("R")


@dataclass(frozen=True)
class Rows(Generic[R]):
    """One page of rows, how many match in all, and the last block the mirror holds."""

    items: list[R]
    total: int
    indexed_block: int | None


Standing = Literal["active", "expired", "revoked"]


@dataclass(frozen=True)
class ConsentStanding:
    """A mirrored consent and its standing at a moment; every other attribute is the row's."""

    consent: MirrorConsent
    status: Standing

    @classmethod
    def at(cls, consent: MirrorConsent, moment: int) -> ConsentStanding:
        # expires_at 0 is "no end", as the registry reads it.
        expired = consent.status == "active" and 0 < consent.expires_at <= moment
        return cls(consent, "expired" if expired else consent.status)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> Any:
        if name == "consent":  # not set yet (copying, unpickling): no row to read from
            raise AttributeError(name)
        return getattr(self.consent, name)


@dataclass(frozen=True)
class EpochCredit:
    """What one epoch's committed rewards gave a customer, and the root they are under."""

    epoch: int
    as_of: datetime
    purchase_cashback: int
    access_earnings: int
    earned: int
    cumulative: int
    root: str | None


@dataclass(frozen=True)
class Window:
    """Which blocks and block times a list covers; each bound inclusive, None leaves that side open."""

    from_block: int | None = None
    to_block: int | None = None
    from_time: datetime | None = None
    to_time: datetime | None = None

    def __post_init__(self) -> None:
        if self.from_block is not None and self.to_block is not None and self.from_block > self.to_block:
            raise InvalidInput(f"from_block ({self.from_block}) is after to_block ({self.to_block})")
        for name in ("from_time", "to_time"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InvalidInput(f"{name} ({value.isoformat()}) has no timezone; add Z or an offset such as +09:00")
        if self.from_time is not None and self.to_time is not None and self.from_time > self.to_time:
            raise InvalidInput(
                f"from_time ({self.from_time.isoformat()}) is after to_time ({self.to_time.isoformat()})"
            )

    def filters(self, block: Any, block_time: Any) -> list[Any]:
        """WHERE clauses on a block-number column and a block-time column."""
        found = []
        if self.from_block is not None:
            found.append(block >= self.from_block)
        if self.to_block is not None:
            found.append(block <= self.to_block)
        # Bound in UTC: SQLite keeps the times as UTC text without their zone.
        if self.from_time is not None:
            found.append(block_time >= self.from_time.astimezone(UTC))
        if self.to_time is not None:
            found.append(block_time <= self.to_time.astimezone(UTC))
        return found


def indexed_block(session: Session) -> int | None:
    cursor = session.get(IndexerCursor, 1)
    return cursor.last_block if cursor else None


def _count(session: Session, statement: Any) -> int:
    counting = statement.with_only_columns(func.count(), maintain_column_froms=True).order_by(None)
    return int(session.scalar(counting) or 0)


def _page(
    session: Session, model: type[SQLModel], filters: Sequence[Any], order: Sequence[Any], limit: int, offset: int
) -> Rows[Any]:
    total = session.exec(select(func.count()).select_from(model).where(*filters)).one()
    rows = list(session.exec(select(model).where(*filters).order_by(*order).limit(limit).offset(offset)).all())
    return Rows(rows, int(total), indexed_block(session))


def _equal(**pairs: tuple[Any, Any]) -> list[Any]:
    """`column == value` for every pair whose value was given (None means: no filter)."""
    return [column == value for column, value in pairs.values() if value is not None]


def _log_order(model: Any) -> list[Any]:
    return [model.block_number, model.log_index]


# -- lists ----------------------------------------------------------------------------------------


def consents(
    session: Session,
    *,
    customer: str | None,
    brand: str | None,
    purpose: int | None,
    status: str | None,
    limit: int,
    offset: int,
    at: int | None = None,
) -> Rows[ConsentStanding]:
    """Current consents as the mirror holds them, by (customer, brand, purpose), each with its standing at
    `at` (Unix seconds; default: now by app.clock). The mirror stores only active and revoked: expiry is
    read off the clock here, so a consent past its end shows "expired" without any event."""
    m = MirrorConsent
    filters = _equal(
        customer=(m.customer, customer), brand=(m.brand, brand), purpose=(m.purpose, purpose), status=(m.status, status)
    )
    rows = _page(session, m, filters, [m.customer, m.brand, m.purpose], limit, offset)
    moment = clock.unix_now() if at is None else at
    return Rows([ConsentStanding.at(r, moment) for r in rows.items], rows.total, rows.indexed_block)


def consent_events(
    session: Session,
    window: Window,
    *,
    customer: str | None,
    brand: str | None,
    purpose: int | None,
    limit: int,
    offset: int,
) -> Rows[MirrorConsentEvent]:
    m = MirrorConsentEvent
    filters = window.filters(m.block_number, m.block_time)
    filters += _equal(customer=(m.customer, customer), brand=(m.brand, brand), purpose=(m.purpose, purpose))
    return _page(session, m, filters, _log_order(m), limit, offset)


def accesses(
    session: Session,
    window: Window,
    *,
    customer: str | None,
    brand: str | None,
    purpose: int | None,
    request_id: str | None,
    limit: int,
    offset: int,
) -> Rows[MirrorAccess]:
    m = MirrorAccess
    filters = window.filters(m.block_number, m.block_time)
    filters += _equal(
        customer=(m.customer, customer),
        brand=(m.brand, brand),
        purpose=(m.purpose, purpose),
        request_id=(m.request_id, request_id),
    )
    return _page(session, m, filters, [*_log_order(m), m.position], limit, offset)


def epochs(
    session: Session, window: Window, *, brand: str | None, limit: int, offset: int
) -> Rows[tuple[MirrorEpoch, list[MirrorEpochDebit]]]:
    """Published epochs (times: the publication block's) with each brand's debit."""
    m = MirrorEpoch
    filters = window.filters(m.block_number, m.block_time)
    if brand:
        debited = select(MirrorEpochDebit.epoch).where(MirrorEpochDebit.brand == brand)
        filters.append(col(m.epoch).in_(debited))
    page = _page(session, m, filters, [m.epoch], limit, offset)
    debits: dict[int, list[MirrorEpochDebit]] = {r.epoch: [] for r in page.items}
    if debits:
        found = session.exec(
            select(MirrorEpochDebit)
            .where(col(MirrorEpochDebit.epoch).in_(list(debits)))
            .order_by(col(MirrorEpochDebit.epoch), col(MirrorEpochDebit.position))
        ).all()
        for d in found:
            debits[d.epoch].append(d)
    return Rows([(r, debits[r.epoch]) for r in page.items], page.total, page.indexed_block)


def claims(session: Session, window: Window, *, customer: str | None, limit: int, offset: int) -> Rows[MirrorClaim]:
    m = MirrorClaim
    filters = window.filters(m.block_number, m.block_time)
    filters += _equal(account=(m.account, customer))
    return _page(session, m, filters, _log_order(m), limit, offset)


def budget_events(
    session: Session, window: Window, *, brand: str | None, kind: str | None, limit: int, offset: int
) -> Rows[MirrorBudgetEvent]:
    m = MirrorBudgetEvent
    filters = window.filters(m.block_number, m.block_time)
    filters += _equal(brand=(m.brand, brand), kind=(m.kind, kind))
    return _page(session, m, filters, _log_order(m), limit, offset)


def transfers(
    session: Session, window: Window, *, parties: Iterable[str | None], limit: int, offset: int
) -> Rows[MirrorTransfer]:
    """CASH transfers; each given party must be the sender or the recipient."""
    m = MirrorTransfer
    filters = window.filters(m.block_number, m.block_time)
    for party in parties:
        if party:
            filters.append(or_(col(m.from_address) == party, col(m.to_address) == party))
    return _page(session, m, filters, _log_order(m), limit, offset)


def brands(session: Session, *, registered: bool | None, limit: int, offset: int) -> Rows[MirrorBrand]:
    m = MirrorBrand
    filters = [] if registered is None else [m.registered == registered]
    return _page(session, m, filters, [m.first_registered_block, m.brand], limit, offset)


# -- a customer's trail ---------------------------------------------------------------------------

TrailKind = Literal[
    "consent_granted",
    "consent_narrowed",
    "consent_revoked",
    "access",
    "epoch_credit",
    "claim",
    "transfer_in",
    "transfer_out",
]
TRAIL_KINDS: tuple[str, ...] = get_args(TrailKind)

_LAST = 2**62  # sorts an event whose log index is unknown after the block's indexed events


@dataclass(frozen=True)
class TrailEntry:
    """One item of a customer's trail and where the chain shows it.

    `row` is the mirror row (consent event, access, claim, transfer) or, for an epoch credit, an
    `EpochCredit`.
    """

    kind: str
    block_number: int
    log_index: int | None
    position: int
    block_hash: str | None
    block_time: datetime
    tx_hash: str
    row: Any

    @property
    def order(self) -> tuple[int, int, int, int]:
        log_index = _LAST if self.log_index is None else self.log_index
        return (self.block_number, log_index, self.position, TRAIL_KINDS.index(self.kind))


def _entry(kind: str, row: Any, position: int = 0) -> TrailEntry:
    return TrailEntry(kind, row.block_number, row.log_index, position, row.block_hash, row.block_time, row.tx_hash, row)


def _first(session: Session, statement: Any, n: int) -> tuple[int, list[Any]]:
    """How many rows the statement yields, and its first n (the statement is already ordered)."""
    return _count(session, statement), list(session.exec(statement.limit(n)).all())


def _consent_changes(session: Session, customer: str, kinds: set[str], window: Window, n: int) -> tuple[int, list]:
    m = MirrorConsentEvent
    wanted = [k.removeprefix("consent_") for k in kinds if k.startswith("consent_")]
    statement = (
        select(m)
        .where(m.customer == customer, col(m.kind).in_(wanted), *window.filters(m.block_number, m.block_time))
        .order_by(*_log_order(m))
    )
    total, rows = _first(session, statement, n)
    return total, [_entry(f"consent_{r.kind}", r) for r in rows]


def _accesses(session: Session, customer: str, kinds: set[str], window: Window, n: int) -> tuple[int, list]:
    m = MirrorAccess
    statement = (
        select(m)
        .where(m.customer == customer, *window.filters(m.block_number, m.block_time))
        .order_by(*_log_order(m), col(m.position))
    )
    total, rows = _first(session, statement, n)
    return total, [_entry("access", r, r.position) for r in rows]


def _epoch_credits(session: Session, customer: str, kinds: set[str], window: Window, n: int) -> tuple[int, list]:
    # The credit takes effect when its epoch is published: it sits at the EpochPublished event, or at
    # the publishing block the epoch recorded while the mirror has not reached it yet.
    block = func.coalesce(MirrorEpoch.block_number, Epoch.block_number)
    block_time = func.coalesce(MirrorEpoch.block_time, Epoch.published_at)
    statement = (
        select(Epoch, EpochReward, MirrorEpoch)
        .join(EpochReward, col(EpochReward.epoch) == col(Epoch.number))
        .outerjoin(MirrorEpoch, col(MirrorEpoch.epoch) == col(Epoch.number))
        .where(
            EpochReward.account == customer.lower(),
            col(Epoch.status).in_([EpochStatus.PUBLISHED, EpochStatus.DONE]),
            col(Epoch.tx_hash).is_not(None),
            *window.filters(block, block_time),
        )
        .order_by(col(Epoch.number))
    )
    total, rows = _first(session, statement, n)
    entries = []
    for epoch, reward, published in rows:
        source = EpochCredit(
            epoch.number,
            epoch.as_of,
            reward.purchase_cashback,
            reward.access_earnings,
            reward.earned,
            reward.cumulative,
            published.root if published is not None else epoch.root,
        )
        if published is not None:
            entries.append(replace(_entry("epoch_credit", published), row=source))
        else:
            assert epoch.block_number is not None and epoch.published_at is not None and epoch.tx_hash
            at = TrailEntry(
                "epoch_credit", epoch.block_number, None, 0, None, epoch.published_at, epoch.tx_hash, source
            )
            entries.append(at)
    return total, entries


def _claims(session: Session, customer: str, kinds: set[str], window: Window, n: int) -> tuple[int, list]:
    m = MirrorClaim
    statement = (
        select(m).where(m.account == customer, *window.filters(m.block_number, m.block_time)).order_by(*_log_order(m))
    )
    total, rows = _first(session, statement, n)
    return total, [_entry("claim", r) for r in rows]


def _transfers(session: Session, customer: str, kinds: set[str], window: Window, n: int) -> tuple[int, list]:
    # A transfer to oneself is shown once, as outgoing.
    m = MirrorTransfer
    sides = []
    if "transfer_out" in kinds:
        sides.append(col(m.from_address) == customer)
    if "transfer_in" in kinds:
        sides.append(and_(col(m.to_address) == customer, col(m.from_address) != customer))
    statement = select(m).where(or_(*sides), *window.filters(m.block_number, m.block_time)).order_by(*_log_order(m))
    total, rows = _first(session, statement, n)
    return total, [_entry("transfer_out" if r.from_address == customer else "transfer_in", r) for r in rows]


_SOURCES = (
    ({"consent_granted", "consent_narrowed", "consent_revoked"}, _consent_changes),
    ({"access"}, _accesses),
    ({"epoch_credit"}, _epoch_credits),
    ({"claim"}, _claims),
    ({"transfer_in", "transfer_out"}, _transfers),
)


def trail(
    session: Session,
    customer: str,
    *,
    kinds: Iterable[str] | None,
    window: Window,
    limit: int,
    offset: int,
) -> Rows[TrailEntry]:
    """Everything about one customer (checksum address) in chain order, one page of it.

    Each source is read in chain order up to offset + limit rows, so the page is exact however long
    the trail is, and the sources are merged by (block, log index, position in the event).
    """
    wanted = set(kinds or TRAIL_KINDS)
    unknown = wanted - set(TRAIL_KINDS)
    if unknown:
        raise InvalidInput(f"kind: unknown {sorted(unknown)}; choose from {list(TRAIL_KINDS)}")
    total, streams = 0, []
    for covers, read in _SOURCES:
        if covers & wanted:
            found, entries = read(session, customer, covers & wanted, window, offset + limit)
            total += found
            streams.append(entries)
    merged = heapq.merge(*streams, key=lambda e: e.order)
    return Rows(list(islice(merged, offset, offset + limit)), total, indexed_block(session))
