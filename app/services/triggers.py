"""Triggers: an epoch's behaviour changes, ingested cart abandons and date windows fire rules through deliver().

Each firing has its own delivery source, so firing twice delivers nothing twice: `rule:<id>/epoch:<n>` for a
behaviour change of epoch n, `rule:<id>/cart:<day>` for the carts a customer abandoned at the brand on one
day (UTC), `rule:<id>` for a date window (once per customer). A rule that cannot deliver (budget or
allowance short, chain down, offer no longer valid) is reported with its reason and the others still fire:
a trigger never stops the job that called it (an epoch, an upload).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.chain.gateway import ChainGateway
from app.chain.indexer import catch_up
from app.clock import utcnow
from app.config import Settings
from app.errors import LedgerError
from app.models.crm import Offer, Rule, TriggerKind
from app.models.epochs import BehaviourChange
from app.models.purchases import InterestEvent, InterestKind
from app.services.audience import chain_now
from app.services.deliveries import deliver, offer_live
from app.services.rules import targets

log = logging.getLogger(__name__)

CART_RECENT_DAYS = 7
"""A cart abandoned longer ago than this is not worth a reminder (an upload of old history fires nothing)."""


@dataclass(frozen=True)
class Fired:
    """What one rule's firing did."""

    rule_id: int
    source: str
    delivered: int = 0
    not_covered: int = 0
    already: int = 0
    cost: int = 0
    error: str | None = None


def _live_rules(session: Session, trigger: TriggerKind, now: datetime) -> list[tuple[Rule, Offer]]:
    rows = session.exec(
        select(Rule, Offer)
        .join(Offer, col(Offer.id) == col(Rule.offer_id))
        .where(Rule.trigger == trigger, col(Rule.active).is_(True))
        .order_by(col(Rule.id))
    ).all()
    return [(rule, offer) for rule, offer in rows if offer_live(offer, now)]


def _fire(
    session: Session,
    settings: Settings,
    chain: ChainGateway,
    rule: Rule,
    offer: Offer,
    source: str,
    *,
    among: list[int] | None,
    values: dict[int, dict[str, Any]] | None = None,
) -> Fired:
    try:
        catch_up(settings, engine=session.get_bind(), gateway=chain)  # type: ignore[arg-type]
        chosen = targets(session, settings, rule, among=among, now=chain_now(chain).timestamp)
        if not chosen.customer_ids:
            return Fired(rule.id, source)  # type: ignore[arg-type]
        why = {cid: (values or {}).get(cid, {}) | chosen.values.get(cid, {}) for cid in chosen.customer_ids}
        report = deliver(
            session, settings, chain, rule=rule, offer=offer, customer_ids=chosen.customer_ids, source=source, why=why
        )
    except LedgerError as exc:
        session.rollback()
        log.warning("rule %s (%s) did not fire: %s", rule.id, source, exc.message)
        return Fired(rule.id, source, error=exc.message)  # type: ignore[arg-type]
    return Fired(
        rule.id,  # type: ignore[arg-type]
        source,
        delivered=len(report.delivered),
        not_covered=len(report.not_covered),
        already=len(report.already),
        cost=report.cost,
    )


def after_epoch(settings: Settings, engine: Engine, chain: ChainGateway, epoch: int) -> list[Fired]:
    """Fires `behaviour` rules on the behaviour changes stored for `epoch` (the epoch job's last step)."""
    fired: list[Fired] = []
    with Session(engine, expire_on_commit=False) as session:
        for rule, offer in _live_rules(session, TriggerKind.BEHAVIOUR, utcnow()):
            changes = session.exec(
                select(BehaviourChange).where(
                    BehaviourChange.epoch == epoch, BehaviourChange.event == rule.trigger_event
                )
            ).all()
            if not changes:
                continue
            values = {
                c.customer_id: {
                    "event": {
                        "name": c.event,
                        "epoch": epoch,
                        "previous": c.previous,
                        "current": c.current,
                        **({"threshold": c.threshold} if c.threshold else {}),
                    }
                }
                for c in changes
            }
            source = f"rule:{rule.id}/epoch:{epoch}"
            fired.append(_fire(session, settings, chain, rule, offer, source, among=sorted(values), values=values))
    return fired


def cart_abandoned(settings: Settings, engine: Engine, chain: ChainGateway | None = None) -> list[Fired]:
    """Fires `cart_abandoned` rules on the cart abandons at their brand ingested since the rule was made and
    made in the last CART_RECENT_DAYS days (called where ingestion stores events)."""
    now = utcnow()
    fired: list[Fired] = []
    with Session(engine, expire_on_commit=False) as session:
        live = _live_rules(session, TriggerKind.CART_ABANDONED, now)
        if not live:
            return fired
        chain = chain or ChainGateway(settings)
        for rule, offer in live:
            events = session.exec(
                select(InterestEvent.customer_id, InterestEvent.occurred_at, InterestEvent.item_id).where(
                    InterestEvent.brand_id == rule.brand_id,
                    InterestEvent.kind == InterestKind.CART_ABANDON,
                    col(InterestEvent.occurred_at) >= now - timedelta(days=CART_RECENT_DAYS),
                    col(InterestEvent.created_at) >= rule.created_at,
                )
            ).all()
            by_day: dict[str, dict[int, dict[str, Any]]] = defaultdict(dict)
            for customer_id, occurred_at, item_id in events:
                at = _aware(occurred_at)
                by_day[f"{at:%Y-%m-%d}"][customer_id] = {
                    "cart": {"abandoned_at": at.isoformat().replace("+00:00", "Z"), "item_id": item_id}
                }
            for day, values in sorted(by_day.items()):
                source = f"rule:{rule.id}/cart:{day}"
                fired.append(_fire(session, settings, chain, rule, offer, source, among=sorted(values), values=values))
    return fired


def tick(settings: Settings, engine: Engine, chain: ChainGateway, *, at: datetime | None = None) -> list[Fired]:
    """Fires every `date_window` rule whose window holds `at` (now): once per customer of its audience."""
    now = at or utcnow()
    fired: list[Fired] = []
    with Session(engine, expire_on_commit=False) as session:
        for rule, offer in _live_rules(session, TriggerKind.DATE_WINDOW, now):
            if rule.window_start is None or rule.window_end is None:
                continue
            if _aware(rule.window_start) <= now < _aware(rule.window_end):
                fired.append(_fire(session, settings, chain, rule, offer, f"rule:{rule.id}", among=None))
    return fired


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
