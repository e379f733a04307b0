"""The brand console's offers: create (each kind's fields checked), list with budget spent, show, end."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from app.api.deps import ChainDep, CurrentBrand, SessionDep
from app.api.schemas import MAX_OFFSET, DocumentedRoute, Id, errors
from app.api.schemas.offers import OfferCreate, OfferPage, OfferPublic
from app.services import offers

router = APIRouter(prefix="/brands/me/offers", tags=["offers"], route_class=DocumentedRoute, responses=errors(404, 409))

OfferId = Annotated[Id, Path(description="The offer's id")]


@router.post("", status_code=201)
def create_offer(*, body: OfferCreate, session: SessionDep, chain: ChainDep, brand: CurrentBrand) -> OfferPublic:
    """A new offer; a monetary one's budget cap must fit the brand's unreserved budget on chain (brand)."""
    return OfferPublic.of(offers.create_offer(session, chain, brand, body.draft()))


@router.get("")
def read_offers(
    *,
    session: SessionDep,
    brand: CurrentBrand,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> OfferPage:
    """The brand's offers, newest first, with budget spent, deliveries and redemptions (brand)."""
    views, total = offers.list_offers(session, brand, limit=limit, offset=offset)
    return OfferPage(offers=[OfferPublic.of(v) for v in views], total=total, limit=limit, offset=offset)


@router.get("/{offer_id}")
def read_offer(*, offer_id: OfferId, session: SessionDep, brand: CurrentBrand) -> OfferPublic:
    """One of the brand's offers (brand)."""
    return OfferPublic.of(offers.view_offer(session, brand, offer_id))


@router.post("/{offer_id}/end")
def end_offer(*, offer_id: OfferId, session: SessionDep, brand: CurrentBrand) -> OfferPublic:
    """Ends the offer now: later purchases earn nothing from it and its coupon no longer redeems (brand)."""
    return OfferPublic.of(offers.end_offer(session, brand, offer_id))
