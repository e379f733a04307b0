"""The customer's personal data off chain: keeping it up to date, and erasing it on request (GDPR art. 17).

Erasure removes what describes the person: contact and demographic fields, the items of their
purchases (what they bought), their interest events, and their sessions. It keeps what the chain
and the money need and what identifies no one by itself: the pseudonymous address, each purchase's
amount, brand and time (rewards already earned stay payable, and epochs stay verifiable against
the hashes they committed), consent receipts (proof of consent, holding the address, no personal
fields). The chain holds no personal data, so nothing there changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlmodel import Session, col

from app.clock import utcnow
from app.domain import PERSONAL_FIELDS
from app.models.accounts import Customer
from app.models.auth import CustomerSession
from app.models.purchases import InterestEvent, Purchase, PurchaseItem
from app.services import upkeep

__all__ = ["KEPT_ON_ERASURE", "PERSONAL_FIELDS", "Erasure", "erase", "update_personal"]

KEPT_ON_ERASURE = (
    "Kept: your address (your identity on chain, which holds no personal data), each purchase's amount, brand "
    "and time (rewards you earned stay payable and settled epochs stay verifiable against what they committed), "
    "your consent receipts (the proof of what you agreed to, holding no personal fields) and the chain's records "
    "of accesses and claims. Your sessions end."
)
"""What erasure leaves and why, as the customer is told before and after (README, "Erasure")."""


@dataclass(frozen=True)
class Erasure:
    purchase_items: int
    interest_events: int
    fields: list[str]


def update_personal(session: Session, customer: Customer, changes: dict[str, object]) -> Customer:
    """Sets the given personal fields (None clears one); each field that really changed to a value is an upkeep
    event (app/services/upkeep.py), written in the same transaction."""
    unknown = [field for field in changes if field not in PERSONAL_FIELDS]
    if unknown:
        raise ValueError(f"not a personal field: {', '.join(unknown)}")
    before = {field: getattr(customer, field) for field in PERSONAL_FIELDS}
    for field, value in changes.items():
        setattr(customer, field, value)
    session.add(customer)
    upkeep.record_updates(session, customer, before)
    session.commit()
    session.refresh(customer)
    return customer


def erase(session: Session, customer: Customer) -> Erasure:
    """Erases the customer's personal data in one transaction; returns what was removed."""
    purchases = select(Purchase.id).where(Purchase.customer_id == customer.id)  # type: ignore[call-overload]
    # A DELETE's result is a CursorResult (it has rowcount); Session.execute is typed as returning a plain Result.
    items = cast(
        CursorResult[Any],
        session.execute(delete(PurchaseItem).where(col(PurchaseItem.purchase_id).in_(purchases))),
    )
    events = cast(
        CursorResult[Any],
        session.execute(delete(InterestEvent).where(col(InterestEvent.customer_id) == customer.id)),
    )
    cleared = [f for f in PERSONAL_FIELDS if getattr(customer, f) is not None]
    for field in PERSONAL_FIELDS:
        setattr(customer, field, None)
    customer.erased_at = utcnow()
    session.add(customer)
    upkeep.forget(session, customer)  # the erased values' hashes can no longer be tested against a guess
    session.execute(
        update(CustomerSession)
        .where(CustomerSession.customer_id == customer.id, CustomerSession.revoked_at.is_(None))  # type: ignore[arg-type,union-attr]
        .values(revoked_at=utcnow())
    )
    session.commit()
    return Erasure(items.rowcount or 0, events.rowcount or 0, cleared)
