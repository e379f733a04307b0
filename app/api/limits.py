"""Rate limits (the `limits` library, moving windows): per client address, per bearer identity, and on sign-in.

Every request counts against its client address; a request with a bearer token also counts against that
identity (a hash of the token, so one customer, brand key or auditor cannot starve the others); the two
unauthenticated writes, `POST /auth/siwe/nonce` and `/auth/siwe/verify`, have their own, tighter limit per
address. Over a limit: 429 with Retry-After (seconds until the window lets the next request through).
"""

from __future__ import annotations

import hashlib
import math
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.config import Settings

SIGN_IN_PATHS = frozenset({"/auth/siwe/nonce", "/auth/siwe/verify"})


def _identity(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def install_rate_limits(app: FastAPI, settings: Settings) -> None:
    """Adds the limits as middleware (nothing when RATE_LIMIT_ENABLED is off)."""
    if not settings.rate_limit_enabled:
        return
    limiter = MovingWindowRateLimiter(storage_from_string(settings.rate_limit_storage))
    per_client = parse(settings.rate_limit_per_client)
    per_identity = parse(settings.rate_limit_per_identity)
    sign_in = parse(settings.rate_limit_sign_in)

    def over(item: RateLimitItem, *key: str) -> int | None:
        """None if the hit is allowed, else the seconds to wait."""
        if limiter.hit(item, *key):
            return None
        reset = limiter.get_window_stats(item, *key).reset_time
        return max(1, math.ceil(reset - time.time()))

    @app.middleware("http")
    async def rate_limit(request: Request, call_next):  # type: ignore[no-untyped-def]
        client = request.client.host if request.client else "unknown"
        checks: list[tuple[RateLimitItem, tuple[str, ...], str]] = [(per_client, ("client", client), "this address")]
        identity = _identity(request)
        if identity is not None:
            checks.append((per_identity, ("identity", identity), "these credentials"))
        if request.method == "POST" and request.url.path in SIGN_IN_PATHS:
            checks.append((sign_in, ("sign-in", client), "sign-in from this address"))
        for item, key, who in checks:
            wait = over(item, *key)
            if wait is not None:
                return JSONResponse(
                    {
                        "error": "rate_limited",
                        "message": f"too many requests for {who} (limit {item}); retry in {wait} s",
                        "detail": {"limit": str(item), "retry_after": wait},
                    },
                    status_code=429,
                    headers={"Retry-After": str(wait)},
                )
        return await call_next(request)
