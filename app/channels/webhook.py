"""The webhook channel: HMAC-signed events to a brand's endpoint, retried with backoff, idempotent by event id."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

SIGNATURE_HEADER = "X-Ledger-Signature"
EVENT_HEADER = "X-Ledger-Event-Id"
# A signature older than this is refused by receivers (replay window), as Stripe's scheme does.
TOLERANCE_SECONDS = 300
_RETRIED_STATUSES = {408, 425, 429, 500, 502, 503, 504}


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`: the timestamp is signed, so a replay is dated."""
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: bytes, header: str, body: bytes, *, now: int | None = None) -> bool:
    """What a brand's receiver checks: the MAC matches and the timestamp is within the tolerance."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    current = int(time.time()) if now is None else now
    if abs(current - timestamp) > TOLERANCE_SECONDS:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


@dataclass(frozen=True)
class WebhookEvent:
    """One event for a brand: its id (the receiver's idempotency key), type and JSON payload."""

    event_id: str
    type: str  # "offer.delivered" | "offer.redeemed"
    payload: dict[str, Any]

    def body(self) -> bytes:
        """Canonical JSON, so every retry sends the very same bytes under the same signature scheme."""
        document = {"id": self.event_id, "type": self.type, "data": self.payload}
        return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


@dataclass
class WebhookOutcome:
    """What happened: delivered or not, after how many attempts, the last status or error."""

    delivered: bool
    attempts: int
    status: int | None = None
    error: str | None = None
    history: list[str] = field(default_factory=list)


def deliver(
    url: str,
    secret: bytes,
    event: WebhookEvent,
    *,
    attempts: int = 5,
    backoff_seconds: float = 0.5,
    timeout: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> WebhookOutcome:
    """POSTs the event until a 2xx, retrying timeouts, connection errors and retryable statuses with
    exponential backoff (a Retry-After header is honoured); other 4xx answers stop at once."""
    body = event.body()
    outcome = WebhookOutcome(delivered=False, attempts=0)
    with httpx.Client(timeout=timeout) as client:
        for attempt in range(1, attempts + 1):
            outcome.attempts = attempt
            headers = {
                "Content-Type": "application/json",
                EVENT_HEADER: event.event_id,
                SIGNATURE_HEADER: sign(secret, int(time.time()), body),
            }
            wait = backoff_seconds * 2 ** (attempt - 1)
            try:
                response = client.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                outcome.error = f"{type(exc).__name__}: {exc}"
                outcome.history.append(outcome.error)
            else:
                outcome.status = response.status_code
                outcome.history.append(str(response.status_code))
                if response.is_success:
                    outcome.delivered, outcome.error = True, None
                    return outcome
                outcome.error = f"the endpoint answered {response.status_code}"
                if response.status_code not in _RETRIED_STATUSES:
                    return outcome
                retry_after = response.headers.get("Retry-After", "")
                if retry_after.isdigit():
                    wait = max(wait, float(retry_after))
            if attempt < attempts:
                sleep(wait)
    return outcome
