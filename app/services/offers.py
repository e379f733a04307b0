"""Offers: a brand creates, lists, shows and ends them; every kind's own fields, dates and budget checked first."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.chain.gateway import ChainGateway
from app.clock import utcnow
from app.errors import Conflict, InvalidInput, NotFound
from app.models.accounts import Brand
from app.models.crm import MONETARY_KINDS, Delivery, Offer, OfferKind, Redemption
from app.models.offer_payouts import EpochOfferLine
from app.services.access import budget_on_chain

MAX_BPS = 10_000
MAX_PER_CUSTOMER = 1_000
# Upper-case letters, digits and inner hyphens, 4–40 long: what a till keys in and a receipt prints.
COUPON_CODE = re.compile(r"^[A-Z0-9](?:[A-Z0-9-]{2,38})[A-Z0-9]$")

# The value fields each kind takes (all others must be left out): a stray field is a mistake, not a no-op.
KIND_FIELDS: dict[OfferKind, tuple[str, ...]] = {
    OfferKind.CASHBACK_BPS: ("bps",),
    OfferKind.FIXED_BONUS: ("bonus_units",),
    OfferKind.COUPON: ("coupon_code", "discount"),
    OfferKind.GIFT: ("discount",),
    OfferKind.MESSAGE: ("body",),
    OfferKind.PAGE: ("body",),
}
VALUE_FIELDS = ("bps", "bonus_units", "coupon_code", "discount", "body")


@dataclass(frozen=True)
class OfferDraft:
    """What a brand asks for; the route's model has checked the types, this module checks the rules."""

    name: str
    kind: OfferKind
    terms: str
    valid_from: datetime
    valid_until: datetime
    budget_units: int = 0
    per_customer: int = 1
    bps: int | None = None
    bonus_units: int | None = None
    coupon_code: str | None = None
    discount: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class OfferView:
    """An offer with what it has done: budget paid through the epochs, deliveries and redemptions."""

    offer: Offer
    spent: int
    delivered: int
    redeemed: int

    @property
    def remaining(self) -> int:
        return max(self.offer.budget_units - self.spent, 0)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def ends_at(offer: Offer) -> datetime:
    """The end of the offer's validity: its `valid_until`, or when the brand ended it, whichever is first."""
    until = _aware(offer.valid_until)
    return min(until, _aware(offer.ended_at)) if offer.ended_at else until


def _problems(draft: OfferDraft, now: datetime) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []

    def refuse(field: str, problem: str) -> None:
        problems.append({"where": f"body.{field}", "problem": problem})

    if not draft.terms.strip():
        refuse("terms", "the terms shown to the customer are required")
    if not draft.name.strip():
        refuse("name", "a name is required")
    wanted = KIND_FIELDS[draft.kind]
    for name in VALUE_FIELDS:
        value = getattr(draft, name)
        if name in wanted and (value is None or (isinstance(value, str) and not value.strip())):
            refuse(name, f"a {draft.kind.value} offer needs {name}")
        elif name not in wanted and value is not None:
            refuse(name, f"a {draft.kind.value} offer takes no {name} (it takes {', '.join(wanted)})")
    if _aware(draft.valid_until) <= _aware(draft.valid_from):
        refuse("valid_until", "must be after valid_from")
    elif _aware(draft.valid_until) <= now:
        refuse("valid_until", "lies in the past: the offer would never be valid")
    if draft.kind == OfferKind.CASHBACK_BPS and draft.bps is not None and not 0 < draft.bps <= MAX_BPS:
        refuse("bps", f"extra cashback is in basis points in (0, {MAX_BPS}]")
    if draft.kind == OfferKind.FIXED_BONUS and draft.bonus_units is not None and draft.bonus_units <= 0:
        refuse("bonus_units", "a fixed bonus pays a positive number of CASH units")
    if draft.kind in MONETARY_KINDS:
        if draft.budget_units <= 0:
            refuse("budget_units", "a monetary offer needs a budget cap above 0 (CASH units)")
        elif draft.kind == OfferKind.FIXED_BONUS and draft.bonus_units and draft.budget_units < draft.bonus_units:
            refuse("budget_units", f"the budget cap {draft.budget_units} cannot pay one bonus of {draft.bonus_units}")
    elif draft.budget_units:
        refuse("budget_units", f"a {draft.kind.value} offer pays nothing through the epochs: leave the budget at 0")
    if draft.kind in (OfferKind.COUPON, OfferKind.GIFT):
        if not 1 <= draft.per_customer <= MAX_PER_CUSTOMER:
            refuse("per_customer", f"redemptions per customer are 1 … {MAX_PER_CUSTOMER}")
    elif draft.per_customer != 1:
        refuse("per_customer", f"a {draft.kind.value} offer is not redeemed: per_customer stays 1")
    if draft.kind == OfferKind.COUPON and draft.coupon_code and not COUPON_CODE.match(draft.coupon_code):
        refuse("coupon_code", "4–40 characters: letters A–Z, digits and inner hyphens (e.g. SPRING-10)")
    if draft.kind == OfferKind.PAGE and draft.body:
        link = urlsplit(draft.body.strip())
        if link.scheme not in ("https", "http") or not link.netloc:
            refuse("body", "a page offer's body is the page's http(s) address")
    return problems


def _refuse(problems: list[dict[str, str]]) -> None:
    if problems:
        summary = "; ".join(f"{p['where']}: {p['problem']}" for p in problems)
        raise InvalidInput(f"invalid offer: {summary}", problems=problems)


def create_offer(session: Session, chain: ChainGateway, brand: Brand, draft: OfferDraft) -> OfferView:
    """Checks the draft (kind's fields, dates, budget against the chain, coupon code) and records it."""
    if draft.coupon_code is not None:
        draft = replace(draft, coupon_code=draft.coupon_code.strip().upper())
    problems = _problems(draft, utcnow())
    if draft.kind == OfferKind.COUPON and draft.coupon_code:
        taken = session.exec(
            select(Offer.id).where(Offer.brand_id == brand.id, Offer.coupon_code == draft.coupon_code)
        ).first()
        if taken is not None:
            problems.append(
                {"where": "body.coupon_code", "problem": f"offer {taken} of this brand already uses this code"}
            )
    if draft.kind in MONETARY_KINDS and draft.budget_units > 0:
        budget, reserved = budget_on_chain(chain, brand)
        unreserved = max(budget - reserved, 0)
        if draft.budget_units > unreserved:
            problems.append(
                {
                    "where": "body.budget_units",
                    "problem": f"an offer over budget: the cap {draft.budget_units} is above the brand's "
                    f"unreserved budget on chain, {unreserved} (budget {budget}, reserved {reserved})",
                }
            )
    _refuse(problems)
    offer = Offer(
        brand_id=brand.id,  # type: ignore[arg-type]
        name=draft.name.strip(),
        kind=draft.kind.value,
        terms=draft.terms.strip(),
        bps=draft.bps,
        bonus_units=draft.bonus_units,
        coupon_code=draft.coupon_code,
        discount=draft.discount.strip() if draft.discount else None,
        body=draft.body.strip() if draft.body else None,
        budget_units=draft.budget_units,
        per_customer=draft.per_customer,
        valid_from=_aware(draft.valid_from),
        valid_until=_aware(draft.valid_until),
    )
    session.add(offer)
    try:
        session.commit()
    except IntegrityError:  # a concurrent create took the code between the check and the insert
        session.rollback()
        _refuse([{"where": "body.coupon_code", "problem": "another offer of this brand already uses this code"}])
    session.refresh(offer)
    return OfferView(offer, 0, 0, 0)


def _views(session: Session, offers: list[Offer]) -> list[OfferView]:
    ids = [o.id for o in offers]
    if not ids:
        return []
    spent: dict[int, int] = {}
    for offer_id, paid in session.exec(
        select(EpochOfferLine.offer_id, EpochOfferLine.paid).where(col(EpochOfferLine.offer_id).in_(ids))
    ).all():
        spent[offer_id] = spent.get(offer_id, 0) + int(paid)
    delivered = dict(
        session.exec(  # type: ignore[call-overload]
            select(Delivery.offer_id, func.count())
            .where(col(Delivery.offer_id).in_(ids))
            .group_by(col(Delivery.offer_id))
        ).all()
    )
    redeemed = dict(
        session.exec(  # type: ignore[call-overload]
            select(Redemption.offer_id, func.count())
            .where(col(Redemption.offer_id).in_(ids))
            .group_by(col(Redemption.offer_id))
        ).all()
    )
    return [
        OfferView(o, spent.get(o.id, 0), int(delivered.get(o.id, 0)), int(redeemed.get(o.id, 0)))  # type: ignore[arg-type]
        for o in offers
    ]


def list_offers(session: Session, brand: Brand, *, limit: int, offset: int) -> tuple[list[OfferView], int]:
    """The brand's offers, newest first, with what each has spent; and how many there are."""
    where = Offer.brand_id == brand.id
    total = int(session.exec(select(func.count()).select_from(Offer).where(where)).one())
    rows = session.exec(select(Offer).where(where).order_by(col(Offer.id).desc()).limit(limit).offset(offset)).all()
    return _views(session, list(rows)), total


def get_offer(session: Session, brand: Brand, offer_id: int) -> Offer:
    offer = session.get(Offer, offer_id)
    if offer is None or offer.brand_id != brand.id:
        raise NotFound(f"this brand has no offer {offer_id}")
    return offer


def view_offer(session: Session, brand: Brand, offer_id: int) -> OfferView:
    return _views(session, [get_offer(session, brand, offer_id)])[0]


def end_offer(session: Session, brand: Brand, offer_id: int) -> OfferView:
    """Ends the offer now: no purchase after this earns from it, no coupon redeems, no rule delivers it.

    Epochs already computed are not touched (their purchases are all before now)."""
    offer = get_offer(session, brand, offer_id)
    now = utcnow()
    if offer.ended_at is not None:
        raise Conflict(f"offer {offer_id} was ended already, at {_aware(offer.ended_at):%Y-%m-%dT%H:%M:%SZ}")
    if ends_at(offer) <= now:
        raise Conflict(f"offer {offer_id} is over already (valid until {ends_at(offer):%Y-%m-%dT%H:%M:%SZ})")
    offer.ended_at = now
    session.add(offer)
    session.commit()
    session.refresh(offer)
    return _views(session, [offer])[0]


def is_live(offer: Offer, at: datetime) -> bool:
    """Whether the offer is valid at `at`: inside [valid_from, end) where the end is the earlier of
    valid_until and when it was ended."""
    return _aware(offer.valid_from) <= _aware(at) < ends_at(offer)


def describe(offer: Offer) -> str:
    """What the offer gives, in one sentence for the customer (inbox, e-mail)."""
    match offer.kind:
        case OfferKind.CASHBACK_BPS:
            return f"{(offer.bps or 0) / 100:g}% extra cashback on your purchases until {ends_at(offer):%Y-%m-%d}"
        case OfferKind.FIXED_BONUS:
            whole, part = divmod(offer.bonus_units or 0, 10**18)
            amount = f"{whole}" + (f".{part:018d}".rstrip("0") if part else "")
            return f"a bonus of {amount} CASH on your next purchase until {ends_at(offer):%Y-%m-%d}"
        case OfferKind.COUPON:
            return f"{offer.discount}: show code {offer.coupon_code} at the till"
        case OfferKind.GIFT:
            return f"a gift for you: {offer.discount}"
        case _:
            return offer.body or offer.name
