"""The domain's exceptions: one root, meaningful subclasses, each with the HTTP status it maps to."""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """Root of every refusal the API explains to its caller."""

    status_code = 400
    code = "bad_request"

    # A subclass names its status and code in its header, so the list below reads as the API's table of refusals.
    def __init_subclass__(cls, *, status_code: int | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if status_code is not None:
            cls.status_code = status_code
        if code is not None:
            cls.code = code

    def __init__(self, message: str, **detail: Any):
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotAuthenticated(LedgerError, status_code=401, code="not_authenticated"): ...


class Forbidden(LedgerError, status_code=403, code="forbidden"): ...


class NotFound(LedgerError, status_code=404, code="not_found"): ...


class ConsentNotFound(NotFound, code="consent_not_found"): ...


class Conflict(LedgerError, status_code=409, code="conflict"): ...


class InvalidInput(LedgerError, status_code=422, code="invalid_input"): ...


class InvalidSignature(LedgerError, status_code=400, code="invalid_signature"): ...


class SignatureExpired(LedgerError, status_code=400, code="signature_expired"): ...


class ConsentNotCovering(LedgerError, status_code=403, code="consent_not_covering"): ...


class InsufficientBudget(LedgerError, status_code=402, code="insufficient_budget"): ...


class InsufficientCash(LedgerError, status_code=422, code="insufficient_cash"): ...


class PayloadTooLarge(LedgerError, status_code=413, code="payload_too_large"): ...


class ChainUnavailable(LedgerError, status_code=503, code="chain_unavailable"):
    """The chain does not answer; chain-dependent routes answer 503 with Retry-After."""

    retry_after = 5


class ChainRefused(LedgerError, status_code=409, code="chain_refused"):
    """A contract refused the transaction with a named custom error."""


class ChainMismatch(LedgerError, status_code=503, code="chain_mismatch"):
    """The RPC endpoint serves a different chain (genesis) than the one indexed."""

    retry_after = 60
