"""The one clock: now in UTC, RFC 3339 text, Unix seconds and microseconds (the chain's time: services/signatures).

Every moment the application makes or reads is aware and in UTC. The database hands times back naive
(SQLite keeps no zone); those were all written in UTC, so a naive time is read as UTC here, never as
local time. The chain's clock (the latest block's timestamp) is read by
`app.services.signatures.chain_time`: what the contracts judge by is the chain's time, not ours.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utcnow() -> datetime:
    """Now, aware, in UTC (SQLModel stores every timestamp in UTC)."""
    return datetime.now(UTC)


def unix_now() -> int:
    """Now in whole Unix seconds, the unit the contracts keep times in."""
    return int(time.time())


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC; a naive one is taken to be UTC already (as the database returns them)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def from_unix(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def to_unix(moment: datetime) -> int:
    """Whole Unix seconds (a fraction is dropped, as the chain would)."""
    return int(as_utc(moment).timestamp())


def epoch_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01 UTC, exactly (DuckDB's `epoch_us`; no float on the way)."""
    delta = as_utc(moment) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def rfc3339(moment: datetime, *, digits: int = 6) -> str:
    """`2026-05-01T00:00:00.000000Z`: UTC with `Z` and a fixed number of fraction digits (0, 3 or 6)."""
    text = as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{as_utc(moment).microsecond:06d}"[:digits]
    return text + "Z"


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 / ISO-8601 time with its zone, in UTC. A time without a zone is refused, not guessed.

    Raises ValueError with a message saying what to write instead."""
    try:
        # Python < 3.11 reads neither a 'Z' nor every fraction length; RFC 3339 also allows 't' and 'z'.
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00").replace("t", "T"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 time; write e.g. 2026-01-01T00:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError(f"{moment.isoformat()} has no timezone; add Z or an offset such as +09:00")
    return moment.astimezone(UTC)
