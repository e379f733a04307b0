"""Auditors' read-only tokens, created and revoked by the operator."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from app.api.deps import OperatorDep, SessionDep
from app.api.schemas import DocumentedRoute, Id, Timestamp, errors
from app.services import auth

router = APIRouter(prefix="/auditors", tags=["auditors"], route_class=DocumentedRoute, responses=errors(404))


class AuditorTokenCreate(BaseModel):
    label: str = Field(default="", max_length=100)


class AuditorTokenPublic(BaseModel):
    id: int
    label: str
    prefix: str
    created_at: Timestamp
    revoked_at: Timestamp | None


class AuditorTokenCreated(AuditorTokenPublic):
    token: str = Field(description="Shown once; only its hash is stored")


@router.post("/tokens", status_code=201)
def create_auditor_token(*, body: AuditorTokenCreate, session: SessionDep, _: OperatorDep) -> AuditorTokenCreated:
    """A new read-only auditor token, shown once (operator)."""
    record, token = auth.create_auditor_token(session, body.label)
    return AuditorTokenCreated(**record.model_dump(), token=token)


@router.delete("/tokens/{token_id}")
def revoke_auditor_token(
    *, token_id: Annotated[Id, Path(description="The token's id")], session: SessionDep, _: OperatorDep
) -> AuditorTokenPublic:
    """Revokes an auditor token (operator)."""
    return AuditorTokenPublic.model_validate(auth.revoke_auditor_token(session, token_id), from_attributes=True)
