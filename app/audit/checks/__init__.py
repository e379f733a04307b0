"""The audit's checks, one module each; `where` names the event a discrepancy concerns."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from app.audit.chain import ChainEvent

Fail = Callable[[dict[str, Any], Any, Any, str], None]  # (record fields, expected, found, evidence) of the epoch
MAX_LINES_LISTED = 10  # lines listed one by one when an epoch's stored lines differ; the rest are counted

K = TypeVar("K", bound=Hashable)


def where(e: ChainEvent, **more: Any) -> dict[str, Any]:
    """The record naming an event: its name and where the chain put it."""
    return {"event": e.name, "block": e.block, "log_index": e.log_index, "tx_hash": e.tx_hash} | more


def differing(stored: Mapping[K, Any], derived: Mapping[K, Any], *, what: str, epoch: int, fail: Fail) -> list[K]:
    """The keys whose stored and re-derived lines differ, the first MAX_LINES_LISTED of them in key order (the
    caller reports each); how many more differ is reported here in one line."""
    wrong = sorted(k for k in stored.keys() | derived.keys() if stored.get(k) != derived.get(k))  # type: ignore[type-var]
    if len(wrong) > MAX_LINES_LISTED:
        more = len(wrong) - MAX_LINES_LISTED
        fail({"field": what}, "", "", f"… and {more} more {what} of epoch {epoch} differ")
    return wrong[:MAX_LINES_LISTED]
