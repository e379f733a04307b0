"""A brand's webhook endpoint: set it (with a signing secret shown once) and read it with its outbox's state."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import func
from sqlmodel import select

from app.api.deps import CurrentBrand, SessionDep, SettingsDep
from app.api.schemas import DocumentedRoute, errors
from app.api.schemas.webhooks import WebhookPublic, WebhookUpdate
from app.errors import NotFound
from app.models.crm import WebhookEvent
from app.services import channels_out

router = APIRouter(prefix="/brands/me/webhook", tags=["offers"], route_class=DocumentedRoute, responses=errors(404))


@router.put("")
def update_webhook(
    *, body: WebhookUpdate, session: SessionDep, settings: SettingsDep, brand: CurrentBrand
) -> WebhookPublic:
    """Sets where the brand is told of each delivery and redemption, HMAC-signed (brand)."""
    config = channels_out.set_webhook(session, settings, brand, body.url, rotate_secret=body.rotate_secret)
    return WebhookPublic(url=config.hook.url, created_at=config.hook.created_at, secret=config.secret)


@router.get("")
def read_webhook(*, session: SessionDep, brand: CurrentBrand) -> WebhookPublic:
    """The brand's endpoint and how many events wait or failed (brand)."""
    hook = channels_out.get_webhook(session, brand)
    if hook is None:
        raise NotFound("this brand has set no webhook: PUT /brands/me/webhook")
    counts = dict(
        session.exec(  # type: ignore[call-overload]
            select(WebhookEvent.status, func.count())
            .where(WebhookEvent.brand_id == brand.id)
            .group_by(WebhookEvent.status)
        ).all()
    )
    return WebhookPublic(
        url=hook.url, created_at=hook.created_at, pending=counts.get("pending", 0), failed=counts.get("failed", 0)
    )
