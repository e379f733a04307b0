"""The customer's inbox of offers: list, one item with why, mark read, redeem."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import CurrentCustomer, SessionDep, SettingsDep
from app.api.schemas import MAX_OFFSET, DocumentedRoute, Id, errors
from app.api.schemas.inbox import InboxItemDetail, InboxItemPublic, InboxPage, RedeemPublic, WhyPublic
from app.services import inbox

router = APIRouter(prefix="/me/inbox", tags=["inbox"], route_class=DocumentedRoute, responses=errors(404, 409))

DeliveryId = Annotated[Id, Path(description="The inbox item's (delivery's) id")]


@router.get("")
def read_inbox(
    *,
    session: SessionDep,
    customer: CurrentCustomer,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> InboxPage:
    """The offers delivered to the customer, newest first (customer)."""
    items, total, unread = inbox.inbox(session, customer, limit=limit, offset=offset)
    return InboxPage(
        items=[InboxItemPublic.of(i) for i in items], total=total, unread=unread, limit=limit, offset=offset
    )


@router.get("/{delivery_id}")
def read_inbox_item(*, delivery_id: DeliveryId, session: SessionDep, customer: CurrentCustomer) -> InboxItemDetail:
    """One item with "why am I seeing this": the consent and the data used (customer)."""
    found = inbox.item(session, customer, delivery_id)
    return InboxItemDetail(**InboxItemPublic.of(found).model_dump(), why=WhyPublic.of(inbox.why(session, found)))


@router.post("/{delivery_id}/read")
def mark_inbox_item_read(*, delivery_id: DeliveryId, session: SessionDep, customer: CurrentCustomer) -> InboxItemPublic:
    """Marks the item read (customer)."""
    return InboxItemPublic.of(inbox.mark_read(session, customer, delivery_id))


@router.post("/{delivery_id}/redeem")
def redeem_inbox_item(
    *, delivery_id: DeliveryId, session: SessionDep, settings: SettingsDep, customer: CurrentCustomer
) -> RedeemPublic:
    """Redeems a gift, or shows a coupon's code for the till (customer)."""
    return RedeemPublic.of(inbox.redeem(session, settings, customer, delivery_id))
