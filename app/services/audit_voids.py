"""The audit's own reading of purchase voids: which voids an epoch applied, and their committed hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from app.models.purchases import PurchaseVoid

_EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class VoidRecord:
    id: int
    purchase_id: int
    voided_by: str
    voided_at: datetime  # naive UTC
    reason: str


def load_voids(engine: Engine) -> list[VoidRecord]:
    """Every void in id order."""
    with Session(engine) as session:
        rows = session.exec(select(PurchaseVoid).order_by(PurchaseVoid.id)).all()  # type: ignore[arg-type]
    return [
        VoidRecord(
            int(v.id),  # type: ignore[arg-type]
            v.purchase_id,
            v.voided_by,
            v.voided_at.astimezone(UTC).replace(tzinfo=None) if v.voided_at.tzinfo else v.voided_at,
            v.reason,
        )
        for v in rows
    ]


def applied(voids: Iterable[VoidRecord], manifest: dict[str, Any] | None) -> list[VoidRecord]:
    """The voids an epoch applied: those up to its manifest's max_void_id (none for older manifests)."""
    limit = int((manifest or {}).get("max_void_id", 0))
    return [v for v in voids if v.id <= limit]


def voids_hash(voids: Iterable[VoidRecord]) -> str:
    """The committed voids_hash, written independently of the epoch job's DuckDB query (docs/epochs.md):
    sha256 over `id|purchase_id|voided_by|voided_at µs since 1970|sha256 hex of the reason` lines in id
    order, joined by newlines."""
    lines = [
        f"{v.id}|{v.purchase_id}|{v.voided_by}|{(v.voided_at - _EPOCH) // timedelta(microseconds=1)}|"
        f"{hashlib.sha256(v.reason.encode()).hexdigest()}"
        for v in sorted(voids, key=lambda v: v.id)
    ]
    return "0x" + hashlib.sha256("\n".join(lines).encode()).hexdigest()
