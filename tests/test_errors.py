"""The domain's refusals: each exception keeps its name, status, code and place in the hierarchy, and the API
answers each with the same JSON body and Retry-After header."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import errors
from app.main import _install_error_handlers

# (class, parent, status, code, Retry-After): the API's contract, pinned.
TABLE = [
    (errors.LedgerError, Exception, 400, "bad_request", None),
    (errors.NotAuthenticated, errors.LedgerError, 401, "not_authenticated", None),
    (errors.Forbidden, errors.LedgerError, 403, "forbidden", None),
    (errors.NotFound, errors.LedgerError, 404, "not_found", None),
    (errors.ConsentNotFound, errors.NotFound, 404, "consent_not_found", None),
    (errors.Conflict, errors.LedgerError, 409, "conflict", None),
    (errors.InvalidInput, errors.LedgerError, 422, "invalid_input", None),
    (errors.InvalidSignature, errors.LedgerError, 400, "invalid_signature", None),
    (errors.SignatureExpired, errors.LedgerError, 400, "signature_expired", None),
    (errors.ConsentNotCovering, errors.LedgerError, 403, "consent_not_covering", None),
    (errors.InsufficientBudget, errors.LedgerError, 402, "insufficient_budget", None),
    (errors.InsufficientCash, errors.LedgerError, 422, "insufficient_cash", None),
    (errors.PayloadTooLarge, errors.LedgerError, 413, "payload_too_large", None),
    (errors.ChainUnavailable, errors.LedgerError, 503, "chain_unavailable", 5),
    (errors.ChainRefused, errors.LedgerError, 409, "chain_refused", None),
    (errors.ChainMismatch, errors.LedgerError, 503, "chain_mismatch", 60),
]


def test_every_refusal_is_in_the_table() -> None:
    declared = {c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.LedgerError)}
    assert declared == {row[0] for row in TABLE}


@pytest.mark.parametrize(
    ("cls", "parent", "status", "code", "retry_after"), TABLE, ids=lambda v: getattr(v, "__name__", None)
)
def test_refusal_keeps_its_status_code_and_body(cls, parent, status, code, retry_after) -> None:
    assert cls.__bases__ == (parent,) and (cls.status_code, cls.code) == (status, code)
    app = FastAPI()
    _install_error_handlers(app)

    @app.get("/refuse")
    def refuse() -> None:
        raise cls("what was wrong", field="x")

    answer = TestClient(app).get("/refuse")
    assert answer.status_code == status
    assert answer.json() == {"error": code, "message": "what was wrong", "detail": {"field": "x"}}
    assert answer.headers.get("retry-after") == (None if retry_after is None else str(retry_after))


def test_a_subclass_that_names_nothing_inherits_its_parents_status_and_code() -> None:
    class Gone(errors.NotFound): ...

    class Teapot(errors.LedgerError, status_code=418):
        code = "teapot"  # set in the body, the older way, still wins over the parent's

    assert (Gone.status_code, Gone.code) == (404, "not_found")
    assert (Teapot.status_code, Teapot.code) == (418, "teapot")
    assert errors.LedgerError.code == "bad_request"  # a subclass never changes its parent
