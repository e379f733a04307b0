"""The wallet's inbox: a customer's deliveries, newest first; why each reached them; read; redeem.

"Why am I seeing this" comes from the delivery's own record (`why`, written by `deliver` when it was
made): the trigger, and — when the targeting read data — the consent that covered it (its receipt,
purpose and categories) and the values used. A gift is redeemed here (a Redemption and an
`offer.redeemed` event); a coupon shows its code for the till, where the purchase redeems it; money
offers pay through the epochs by themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.clock import utcnow
from app.config import Settings
from app.db import lock_for_writing
from app.domain import Purpose, category_names
from app.errors import Conflict, NotFound
from app.models.accounts import Brand, Customer
from app.models.consents import ConsentReceipt
from app.models.crm import MONETARY_KINDS, Delivery, Offer, OfferKind, Redemption
from app.services import channels_out
from app.services.offers import describe, ends_at, is_live


@dataclass(frozen=True)
class InboxItem:
    """One delivery as the customer sees it: the offer, its brand, and what they did with it."""

    delivery: Delivery
    offer: Offer
    brand: Brand
    redeemed: int

    @property
    def description(self) -> str:
        return describe(self.offer)

    @property
    def how_to_use(self) -> str:
        kind = self.offer.kind
        if kind in MONETARY_KINDS:
            return "nothing to do: it is paid with your cashback at the next epoch after a qualifying purchase"
        if kind == OfferKind.COUPON:
            return "show the code at the till; the purchase redeems it"
        if kind == OfferKind.GIFT:
            return "redeem it here, then collect it from the brand"
        return "nothing to redeem"


@dataclass(frozen=True)
class ConsentUsed:
    receipt_id: str | None
    purpose: str
    categories: list[str]
    receipt_hash: str | None


@dataclass(frozen=True)
class Why:
    """Why the customer got this delivery: what fired it, the consent that covered it, the data used."""

    trigger: str | None
    event: str | None
    source: str
    reads_data: bool
    consent: ConsentUsed | None
    data_used: dict[str, Any]


@dataclass(frozen=True)
class RedeemResult:
    item: InboxItem
    redemption: Redemption | None  # a gift handed over
    code: str | None  # a coupon's code to show at the till
    message: str


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _items(session: Session, customer: Customer, deliveries: list[Delivery]) -> list[InboxItem]:
    offer_ids = sorted({d.offer_id for d in deliveries})
    offers = {o.id: o for o in session.exec(select(Offer).where(col(Offer.id).in_(offer_ids)))}
    brands = {
        b.id: b for b in session.exec(select(Brand).where(col(Brand.id).in_({o.brand_id for o in offers.values()})))
    }
    used = dict(
        session.exec(  # type: ignore[call-overload]
            select(Redemption.offer_id, func.count())
            .where(Redemption.customer_id == customer.id, col(Redemption.offer_id).in_(offer_ids))
            .group_by(col(Redemption.offer_id))
        ).all()
    )
    return [
        InboxItem(d, offers[d.offer_id], brands[offers[d.offer_id].brand_id], int(used.get(d.offer_id, 0)))
        for d in deliveries
    ]


def inbox(session: Session, customer: Customer, *, limit: int, offset: int) -> tuple[list[InboxItem], int, int]:
    """(items newest first, how many in all, how many unread)."""
    mine = Delivery.customer_id == customer.id
    total = int(session.exec(select(func.count()).select_from(Delivery).where(mine)).one())
    unread = int(
        session.exec(select(func.count()).select_from(Delivery).where(mine, col(Delivery.read_at).is_(None))).one()
    )
    rows = session.exec(
        select(Delivery)
        .where(mine)
        .order_by(col(Delivery.delivered_at).desc(), col(Delivery.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return _items(session, customer, list(rows)), total, unread


def _delivery(session: Session, customer: Customer, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.customer_id != customer.id:
        raise NotFound(f"your inbox holds no item {delivery_id}")
    return delivery


def item(session: Session, customer: Customer, delivery_id: int) -> InboxItem:
    return _items(session, customer, [_delivery(session, customer, delivery_id)])[0]


def why(session: Session, found: InboxItem) -> Why:
    """The delivery's reason, from its record; the consent named by receipt id, purpose and categories."""
    document: dict[str, Any] = json.loads(found.delivery.why or "{}")
    consent = None
    reads = bool(document.get("categories"))
    if reads or found.delivery.consent_receipt_id:
        receipt = (
            session.get(ConsentReceipt, found.delivery.consent_receipt_id)
            if found.delivery.consent_receipt_id
            else None
        )
        purpose = document.get("purpose") or (Purpose(receipt.purpose).name.lower() if receipt else "")
        consent = ConsentUsed(
            receipt_id=found.delivery.consent_receipt_id,
            purpose=str(purpose),
            categories=list(document.get("categories") or (category_names(receipt.categories) if receipt else [])),
            receipt_hash=(document.get("consent") or {}).get("receipt_hash")
            or (receipt.receipt_hash if receipt else None),
        )
    return Why(
        trigger=document.get("trigger"),
        event=document.get("event"),
        source=found.delivery.source,
        reads_data=reads,
        consent=consent,
        data_used=dict(document.get("values") or {}),
    )


def mark_read(session: Session, customer: Customer, delivery_id: int) -> InboxItem:
    delivery = _delivery(session, customer, delivery_id)
    if delivery.read_at is None:  # the first reading is the one kept
        delivery.read_at = utcnow()
        session.add(delivery)
        session.commit()
        session.refresh(delivery)
    return _items(session, customer, [delivery])[0]


def redeem(session: Session, settings: Settings, customer: Customer, delivery_id: int) -> RedeemResult:
    """A gift: recorded as a Redemption (within the offer's validity and its per-customer allowance) and the
    brand told (`offer.redeemed`); a coupon: its code to show at the till. Other kinds are not redeemed."""
    lock_for_writing(session.connection())  # the count of redemptions holds until the new one is committed
    delivery = _delivery(session, customer, delivery_id)
    found = _items(session, customer, [delivery])[0]
    offer = found.offer
    if offer.kind == OfferKind.COUPON:
        if not is_live(offer, utcnow()):
            raise Conflict(
                f"this coupon is valid from {_aware(offer.valid_from):%Y-%m-%d} until {ends_at(offer):%Y-%m-%d}"
            )
        if found.redeemed >= offer.per_customer:
            raise Conflict(f"you have used this coupon {found.redeemed} time(s), as often as it allows")
        return RedeemResult(
            found, None, offer.coupon_code, f"show code {offer.coupon_code} at the till: {offer.discount}"
        )
    if offer.kind != OfferKind.GIFT:
        raise Conflict(f"a {offer.kind} offer is not redeemed: {found.how_to_use}")
    if not is_live(offer, utcnow()):
        raise Conflict(
            f"this gift could be redeemed from {_aware(offer.valid_from):%Y-%m-%d} until {ends_at(offer):%Y-%m-%d}"
        )
    if found.redeemed >= offer.per_customer:
        raise Conflict(f"you have redeemed this gift {found.redeemed} time(s), as often as it allows")
    redemption = Redemption(offer_id=offer.id, customer_id=customer.id, delivery_id=delivery.id)  # type: ignore[arg-type]
    session.add(redemption)
    session.flush()
    channels_out.enqueue_webhook(
        session,
        offer.brand_id,
        "offer.redeemed",
        {
            "offer_id": offer.id,
            "redemption_id": redemption.id,
            "delivery_id": delivery.id,
            "customer": customer.address,
            "redeemed_at": _aware(redemption.redeemed_at).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        },
    )
    session.commit()
    session.refresh(redemption)
    if channels_out.get_webhook(session, found.brand) is not None:
        channels_out.run_webhooks(session.get_bind(), settings, brand_id=offer.brand_id, inline=True)  # type: ignore[arg-type]
    return RedeemResult(
        _items(session, customer, [delivery])[0],
        redemption,
        None,
        f"redeemed: collect {offer.discount} from {found.brand.name}",
    )
