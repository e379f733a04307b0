"""Sign-in routes: SIWE nonce and verification for customers, sign-out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials

from app.api.deps import ChainDep, CurrentCustomer, SessionDep, SettingsDep, _bearer
from app.api.schemas import DocumentedRoute, errors
from app.api.schemas.auth import NoncePublic, NonceRequest, SessionPublic, SignedInPublic, SiweVerify
from app.services import auth

router = APIRouter(prefix="/auth", tags=["auth"], route_class=DocumentedRoute, responses=errors(400))


@router.post("/siwe/nonce")
def create_siwe_nonce(
    *, body: NonceRequest, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> NoncePublic:
    """A one-time nonce and the Sign-In with Ethereum message for `address` (anyone)."""
    nonce, message = auth.issue_nonce(session, settings, body.address, chain.chain_id)
    return NoncePublic(nonce=nonce, message=message)


@router.post("/siwe/verify")
def verify_siwe(*, body: SiweVerify, session: SessionDep, settings: SettingsDep, chain: ChainDep) -> SessionPublic:
    """Checks the signed SIWE message and returns a customer session token (anyone)."""
    token, expires_at, address = auth.verify_siwe(session, settings, chain, body.message, body.signature)
    return SessionPublic(token=token, expires_at=expires_at, address=address)


@router.post("/logout", status_code=204)
def logout(
    *,
    customer: CurrentCustomer,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials, Depends(_bearer)],
) -> None:
    """Ends the calling customer's session (customer)."""
    auth.end_session(session, credentials.credentials)


@router.get("/me")
def read_me(*, customer: CurrentCustomer) -> SignedInPublic:
    """The signed-in customer's address (customer)."""
    return SignedInPublic.model_validate(customer, from_attributes=True)
