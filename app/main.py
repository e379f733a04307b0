"""The FastAPI application: routers, domain-error handlers, start-up (migrations, chain gateway)."""

from __future__ import annotations

import logging
import uuid
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app import db
from app.api.limits import install_rate_limits
from app.api.routes import audit as audit_routes
from app.api.routes import (
    auditors,
    auth,
    auto_claims,
    brand_access,
    brand_applications,
    brands,
    consents,
    crm_campaigns,
    crm_rules,
    epoch_trees,
    health,
    me,
    signed,
)
from app.api.routes import brand_rates as brand_rate_routes
from app.api.routes import crm_inbox as inbox_routes
from app.api.routes import crm_offers as offer_routes
from app.api.routes import crm_webhooks as webhook_routes
from app.api.routes import ingest as ingest_routes
from app.api.routes import ledger as ledger_routes
from app.api.routes import pages as page_routes
from app.api.routes import payments as payment_routes
from app.api.routes import upkeep as upkeep_routes
from app.api.security import HEADERS, SecurityHeaders
from app.chain.gateway import ChainGateway
from app.config import Settings, get_settings
from app.errors import LedgerError

log = logging.getLogger(__name__)


def _error(status: int, code: str, message: str, detail: object = None, headers: dict[str, str] | None = None):
    body: dict[str, object] = {"error": code, "message": message}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)


def _install_body_limit(app: FastAPI, settings: Settings) -> None:
    """Refuses a declared body over MAX_BODY_BYTES before reading it (bulk uploads stream, with their own limit)."""

    @app.middleware("http")
    async def limit_body(request: Request, call_next):  # type: ignore[no-untyped-def]
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > settings.max_body_bytes and not request.url.path.endswith("/bulk"):
            return _error(
                413, "payload_too_large", f"the request body exceeds {settings.max_body_bytes} bytes (MAX_BODY_BYTES)"
            )
        return await call_next(request)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LedgerError)
    async def ledger_error(_: Request, exc: LedgerError) -> JSONResponse:
        headers = None
        retry_after = getattr(exc, "retry_after", None)  # chain down, privacy budget spent, ...
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
        return _error(exc.status_code, exc.code, exc.message, exc.detail or None, headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"where": ".".join(str(p) for p in e["loc"]), "problem": e["msg"]} for e in exc.errors()]
        summary = "; ".join(f"{p['where']}: {p['problem']}" for p in problems[:5])
        return _error(422, "invalid_input", f"invalid request: {summary}", problems)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not the caller's fault: logged with its traceback, answered without internals.
        reference = uuid.uuid4().hex[:12]
        log.exception("unexpected error %s on %s %s", reference, request.method, request.url.path)
        # Answered by Starlette's outermost middleware, past SecurityHeaders: the headers are added here.
        message = f"something went wrong on our side (reference {reference})"
        return _error(500, "internal_error", message, headers=HEADERS)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, "http_error", str(exc.detail), headers=getattr(exc, "headers", None))


def create_app(settings: Settings | None = None) -> FastAPI:
    """The API for `settings` (default: from the environment). Migrates the database on start."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        db.migrate(settings)
        yield
        app.state.engine.dispose()

    app = FastAPI(
        title="Loyalty and data-consent ledger",
        description="Consents signed by customers, brands' accesses recorded on chain, rewards settled per epoch.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # /docs is served by the pages router, from npm (FastAPI's default loads a CDN)
        redoc_url=None,
    )
    page_routes.require_front_end_packages()
    app.state.settings = settings
    app.state.engine = db.make_engine(settings.sqlalchemy_url)
    app.state.gateway = ChainGateway(settings)
    _install_error_handlers(app)
    _install_body_limit(app, settings)
    install_rate_limits(app, settings)
    app.add_middleware(SecurityHeaders)
    for module in (health, auth, brands, auditors, signed, consents, me, auto_claims, upkeep_routes):
        app.include_router(module.router)
    app.include_router(ledger_routes.router)
    app.include_router(epoch_trees.router)
    app.include_router(audit_routes.router)
    app.include_router(ingest_routes.router)
    app.include_router(brand_access.router)
    app.include_router(brand_applications.router)  # brands that sign up themselves (issue 13 item 5)
    app.include_router(crm_rules.router)
    app.include_router(offer_routes.router)
    app.include_router(brand_rate_routes.router)  # brands' own earning rules (issue 14 item 6)
    app.include_router(payment_routes.router)  # spending CASH (issue 14 item 5)
    app.include_router(webhook_routes.router)
    app.include_router(inbox_routes.router)
    app.include_router(crm_campaigns.router)
    app.include_router(crm_campaigns.operations)
    app.include_router(page_routes.router)
    return app
