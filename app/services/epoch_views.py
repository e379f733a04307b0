"""Auditors' aggregates over the computed epochs: customers per (R, F) cell and segment, rewards per epoch by source."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.models.epochs import Epoch, EpochReward, EpochScore, EpochStatus


@dataclass
class GridCell:
    r: int
    f: int
    customers: int = 0
    segments: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SegmentGrid:
    epoch: int | None  # None: no epoch computed yet
    scheme: str | None
    max_score: int
    cells: list[GridCell]
    segments: dict[str, int]  # customers per segment


def segment_grid(session: Session, epoch: int | None = None) -> SegmentGrid:
    """Customers per (R, F) cell and per segment at an epoch's end (default: the latest scored epoch)."""
    if epoch is None:
        epoch = session.exec(select(func.max(EpochScore.epoch))).one()
    row = session.get(Epoch, epoch) if epoch is not None else None
    if epoch is None or row is None:
        return SegmentGrid(epoch=None, scheme=None, max_score=3, cells=[], segments={})
    s = EpochScore
    counted = session.exec(
        select(s.r, s.f, s.segment, func.count()).where(s.epoch == epoch).group_by(col(s.r), col(s.f), col(s.segment))
    ).all()
    cells: dict[tuple[int, int], GridCell] = {}
    segments: dict[str, int] = {}
    for r, f, segment, n in counted:
        cell = cells.setdefault((r, f), GridCell(r, f))
        cell.customers += n
        cell.segments.append(segment)
        segments[segment] = segments.get(segment, 0) + n
    return SegmentGrid(
        epoch=epoch,
        scheme=row.scheme,
        max_score=5 if row.scheme == "quintile" else 3,
        cells=sorted(cells.values(), key=lambda c: (c.r, c.f)),
        segments=dict(sorted(segments.items())),
    )


@dataclass(frozen=True)
class EpochRewardsTotal:
    epoch: int
    status: str
    as_of: datetime
    from_block: int
    to_block: int
    accounts: int
    purchase_cashback: int
    access_earnings: int
    earned: int


def rewards_per_epoch(session: Session) -> list[EpochRewardsTotal]:
    """Rewards of every computed epoch (open ones have none yet), split by source."""
    totals = []
    for e in session.exec(select(Epoch).order_by(col(Epoch.number))).all():
        if e.status == EpochStatus.OPEN:
            continue
        rewards = session.exec(select(EpochReward).where(EpochReward.epoch == e.number)).all()
        # uint256 amounts: summed as Python ints, never floats.
        totals.append(
            EpochRewardsTotal(
                epoch=e.number,
                status=e.status,
                as_of=e.as_of,
                from_block=e.from_block,
                to_block=e.to_block,
                accounts=len(rewards),
                purchase_cashback=sum(int(r.purchase_cashback) for r in rewards),
                access_earnings=sum(int(r.access_earnings) for r in rewards),
                earned=sum(int(r.earned) for r in rewards),
            )
        )
    return totals
