"""The signed-in customer's choice of automatic claims (the relayer claims for them each finalised epoch)."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import CurrentCustomer, SessionDep
from app.api.schemas import DocumentedRoute
from app.api.schemas.auto_claims import AutoClaimChoice, AutoClaimLinePublic, AutoClaimPublic
from app.models.accounts import Customer
from app.services import auto_claims

router = APIRouter(prefix="/me", tags=["me"], route_class=DocumentedRoute)


def _public(session: SessionDep, customer: Customer) -> AutoClaimPublic:
    choice = auto_claims.opt_in(session, customer)
    return AutoClaimPublic(
        enabled=choice is not None,
        since=choice.since if choice else None,
        claims=[
            AutoClaimLinePublic.model_validate(c, from_attributes=True)
            for c in auto_claims.paid_claims(session, customer.address)
        ],
    )


@router.get("/auto-claim")
def read_auto_claim(*, customer: CurrentCustomer, session: SessionDep) -> AutoClaimPublic:
    """Whether the relayer claims for me automatically, and what it paid (customer)."""
    return _public(session, customer)


@router.put("/auto-claim")
def update_auto_claim(*, body: AutoClaimChoice, customer: CurrentCustomer, session: SessionDep) -> AutoClaimPublic:
    """Opts me in to automatic claims or out of them; off until I opt in (customer)."""
    auto_claims.set_opt_in(session, customer, body.enabled)
    return _public(session, customer)
