"""Coupons at the till: a newly stored purchase carrying a code redeems the brand's coupon offer, when it may.

Ingestion calls `redeem` once per stored batch, in the batch's transaction, with the purchases it has
just inserted (never a duplicate: a re-sent external id redeems nothing twice). A code redeems when
the brand has a coupon offer with that code, valid at the purchase's time, delivered to that customer
before it, and the customer has used it fewer than `per_customer` times. Otherwise the code stays on
the purchase, unredeemed, and the ingest answer says why.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Table, func, insert, select
from sqlmodel import Session, col
from sqlmodel import select as select_rows

from app.models.crm import Delivery, Offer, OfferKind, Redemption
from app.models.purchases import Purchase
from app.services import channels_out

_OFFERS: Table = Offer.__table__  # type: ignore[attr-defined]
_DELIVERIES: Table = Delivery.__table__  # type: ignore[attr-defined]
_REDEMPTIONS: Table = Redemption.__table__  # type: ignore[attr-defined]

REASONS = {
    "unknown_code": "the brand has no coupon with this code",
    "not_valid": "the coupon was not valid at the purchase's time",
    "not_delivered": "the coupon was not delivered to this customer before the purchase",
    "used_up": "the customer has used this coupon as often as it allows",
}


@dataclass(frozen=True)
class CouponUse:
    """A purchase just stored with a coupon code."""

    purchase_id: int
    customer_id: int
    brand_id: int
    code: str
    purchased_at: datetime


@dataclass(frozen=True)
class CouponOutcome:
    purchase_id: int
    code: str
    redemption_id: int | None = None
    offer_id: int | None = None
    reason: str | None = None  # a key of REASONS when not redeemed

    @property
    def redeemed(self) -> bool:
        return self.redemption_id is not None

    def public(self) -> dict[str, object]:
        if self.redeemed:
            return {"code": self.code, "redeemed": True, "offer_id": self.offer_id}
        assert self.reason is not None
        return {"code": self.code, "redeemed": False, "reason": self.reason, "message": REASONS[self.reason]}


def normalise(code: str) -> str:
    """Codes match whatever case the till typed them in (offers store them upper-case)."""
    return code.strip().upper()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_Offer = tuple[int, int, datetime, datetime]  # id, per_customer, valid from, valid until (or ended)


def _offer(conn: Connection, brand_id: int, code: str) -> _Offer | None:
    row = conn.execute(
        select(_OFFERS.c.id, _OFFERS.c.per_customer, _OFFERS.c.valid_from, _OFFERS.c.valid_until, _OFFERS.c.ended_at)
        .where(_OFFERS.c.brand_id == brand_id, _OFFERS.c.coupon_code == code)
        .where(_OFFERS.c.kind == OfferKind.COUPON.value)
    ).first()
    if row is None:
        return None
    until = _utc(row.valid_until)
    return row.id, row.per_customer, _utc(row.valid_from), min(until, _utc(row.ended_at)) if row.ended_at else until


def _judge(conn: Connection, use: CouponUse, offer: _Offer | None, code: str) -> tuple[CouponOutcome, int | None]:
    """Whether the use may redeem: (outcome with its reason if not, the delivery it redeems if so)."""
    if offer is None:
        return CouponOutcome(use.purchase_id, code, reason="unknown_code"), None
    offer_id, per_customer, valid_from, until = offer
    at = _utc(use.purchased_at)
    if not valid_from <= at < until:
        return CouponOutcome(use.purchase_id, code, offer_id=offer_id, reason="not_valid"), None
    delivery = conn.execute(
        select(_DELIVERIES.c.id)
        .where(_DELIVERIES.c.offer_id == offer_id, _DELIVERIES.c.customer_id == use.customer_id)
        .where(_DELIVERIES.c.delivered_at <= at)
        .order_by(_DELIVERIES.c.delivered_at)
        .limit(1)
    ).scalar()
    if delivery is None:
        return CouponOutcome(use.purchase_id, code, offer_id=offer_id, reason="not_delivered"), None
    used = conn.execute(
        select(func.count())
        .select_from(_REDEMPTIONS)
        .where(_REDEMPTIONS.c.offer_id == offer_id, _REDEMPTIONS.c.customer_id == use.customer_id)
        .where(_REDEMPTIONS.c.purchase_id != use.purchase_id)
    ).scalar_one()
    if used >= per_customer:
        return CouponOutcome(use.purchase_id, code, offer_id=offer_id, reason="used_up"), None
    return CouponOutcome(use.purchase_id, code, offer_id=offer_id), delivery


def redeem(conn: Connection, uses: Iterable[CouponUse]) -> list[CouponOutcome]:
    """Redeems what may be redeemed, in the given order (inside the caller's transaction); one outcome each."""
    offers: dict[tuple[int, str], _Offer | None] = {}
    outcomes = []
    for use in uses:
        code = normalise(use.code)
        key = (use.brand_id, code)
        if key not in offers:
            offers[key] = _offer(conn, use.brand_id, code)
        outcome, delivery = _judge(conn, use, offers[key], code)
        if delivery is None:
            outcomes.append(outcome)
            continue
        at = _utc(use.purchased_at)
        redemption_id = conn.execute(
            insert(_REDEMPTIONS)
            .values(offer_id=outcome.offer_id, customer_id=use.customer_id, delivery_id=delivery,
                    purchase_id=use.purchase_id, redeemed_at=at)
            .returning(_REDEMPTIONS.c.id)
        ).scalar_one()  # fmt: skip
        payload = {
            "offer_id": outcome.offer_id,
            "redemption_id": redemption_id,
            "delivery_id": delivery,
            "purchase_id": use.purchase_id,
            "code": code,
            "redeemed_at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        channels_out.enqueue_webhook_on(conn, use.brand_id, "offer.redeemed", payload)
        outcomes.append(CouponOutcome(use.purchase_id, code, redemption_id=redemption_id, offer_id=outcome.offer_id))
    return outcomes


def outcome_of(session: Session, purchase: Purchase) -> CouponOutcome | None:
    """What became of a stored purchase's code (None without one): its redemption, or why there is none.

    A code not redeemed when its purchase was stored is never redeemed later (only ingestion redeems);
    were it redeemable now, it is because a delivery came after the purchase: not delivered in time."""
    if not purchase.coupon_code:
        return None
    assert purchase.id is not None
    redemption = session.exec(select_rows(Redemption).where(col(Redemption.purchase_id) == purchase.id)).first()
    if redemption is not None:
        return CouponOutcome(
            purchase.id, purchase.coupon_code, redemption_id=redemption.id, offer_id=redemption.offer_id
        )
    code = normalise(purchase.coupon_code)
    conn = session.connection()
    use = CouponUse(purchase.id, purchase.customer_id, purchase.brand_id, code, purchase.purchased_at)
    outcome, delivery = _judge(conn, use, _offer(conn, purchase.brand_id, code), code)
    if delivery is not None:
        return CouponOutcome(purchase.id, code, offer_id=outcome.offer_id, reason="not_delivered")
    return outcome
