"""Plain-Python offer bonuses, written apart from offers.py's SQL: the audit's re-derivation and the test oracle."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Offer:
    offer_id: int
    brand_id: int
    kind: str  # 'cashback_bps' | 'fixed_bonus' (others pay nothing through the epochs)
    bps: int
    bonus_units: int
    budget_units: int
    valid_from: datetime
    valid_until: datetime
    spent_before: int = 0


@dataclass(frozen=True)
class Purchase:
    id: int
    customer_id: int
    brand_id: int
    purchased_at: datetime
    amount: int


@dataclass(frozen=True)
class Line:
    offer_id: int
    customer_id: int
    purchase_id: int
    owed: int
    paid: int


def offer_lines(
    offers: Iterable[Offer],
    deliveries: Iterable[tuple[int, int, datetime]],
    purchases: Iterable[Purchase],
    paid_before: Iterable[tuple[int, int]],
    *,
    scale: int,
) -> list[Line]:
    """Each offer's lines in (offer, purchased_at, purchase id) order, walking its budget down by hand."""
    delivered: dict[tuple[int, int], datetime] = {}
    for offer_id, customer_id, at in deliveries:
        key = (offer_id, customer_id)
        delivered[key] = min(at, delivered.get(key, at))
    already = set(paid_before)
    by_customer_brand: dict[tuple[int, int], list[Purchase]] = {}
    for p in purchases:
        by_customer_brand.setdefault((p.customer_id, p.brand_id), []).append(p)
    lines: list[Line] = []
    for offer in sorted(offers, key=lambda o: o.offer_id):
        if offer.kind not in ("cashback_bps", "fixed_bonus"):
            continue
        candidates: list[tuple[datetime, int, int, int]] = []  # (at, purchase id, customer, owed)
        for (offer_id, customer_id), at in delivered.items():
            if offer_id != offer.offer_id:
                continue
            bought = sorted(
                (
                    p
                    for p in by_customer_brand.get((customer_id, offer.brand_id), [])
                    if p.purchased_at >= at and offer.valid_from <= p.purchased_at < offer.valid_until
                ),
                key=lambda p: (p.purchased_at, p.id),
            )
            if offer.kind == "fixed_bonus":
                if bought and (offer.offer_id, customer_id) not in already:
                    candidates.append((bought[0].purchased_at, bought[0].id, customer_id, offer.bonus_units))
            else:
                candidates += [(p.purchased_at, p.id, customer_id, p.amount * offer.bps * scale) for p in bought]
        left = offer.budget_units - offer.spent_before
        for _at, purchase_id, customer_id, owed in sorted(candidates):
            paid = max(0, min(owed, left))
            left -= paid
            lines.append(Line(offer.offer_id, customer_id, purchase_id, owed, paid))
    return lines
