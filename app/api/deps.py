"""FastAPI dependencies as Annotated aliases: settings, database session, chain gateway, callers by role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.chain.gateway import ChainGateway
from app.config import Settings
from app.errors import Forbidden, NotAuthenticated
from app.models.accounts import Brand, Customer
from app.services import auth
from app.services.auth import Principal


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
