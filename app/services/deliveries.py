"""Deliveries: the one way an offer reaches customers, under their consent at that moment (docs/crm.md).

`deliver` checks, for a rule that reads data, each customer's consent at the chain's time (mirror brought
up to the confirmed head first, the covering test of the registry), records ONE access batch for the
covered customers at each one's price by the recorder (app/services/access.py's record_batch, shared with
profile requests: the same 402s, the same skip-and-report), and writes a `Delivery` for each customer the
registry recorded, never for one it skipped. An audience of "everyone of the brand" reads no data: no
consent, no access. Deliveries are idempotent by (offer, customer, source).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, col, select

from app.chain.gateway import ChainGateway
from app.chain.indexer import catch_up
from app.clock import utcnow
from app.config import Settings
from app.domain import category_names
from app.errors import Conflict, InvalidInput
from app.models.accounts import Brand
from app.models.consents import ConsentReceipt
from app.models.crm import Campaign, Delivery, Offer, Rule
from app.models.mirror import MirrorConsent
from app.services import channels_out
from app.services.access import brand_lock, limits_on_chain, mark_delivered, record_batch
from app.services.audience import Candidate, Scope, addresses_of, chain_now, chunks, consenting
from app.services.offers import ends_at, is_live


@dataclass
class DeliveryReport:
    """What one call delivered, and to whom it did not (not covered or skipped by the registry, or already)."""

    delivered: list[Delivery] = field(default_factory=list)
    not_covered: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    access_request_id: str | None = None
    cost: int = 0
    gas_used: int = 0
    # Why each customer of `not_covered` got nothing: "not_covered" (no covering consent at the chain's
    # time), or the registry's skip reason (price_above_maximum, over_allowance, over_budget, …).
    reasons: dict[int, str] = field(default_factory=dict)

    def add(self, part: DeliveryReport) -> None:
        """Sums another call's report into this one."""
        self.delivered += part.delivered
        self.not_covered += part.not_covered
        self.already += part.already
        self.reasons |= part.reasons
        self.cost += part.cost
        self.gas_used += part.gas_used
        self.access_request_id = part.access_request_id or self.access_request_id


def offer_live(offer: Offer, at: datetime | None = None) -> bool:
    """Whether the offer may be delivered at `at` (now): inside its validity, which an early end cuts short."""
    return is_live(offer, at or utcnow())


def deliver(
    session: Session,
    settings: Settings,
    chain: ChainGateway,
    *,
    rule: Rule,
    offer: Offer,
    customer_ids: list[int],
    source: str,
    campaign_id: int | None = None,
    why: Mapping[int, dict[str, Any]] | None = None,
) -> DeliveryReport:
    """Delivers `offer` through `rule`'s channel to those of `customer_ids` the rule may reach now.

    `why` gives, per customer, the values the targeting used (shown in the wallet's "why am I seeing this").
    Raises InvalidInput for an offer of another brand, Conflict for an offer outside its validity,
    InsufficientBudget (402) when the budget or the recorder's allowance cannot pay the batch.
    """
    if offer.brand_id != rule.brand_id:
        raise InvalidInput(f"offer {offer.id} belongs to another brand than rule {rule.id}")
    if not offer_live(offer):
        raise Conflict(
            f"offer {offer.id} is valid from {_aware(offer.valid_from):%Y-%m-%dT%H:%M:%SZ} until "
            f"{ends_at(offer):%Y-%m-%dT%H:%M:%SZ}; it cannot be delivered now"
        )
    brand = session.get(Brand, rule.brand_id)
    assert brand is not None and brand.id is not None
    report = DeliveryReport()
    wanted = sorted(set(customer_ids))
    with brand_lock(brand.id):
        done = _already(session, offer, source, wanted)
        report.already = [c for c in wanted if c in done]
        todo = [c for c in wanted if c not in done]
        if not todo:
            return report
        scope = Scope(rule.purpose, rule.categories)
        recorded: list[Candidate]
        record = None
        if rule.categories == 0:
            # Everyone of the brand: nothing about the customer is read, so no consent and no access.
            recorded = [Candidate(cid, address, 0) for cid, address in sorted(addresses_of(session, todo).items())]
            prices: dict[str, int] = {}
        else:
            catch_up(settings, engine=session.get_bind(), gateway=chain)  # type: ignore[arg-type]
            allowance, max_price, limited = limits_on_chain(chain, brand)
            now = chain_now(chain)
            covered = consenting(session, brand, scope, now.timestamp, among=todo)
            # The brand pays no customer above its own maximum: they are not asked for (as profile requests).
            chosen = [c for c in covered if not limited or c.price <= max_price]
            ids = {c.customer_id for c in covered}
            report.reasons |= {cid: "not_covered" for cid in todo if cid not in ids}
            report.reasons |= {c.customer_id: "price_above_maximum" for c in covered if c.price > max_price and limited}
            recorded = []
            prices = {}
            if chosen:
                batch = record_batch(
                    session,
                    chain,
                    brand,
                    scope,
                    chosen,
                    allowance=allowance,
                    limited=limited,
                    what={"source": source, "offer": offer.id, "rule": rule.id},
                    limit=len(chosen),
                )
                record = batch.record
                recorded, prices = batch.recorded, batch.prices
                by_address = {c.address: c.customer_id for c in chosen}
                report.reasons |= {by_address[s["address"]]: s["reason"] for s in batch.skipped}
                report.access_request_id = record.id
                report.cost = batch.total
                report.gas_used = int(record.gas_used or 0)
        receipts = _receipts(session, brand, rule.purpose, recorded) if rule.categories else {}
        for c in recorded:
            receipt_id, receipt_hash = receipts.get(c.customer_id, (None, None))
            document = {
                "source": source,
                "rule": rule.id,
                "trigger": rule.trigger,
                "event": rule.trigger_event,
                "purpose": scope.purpose_name,
                "categories": category_names(rule.categories),
                "consent": {"receipt_id": receipt_id, "receipt_hash": receipt_hash} if rule.categories else None,
                "values": (why or {}).get(c.customer_id, {}),
            }
            report.delivered.append(
                Delivery(
                    offer_id=offer.id,  # type: ignore[arg-type]
                    customer_id=c.customer_id,
                    rule_id=rule.id,
                    campaign_id=campaign_id,
                    source=source,
                    channel=rule.channel,
                    access_request_id=record.id if record else None,
                    consent_receipt_id=receipt_id,
                    why=json.dumps(document, sort_keys=True, separators=(",", ":")),
                    price=prices.get(c.address, 0),
                )
            )
        session.add_all(report.delivered)
        session.commit()
        for d in report.delivered:
            session.refresh(d)
        if record is not None:
            mark_delivered(session, record)
    report.not_covered = sorted(report.reasons)
    _hand_to_channels(session, settings, offer, rule, report.delivered)
    return report


def _already(session: Session, offer: Offer, source: str, ids: list[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunks(ids):
        found |= set(
            session.exec(
                select(Delivery.customer_id).where(
                    Delivery.offer_id == offer.id, Delivery.source == source, col(Delivery.customer_id).in_(chunk)
                )
            ).all()
        )
    return found


def _receipts(
    session: Session, brand: Brand, purpose: int, customers: list[Candidate]
) -> dict[int, tuple[str | None, str]]:
    """Per customer, the id of the consent receipt in force (matched by the hash the chain holds) and that hash."""
    by_address = {c.address: c.customer_id for c in customers}
    hashes: dict[int, str] = {}
    for chunk in chunks(sorted(by_address)):
        for customer, receipt_hash in session.exec(
            select(MirrorConsent.customer, MirrorConsent.receipt_hash).where(
                MirrorConsent.brand == brand.address,
                MirrorConsent.purpose == purpose,
                col(MirrorConsent.customer).in_(chunk),
            )
        ).all():
            hashes[by_address[customer]] = receipt_hash
    ids: dict[tuple[int, str], str] = {}
    for chunk in chunks(sorted(set(hashes.values()))):
        for receipt_id, customer_id, receipt_hash in session.exec(
            select(ConsentReceipt.id, ConsentReceipt.customer_id, ConsentReceipt.receipt_hash).where(
                ConsentReceipt.brand_id == brand.id, col(ConsentReceipt.receipt_hash).in_(chunk)
            )
        ).all():
            ids[(customer_id, receipt_hash)] = receipt_id
    return {cid: (ids.get((cid, h)), h) for cid, h in hashes.items()}


def _hand_to_channels(
    session: Session, settings: Settings, offer: Offer, rule: Rule, delivered: list[Delivery]
) -> None:
    """E-mail (channel `email`) and the brand's webhook outbox (`offer.delivered`); the inbox needs nothing."""
    if delivered:
        channels_out.delivered(session, settings, offer=offer, rule=rule, deliveries=delivered)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


DELIVERY_BATCH = 1_000
"""Customers per recordAccess batch: about 4.7 M gas (4,625 per customer, bench/gas.md), well inside a block."""


def deliver_in_batches(
    session: Session,
    settings: Settings,
    chain: ChainGateway,
    *,
    rule: Rule,
    offer: Offer,
    customer_ids: list[int],
    campaign: Campaign,
    batch: int | None = None,
) -> DeliveryReport:
    """A campaign's offer to its test arm through `deliver`, one access batch per `batch` customers (a single
    batch of a large arm would not fit in a block); the reports summed. Idempotent, as deliver is."""
    total = DeliveryReport()
    ids = sorted(customer_ids)
    for chunk in chunks(ids, batch or DELIVERY_BATCH):
        total.add(
            deliver(
                session,
                settings,
                chain,
                rule=rule,
                offer=offer,
                customer_ids=chunk,
                source=f"campaign:{campaign.id}",
                campaign_id=campaign.id,
                why={cid: {"campaign": campaign.name} for cid in chunk},
            )
        )
    return total
