"""The audit's own reading of purchase voids: which voids an epoch applied, and their committed hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from app.audit.records import VoidRecord, epoch_us


def applied(voids: Iterable[VoidRecord], manifest: dict[str, Any] | None) -> list[VoidRecord]:
    """The voids an epoch applied: those up to its manifest's max_void_id (none for older manifests)."""
    limit = int((manifest or {}).get("max_void_id", 0))
    return [v for v in voids if v.id <= limit]


def voids_hash(voids: Iterable[VoidRecord]) -> str:
    """The committed voids_hash, written independently of the epoch job's DuckDB query (docs/epochs.md):
    sha256 over `id|purchase_id|voided_by|voided_at µs since 1970|sha256 hex of the reason` lines in id
    order, joined by newlines."""
    lines = [
        f"{v.id}|{v.purchase_id}|{v.voided_by}|{epoch_us(v.voided_at)}|{hashlib.sha256(v.reason.encode()).hexdigest()}"
        for v in sorted(voids, key=lambda v: v.id)
    ]
    return "0x" + hashlib.sha256("\n".join(lines).encode()).hexdigest()
