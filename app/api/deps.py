"""FastAPI dependencies as Annotated aliases: settings, database session, chain gateway, callers by role."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session

from app.chain.gateway import ChainGateway
from app.chain.indexer import refresh_mirror
from app.config import Settings
from app.errors import Forbidden, NotAuthenticated
from app.models.accounts import Brand, Customer
from app.services import auth
from app.services.auth import Principal

log = logging.getLogger(__name__)


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def get_gateway(request: Request) -> ChainGateway:
    return request.app.state.gateway


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
ChainDep = Annotated[ChainGateway, Depends(get_gateway)]


def get_fresh_mirror(session: SessionDep, settings: SettingsDep, chain: ChainDep) -> Session:
    """The request's session over mirror tables caught up with the chain's confirmed head.

    When the chain does not answer, the session serves the mirror as indexed (each page says its
    `indexed_block`) instead of refusing: a mirror read needs no chain, and a route that also acts on the
    chain answers 503 from that call itself. The indexer thread catches the mirror up once the chain is back.
    """
    if not refresh_mirror(settings, engine=cast(Engine, session.get_bind()), gateway=chain):
        log.warning("the chain does not answer: serving the mirror as indexed")
    return session


FreshMirrorDep = Annotated[Session, Depends(get_fresh_mirror)]

_bearer = HTTPBearer(auto_error=False, description="Customer session, brand API key, auditor token or admin key")


def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise NotAuthenticated("missing credentials: send `Authorization: Bearer <token>`")
    return auth.authenticate(session, settings, credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def _require(principal: Principal, *roles: str) -> Principal:
    if principal.role not in roles:
        raise Forbidden(f"this route is for {' or '.join(roles)}; you are signed in as {principal.role}")
    return principal


def current_customer(principal: PrincipalDep) -> Customer:
    _require(principal, "customer")
    assert principal.customer is not None
    return principal.customer


def current_brand(principal: PrincipalDep) -> Brand:
    _require(principal, "brand")
    assert principal.brand is not None
    return principal.brand


def require_operator(principal: PrincipalDep) -> Principal:
    return _require(principal, "operator")


def require_auditor(principal: PrincipalDep) -> Principal:
    """Auditors and the operator may read the ledger."""
    return _require(principal, "auditor", "operator")


CurrentCustomer = Annotated[Customer, Depends(current_customer)]
CurrentBrand = Annotated[Brand, Depends(current_brand)]
OperatorDep = Annotated[Principal, Depends(require_operator)]
AuditorDep = Annotated[Principal, Depends(require_auditor)]
