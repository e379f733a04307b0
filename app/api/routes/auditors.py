"""Auditors' read-only tokens, created and revoked by the operator."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.api.deps import OperatorDep, SessionDep
from app.api.schemas import DocumentedRoute, Id, Merged, errors
from app.api.schemas.auth import AuditorTokenCreate, AuditorTokenCreated, AuditorTokenPublic
from app.services import auth

router = APIRouter(prefix="/auditors", tags=["auditors"], route_class=DocumentedRoute, responses=errors(404))


@router.post("/tokens", status_code=201)
def create_auditor_token(*, body: AuditorTokenCreate, session: SessionDep, _: OperatorDep) -> AuditorTokenCreated:
    """A new read-only auditor token, shown once (operator)."""
    record, token = auth.create_auditor_token(session, body.label)
    return AuditorTokenCreated.model_validate(Merged(record, token=token), from_attributes=True)


@router.delete("/tokens/{token_id}")
def revoke_auditor_token(
    *, token_id: Annotated[Id, Path(description="The token's id")], session: SessionDep, _: OperatorDep
) -> AuditorTokenPublic:
    """Revokes an auditor token (operator)."""
    return AuditorTokenPublic.model_validate(auth.revoke_auditor_token(session, token_id), from_attributes=True)
