"""My data as brands see it: the profile brands receive, per category who may see it now and who saw it when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.chain.gateway import ChainGateway
from app.config import Settings
from app.domain import ALL_CATEGORIES, Category, Purpose
from app.models.accounts import Brand, Customer
from app.models.mirror import MirrorAccess, MirrorConsent
from app.services import access
from app.services.audience import Candidate, ChainTime, Filters, Scope, chain_now

# Each category's fields as the profile document names them (app/services/access.py build_profiles).
CATEGORY_FIELDS: dict[Category, tuple[str, ...]] = {
    Category.CONTACT: ("name", "email", "phone"),
    Category.DEMOGRAPHICS: ("birth_year", "gender", "region"),
    Category.PURCHASES: ("count", "total_won", "last_purchased_at"),
    Category.SEGMENT: ("epoch", "r", "f", "m", "segment", "tier"),
    Category.INTERESTS: ("score per product category",),
    Category.STYLES: (f"top {access.TOP_STYLES} styles with their score",),
    Category.CART: ("adds", "abandons"),
}


@dataclass(frozen=True)
class Viewer:
    """A brand whose live consent covers a category now: for which purpose, at what price, until when."""

    brand: str
    brand_name: str | None
    purpose: int
    price: int
    granted_at: int
    expires_at: int


@dataclass(frozen=True)
class Sighting:
    """A recorded access that included a category: who, when, why, at what price, in which transaction."""

    brand: str
    brand_name: str | None
    purpose: int
    at: datetime  # the block's time
    price: int
    tx_hash: str
    block_number: int
    request_id: str


@dataclass(frozen=True)
class CategoryView:
    category: Category
    fields: tuple[str, ...]
    may_see: list[Viewer]
    saw: list[Sighting]

    @property
    def name(self) -> str:
        return str(self.category.name).lower()


@dataclass(frozen=True)
class MyData:
    address: str
    block_number: int
    chain_time: int
    erased_at: datetime | None
    profile: dict[str, Any]  # exactly what a brand asking every category would receive (without its price)
    categories: list[CategoryView]


def held_profile(session: Session, settings: Settings, customer: Customer) -> dict[str, Any]:
    """The profile document a brand granted every category receives for this customer (its price left out).

    Built by the same code as brands' profiles; the purpose does not change which fields a profile holds."""
    scope = Scope(int(Purpose.MARKETING), ALL_CATEGORIES)
    me = Candidate(customer.id, customer.address, 0)  # type: ignore[arg-type]
    scores, interests = access.dimensions(session, settings, scope, Filters(), [me])
    (profile,) = access.build_profiles(session, scope, [me], {me.address: 0}, scores, interests)
    del profile["price"]
    return profile


def my_data(session: Session, settings: Settings, chain: ChainGateway, customer: Customer) -> MyData:
    """Every field held about the customer by category, with the brands whose consent covers it at the chain's
    time and the recorded accesses that included it (session: the mirror caught up)."""
    now = chain_now(chain)
    profile = held_profile(session, settings, customer)
    viewers = live_consents(session, customer.address, now)
    sightings = recorded_accesses(session, customer.address)
    categories = [
        CategoryView(
            category,
            CATEGORY_FIELDS[category],
            [v for v, mask in viewers if mask & category],
            [s for s, mask in sightings if mask & category],
        )
        for category in Category
    ]
    return MyData(customer.address, now.block, now.timestamp, customer.erased_at, profile, categories)


def _brand_names(session: Session) -> dict[str, str]:
    return {address.lower(): name for address, name in session.exec(select(Brand.address, Brand.name)).all()}


def live_consents(session: Session, address: str, now: ChainTime) -> list[tuple[Viewer, int]]:
    """(viewer, categories) of each mirrored consent in force at chain time `now` (the registry's covering test)."""
    names = _brand_names(session)
    rows = session.exec(
        select(MirrorConsent)
        .where(func.lower(MirrorConsent.customer) == address.lower(), MirrorConsent.status == "active")
        .order_by(col(MirrorConsent.brand), col(MirrorConsent.purpose))
    ).all()
    return [
        (Viewer(c.brand, names.get(c.brand.lower()), c.purpose, c.price, c.granted_at, c.expires_at), c.categories)
        for c in rows
        if c.expires_at == 0 or c.expires_at > now.timestamp
    ]


def recorded_accesses(session: Session, address: str) -> list[tuple[Sighting, int]]:
    """(sighting, categories) of every access recorded on chain to this customer, newest first."""
    names = _brand_names(session)
    rows = session.exec(
        select(MirrorAccess)
        .where(func.lower(MirrorAccess.customer) == address.lower())
        .order_by(col(MirrorAccess.block_number).desc(), col(MirrorAccess.log_index).desc())
    ).all()
    return [
        (
            Sighting(
                a.brand,
                names.get(a.brand.lower()),
                a.purpose,
                a.block_time,
                a.price,
                a.tx_hash,
                a.block_number,
                a.request_id,
            ),
            a.categories,
        )
        for a in rows
    ]
