"""The Customer-Offer-Channel map of a brand: its rules' audiences × offers × channels, with reach and results.

A row's "customer" is the audience the rule aimed at (segment, tier, RFM cell, interest, behaviour change,
everyone), not a grade read from each customer: a map must not tell the brand a dimension a customer did
not consent to share. Reach: deliveries and distinct customers. Results per customer reached, counted from
their first delivery in the cell: redemptions of the offer since, and conversion = a purchase at the brand
after that delivery and before the offer's validity ends.
"""

from __future__ import annotations

import bisect
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.models.accounts import Brand
from app.models.crm import Delivery, Offer, Redemption, Rule, TriggerKind
from app.models.purchases import Purchase
from app.services.audience import chunks


@dataclass
class Cell:
    """One audience × offer × channel."""

    audience: str  # the label of the rules' audience
    offer_id: int
    offer_name: str
    channel: str
    rule_ids: list[int] = field(default_factory=list)
    deliveries: int = 0
    customers: int = 0
    redemptions: int = 0
    conversions: int = 0

    @property
    def conversion_rate(self) -> float | None:
        return self.conversions / self.customers if self.customers else None


@dataclass(frozen=True)
class OfferRef:
    id: int
    name: str
    kind: str


@dataclass(frozen=True)
class CocMap:
    audiences: list[str]
    offers: list[OfferRef]
    channels: list[str]
    cells: list[Cell]


def audience_label(rule: Rule) -> str:
    """How the map names a rule's audience: its filters and, for behaviour and cart rules, the trigger."""
    audience: dict[str, Any] = json.loads(rule.audience)
    parts: list[str] = []
    if audience.get("everyone"):
        parts.append("everyone")
    for key in ("segment", "tier", "rfm"):
        if key in audience:
            parts.append(f"{key} {audience[key]}")
    for key, name in (("category", "interest"), ("style", "style")):
        if key in audience:
            floor = f" ≥ {audience['min_score']:g}" if "min_score" in audience else ""
            parts.append(f"{name} {audience[key]}{floor}")
    if rule.trigger == TriggerKind.BEHAVIOUR:
        parts.append(f"on {rule.trigger_event}")
    elif rule.trigger == TriggerKind.CART_ABANDONED:
        parts.append("on cart abandoned")
    return " · ".join(parts) or "anyone"


def coc_map(session: Session, brand: Brand) -> CocMap:
    """The brand's map over every delivery its rules (and campaigns, through their rules) made."""
    offers = {o.id: o for o in session.exec(select(Offer).where(Offer.brand_id == brand.id)).all()}
    rules = {r.id: r for r in session.exec(select(Rule).where(Rule.brand_id == brand.id)).all()}
    labels = {rid: audience_label(r) for rid, r in rules.items()}
    cells: dict[tuple[str, int, str], Cell] = {}
    first: dict[tuple[str, int, str], dict[int, datetime]] = defaultdict(dict)
    for rule in rules.values():  # every rule has a cell, reached or not
        key = (labels[rule.id], rule.offer_id, rule.channel)
        cell = cells.setdefault(key, Cell(key[0], rule.offer_id, offers[rule.offer_id].name, rule.channel))
        cell.rule_ids.append(rule.id)  # type: ignore[arg-type]
    for offer_ids in chunks(sorted(offers)):
        for rule_id, offer_id, channel, customer_id, delivered_at in session.execute(
            sa.select(
                col(Delivery.rule_id),
                col(Delivery.offer_id),
                col(Delivery.channel),
                col(Delivery.customer_id),
                col(Delivery.delivered_at),
            ).where(col(Delivery.offer_id).in_(offer_ids), col(Delivery.rule_id).is_not(None))
        ).all():
            key = (labels[rule_id], offer_id, channel)  # type: ignore[index]
            cells[key].deliveries += 1
            at = _aware(delivered_at)
            seen = first[key].get(customer_id)
            first[key][customer_id] = at if seen is None else min(seen, at)
    reached = sorted({c for customers in first.values() for c in customers})
    purchases: dict[int, list[datetime]] = defaultdict(list)
    for ids in chunks(reached):
        for customer_id, purchased_at in session.exec(
            select(Purchase.customer_id, Purchase.purchased_at).where(
                Purchase.brand_id == brand.id, col(Purchase.customer_id).in_(ids)
            )
        ).all():
            purchases[customer_id].append(_aware(purchased_at))
    for times in purchases.values():
        times.sort()
    redeemed: dict[tuple[int, int], list[datetime]] = defaultdict(list)
    for offer_ids in chunks(sorted(offers)):
        for offer_id, customer_id, redeemed_at in session.exec(
            select(Redemption.offer_id, Redemption.customer_id, Redemption.redeemed_at).where(
                col(Redemption.offer_id).in_(offer_ids)
            )
        ).all():
            redeemed[(offer_id, customer_id)].append(_aware(redeemed_at))
    for key, customers in first.items():
        cell = cells[key]
        until = _aware(offers[cell.offer_id].valid_until)
        cell.customers = len(customers)
        for customer_id, since in customers.items():
            times = purchases.get(customer_id, [])
            after = bisect.bisect_right(times, since)
            if after < len(times) and times[after] < until:
                cell.conversions += 1
            cell.redemptions += sum(1 for t in redeemed.get((cell.offer_id, customer_id), []) if t >= since)
    ordered = sorted(cells.values(), key=lambda c: (c.audience, c.offer_id, c.channel))
    return CocMap(
        audiences=sorted({c.audience for c in ordered}),
        offers=[OfferRef(int(o.id or 0), o.name, o.kind) for o in sorted(offers.values(), key=lambda o: o.id or 0)],
        channels=sorted({c.channel for c in ordered}),
        cells=ordered,
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
