"""The audit's own reading of the life of a reward: which refunds an epoch applied, and their committed hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from app.audit.records import RefundRecord, epoch_us


def applied(refunds: Iterable[RefundRecord], manifest: dict[str, Any] | None) -> list[RefundRecord]:
    """The refunds an epoch applied: those up to its manifest's max_refund_id (none for older manifests)."""
    limit = int((manifest or {}).get("max_refund_id", 0))
    return [r for r in refunds if r.id <= limit]


def refunds_hash(refunds: Iterable[RefundRecord]) -> str:
    """The committed refunds_hash, written apart from the epoch job's DuckDB query (docs/epochs.md): sha256
    over `id|purchase_id|amount|refunded_at µs since 1970` lines in id order, joined by newlines."""
    lines = [
        f"{r.id}|{r.purchase_id}|{r.amount}|{epoch_us(r.refunded_at)}" for r in sorted(refunds, key=lambda r: r.id)
    ]
    return "0x" + hashlib.sha256("\n".join(lines).encode()).hexdigest()
