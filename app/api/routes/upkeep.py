"""Paid upkeep of the signed-in customer's profile: reminders per field, and confirming fields after one."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CurrentCustomer, SessionDep
from app.api.schemas import DocumentedRoute, errors
from app.api.schemas.upkeep import UpkeepConfirm, UpkeepEventPublic, UpkeepPublic
from app.services import upkeep

router = APIRouter(prefix="/me", tags=["me"], route_class=DocumentedRoute, responses=errors(409))


@router.get("/upkeep")
def read_upkeep(*, customer: CurrentCustomer, session: SessionDep) -> UpkeepPublic:
    """Each personal field's last update and confirmation, its reminder, what keeping it current earns (customer)."""
    return UpkeepPublic.of(upkeep.status(session, customer))


@router.post("/personal/confirm")
def confirm_personal(*, body: UpkeepConfirm, customer: CurrentCustomer, session: SessionDep) -> list[UpkeepEventPublic]:
    """Confirms the named fields are still right, each once its reminder is due; all or none (customer)."""
    events = upkeep.confirm(session, customer, body.fields)
    return [UpkeepEventPublic.model_validate(e, from_attributes=True) for e in events]
