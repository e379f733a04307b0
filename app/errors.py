"""The domain's exceptions: one root, meaningful subclasses, each with the HTTP status it maps to."""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    """Root of every refusal the API explains to its caller."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **detail: Any):
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotAuthenticated(LedgerError):
    status_code = 401
    code = "not_authenticated"


class Forbidden(LedgerError):
    status_code = 403
    code = "forbidden"


class NotFound(LedgerError):
    status_code = 404
    code = "not_found"


class ConsentNotFound(NotFound):
    code = "consent_not_found"


class Conflict(LedgerError):
    status_code = 409
    code = "conflict"


class InvalidInput(LedgerError):
    status_code = 422
    code = "invalid_input"


class InvalidSignature(LedgerError):
    status_code = 400
    code = "invalid_signature"


class SignatureExpired(LedgerError):
    status_code = 400
    code = "signature_expired"


class ConsentNotCovering(LedgerError):
    status_code = 403
    code = "consent_not_covering"


class InsufficientBudget(LedgerError):
    status_code = 402
    code = "insufficient_budget"


class PayloadTooLarge(LedgerError):
    status_code = 413
    code = "payload_too_large"


class ChainUnavailable(LedgerError):
    """The chain does not answer; chain-dependent routes answer 503 with Retry-After."""

    status_code = 503
    code = "chain_unavailable"
    retry_after = 5


class ChainRefused(LedgerError):
    """A contract refused the transaction with a named custom error."""

    status_code = 409
    code = "chain_refused"


class ChainMismatch(LedgerError):
    """The RPC endpoint serves a different chain (genesis) than the one indexed."""

    status_code = 503
    code = "chain_mismatch"
    retry_after = 60
