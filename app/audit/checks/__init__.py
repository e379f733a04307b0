"""The audit's checks, one module each; `where` names the event a discrepancy concerns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.audit.chain import ChainEvent


def where(e: ChainEvent, **more: Any) -> dict[str, Any]:
    """The record naming an event: its name and where the chain put it."""
    return {"event": e.name, "block": e.block, "log_index": e.log_index, "tx_hash": e.tx_hash} | more
