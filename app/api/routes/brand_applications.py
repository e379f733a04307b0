"""Brand sign-up: apply with a wallet (anyone), status and first key (the applicant), decisions (operator)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import ChainDep, OperatorDep, SessionDep, SettingsDep
from app.api.schemas import DocumentedRoute, Id, Merged, errors
from app.api.schemas.brand_applications import (
    ApplicationCreate,
    ApplicationCreated,
    ApplicationPublic,
    ApplicationRefusal,
    ApplicationToken,
    KeyCollect,
)
from app.api.schemas.brands import ApiKeyCreated
from app.models.brand_applications import ApplicationStatus, BrandApplication
from app.services import brand_applications

router = APIRouter(
    prefix="/brand-applications", tags=["brands"], route_class=DocumentedRoute, responses=errors(400, 401, 404, 409)
)

ApplicationId = Annotated[Id, Path(description="The application's id")]


def _public(application: BrandApplication) -> ApplicationPublic:
    collected = application.key_collected_at is not None
    return ApplicationPublic.model_validate(Merged(application, key_collected=collected), from_attributes=True)


@router.post("", status_code=201)
def create_application(
    *, body: ApplicationCreate, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> ApplicationCreated:
    """A brand signs up with its wallet: a signed SIWE message from /auth/siwe/nonce; pending until decided (anyone)."""
    application, token = brand_applications.apply(session, settings, chain, body.name, body.message, body.signature)
    return ApplicationCreated(application=_public(application), token=token)


@router.post("/status")
def read_application_status(*, body: ApplicationToken, session: SessionDep) -> ApplicationPublic:
    """The applicant's application, by the token its sign-up returned (anyone)."""
    return _public(brand_applications.by_token(session, body.token))


@router.post("/keys", status_code=201)
def collect_application_key(*, body: KeyCollect, session: SessionDep) -> ApiKeyCreated:
    """The approved brand's first API key, shown once, by the sign-up's token (anyone)."""
    record, key = brand_applications.collect_key(session, body.token, body.label)
    return ApiKeyCreated.model_validate(Merged(record, key=key), from_attributes=True)


@router.get("")
def read_applications(
    *,
    session: SessionDep,
    _: OperatorDep,
    status: Annotated[ApplicationStatus | None, Query(description="Only applications in this state")] = None,
) -> list[ApplicationPublic]:
    """Brand applications, oldest first (operator)."""
    return [_public(a) for a in brand_applications.applications(session, status)]


@router.post("/{application_id}/approve")
def approve_application(
    *, application_id: ApplicationId, session: SessionDep, chain: ChainDep, _: OperatorDep
) -> ApplicationPublic:
    """Approves a pending application: the brand is registered in the ConsentRegistry and recorded (operator)."""
    return _public(brand_applications.approve(session, chain, application_id))


@router.post("/{application_id}/refuse")
def refuse_application(
    *, application_id: ApplicationId, body: ApplicationRefusal, session: SessionDep, _: OperatorDep
) -> ApplicationPublic:
    """Refuses a pending application, with a reason the applicant reads; nothing goes on chain (operator)."""
    return _public(brand_applications.refuse(session, application_id, body.reason))
