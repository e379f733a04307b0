"""Business rules: whom (audience), what (offer), where (channel), when (trigger); and whom a rule reaches now.

The categories a rule reads are derived from what it targets on (segment, tier or RFM cell → segment;
a purchases-based behaviour change → purchases; interest category → interests; style → styles; a cart
trigger → cart; e-mail → contact), so its consent check can never be narrower than its targeting.
Targeting reuses the audience module's consenting/matches: a rule that reads data only ever looks at
customers whose consent covers the purpose and every category it reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.analytics.behaviour import EVENTS
from app.analytics.rules import MAX_SCORE, default_rules
from app.clock import utcnow
from app.config import Settings
from app.domain import ALL_CATEGORIES, Category, Purpose, category_mask, category_names, purpose_id
from app.errors import InvalidInput, NotFound
from app.models.accounts import Brand
from app.models.crm import Channel, Delivery, Offer, Rule, TriggerKind
from app.models.purchases import Purchase
from app.services.access import dimensions
from app.services.audience import Candidate, Filters, Scope, check_filters, consenting, matches

# What each behaviour change is computed from: tier and segment moves and going quiet from the RFM grade,
# threshold crossings and "new" from purchase totals.
EVENT_READS: dict[str, Category] = {
    "new_customer": Category.PURCHASES,
    "tier_up": Category.SEGMENT,
    "tier_down": Category.SEGMENT,
    "segment_change": Category.SEGMENT,
    "spend_threshold_crossed": Category.PURCHASES,
    "points_threshold_crossed": Category.PURCHASES,
    "high_value_gone_quiet": Category.SEGMENT,
}
assert set(EVENT_READS) == set(EVENTS)

# Categories a customer can consent to, per purpose: the wallet offers every category for every purpose
# (app/api/routes/pages.py); a rule reading anything else could reach nobody.
CONSENTABLE: dict[Purpose, int] = dict.fromkeys(Purpose, ALL_CATEGORIES)

_RFM = re.compile(r"^\s*(\d)\s*,\s*(\d)\s*,\s*(\d)\s*$")
AUDIENCE_KEYS = ("everyone", "segment", "tier", "rfm", "category", "style", "min_score")


@dataclass(frozen=True)
class Audience:
    """Whom a rule targets; `everyone` (of the brand: anyone with a purchase there) or filters, or neither
    when the trigger alone says whom (a behaviour change, a cart abandoned)."""

    everyone: bool = False
    segment: str | None = None
    tier: str | None = None
    rfm: str | None = None  # canonical "r,f,m"
    category: str | None = None
    style: str | None = None
    min_score: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, False)}

    def canonical(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def of(cls, rule: Rule) -> Audience:
        return cls(**json.loads(rule.audience))

    def filters(self) -> Filters:
        return Filters(
            segment=self.segment,
            tier=self.tier,
            rfm=self.rfm,
            category=self.category,
            style=self.style,
            min_interest=self.min_score if self.category else None,
            min_style=self.min_score if self.style and not self.category else None,
        )

    def reads(self) -> int:
        mask = 0
        if self.segment or self.tier or self.rfm:
            mask |= Category.SEGMENT
        if self.category:
            mask |= Category.INTERESTS
        if self.style:
            mask |= Category.STYLES
        return int(mask)


@dataclass(frozen=True)
class RuleSpec:
    """A rule as a brand asks for it, before validation."""

    name: str
    offer_id: int
    purpose: str
    audience: dict[str, Any]
    channel: str
    trigger: str
    event: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    also_reads: tuple[str, ...] = ()


def parse_audience(given: dict[str, Any]) -> Audience:
    """The audience, validated (unknown keys, segment or tier, a malformed RFM cell, a stray min_score)."""
    unknown = sorted(set(given) - set(AUDIENCE_KEYS))
    if unknown:
        raise InvalidInput(f"unknown audience field(s) {', '.join(unknown)}; known: {', '.join(AUDIENCE_KEYS)}")
    values = {k: v for k, v in given.items() if v is not None}
    everyone = values.pop("everyone", False)
    if everyone not in (True, False):
        raise InvalidInput("audience.everyone must be true or false")
    if everyone and values:
        raise InvalidInput(
            "audience.everyone (every customer of the brand) cannot be combined with " + ", ".join(sorted(values))
        )
    rfm = values.get("rfm")
    if rfm is not None:
        values["rfm"] = _rfm_cell(rfm)
    if values.get("min_score") is not None and not (values.get("category") or values.get("style")):
        raise InvalidInput("audience.min_score applies to an interest category or a style: give one of them")
    if values.get("category") and values.get("style") and values.get("min_score") is not None:
        raise InvalidInput("audience.min_score is ambiguous with both category and style: keep one of them")
    audience = Audience(everyone=bool(everyone), **values)
    # Segment and tier names are the programme's (check_filters names the known ones).
    check_filters(Scope(int(Purpose.MARKETING), ALL_CATEGORIES), audience.filters())
    return audience


def _rfm_cell(value: Any) -> str:
    scheme = default_rules().epochs.scheme
    top = MAX_SCORE[scheme]
    found = _RFM.match(value) if isinstance(value, str) else None
    if found is None or not all(1 <= int(g) <= top for g in found.groups()):
        raise InvalidInput(
            f"audience.rfm must be an RFM cell as three scores 1..{top} of the {scheme} scheme, like "
            f'"1,3,3"; got {value!r}'
        )
    return ",".join(found.groups())


def categories_read(audience: Audience, trigger: str, event: str | None, channel: str) -> int:
    """Every category the rule reads: from its audience, its trigger and its channel."""
    mask = audience.reads()
    if trigger == TriggerKind.BEHAVIOUR and event in EVENT_READS:
        mask |= EVENT_READS[event]
    if trigger == TriggerKind.CART_ABANDONED:
        mask |= Category.CART
    if channel == Channel.EMAIL:
        mask |= Category.CONTACT
    return int(mask)


def create_rule(session: Session, brand: Brand, spec: RuleSpec, *, now: datetime | None = None) -> Rule:
    """Validates and stores a rule; InvalidInput names what is wrong."""
    now = now or utcnow()
    name = spec.name.strip()
    if not name:
        raise InvalidInput("name must not be blank")
    try:
        purpose = purpose_id(spec.purpose)
        extra = category_mask(list(spec.also_reads))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    offer = session.get(Offer, spec.offer_id)
    if offer is None or offer.brand_id != brand.id:
        raise InvalidInput(f"offer {spec.offer_id} is not one of your offers")
    if _aware(offer.valid_until) <= now:
        raise InvalidInput(f"offer {spec.offer_id} expired at {_aware(offer.valid_until):%Y-%m-%dT%H:%M:%SZ}")
    if spec.channel not in set(Channel):
        raise InvalidInput(f"unknown channel {spec.channel!r}; known: {', '.join(Channel)}")
    if spec.trigger not in set(TriggerKind):
        raise InvalidInput(f"unknown trigger {spec.trigger!r}; known: {', '.join(TriggerKind)}")
    if spec.trigger == TriggerKind.BEHAVIOUR:
        if spec.event not in EVENTS:
            raise InvalidInput(f"unknown behaviour event {spec.event!r}; known: {', '.join(EVENTS)}")
    elif spec.event is not None:
        raise InvalidInput("trigger.event applies to behaviour triggers only")
    if spec.trigger == TriggerKind.DATE_WINDOW:
        if spec.window_start is None or spec.window_end is None:
            raise InvalidInput("a date_window trigger needs window_start and window_end")
        if spec.window_end <= spec.window_start:
            raise InvalidInput("trigger.window_end must be after window_start")
    elif spec.window_start is not None or spec.window_end is not None:
        raise InvalidInput("window_start and window_end apply to date_window triggers only")
    audience = parse_audience(spec.audience)
    if spec.trigger == TriggerKind.DATE_WINDOW and not audience.as_dict():
        raise InvalidInput("say whom: an audience filter, or `everyone` for every customer of the brand")
    categories = categories_read(audience, spec.trigger, spec.event, spec.channel) | extra
    outside = categories & ~CONSENTABLE[Purpose(purpose)]
    if outside:
        raise InvalidInput(
            f"nobody can consent to {', '.join(category_names(outside))} for {Purpose(purpose).name.lower()}: "
            "the rule could reach no one"
        )
    rule = Rule(
        brand_id=brand.id,  # type: ignore[arg-type]
        offer_id=spec.offer_id,
        name=name,
        audience=audience.canonical(),
        purpose=purpose,
        categories=categories,
        channel=spec.channel,
        trigger=spec.trigger,
        trigger_event=spec.event,
        window_start=spec.window_start.astimezone(UTC) if spec.window_start else None,
        window_end=spec.window_end.astimezone(UTC) if spec.window_end else None,
    )
    session.add(rule)
    session.commit()
    session.refresh(rule)
    return rule


def rules_of(session: Session, brand: Brand) -> list[Rule]:
    return list(session.exec(select(Rule).where(Rule.brand_id == brand.id).order_by(col(Rule.id))).all())


def rule_of(session: Session, brand: Brand, rule_id: int) -> Rule:
    """The brand's own rule; another brand's is reported as not found."""
    rule = session.get(Rule, rule_id)
    if rule is None or rule.brand_id != brand.id:
        raise NotFound(f"no rule {rule_id} of yours")
    return rule


def pause_rule(session: Session, brand: Brand, rule_id: int) -> Rule:
    """Stops the rule firing (deliveries already made stay)."""
    rule = rule_of(session, brand, rule_id)
    rule.active = False
    session.add(rule)
    session.commit()
    session.refresh(rule)
    return rule


@dataclass(frozen=True)
class RuleReach:
    deliveries: int
    customers: int


def reach_of(session: Session, rule: Rule) -> RuleReach:
    deliveries, customers = session.exec(
        select(func.count(), func.count(func.distinct(Delivery.customer_id))).where(Delivery.rule_id == rule.id)
    ).one()
    return RuleReach(int(deliveries), int(customers))


# -- whom a rule reaches now -----------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """Customers a rule selects now, and per customer the values its targeting used."""

    customer_ids: list[int]
    values: dict[int, dict[str, Any]]


def targets(
    session: Session,
    settings: Settings,
    rule: Rule,
    *,
    among: list[int] | None = None,
    now: int,
) -> Targets:
    """Whom `rule` selects (optionally only among `among`), at chain time `now` (mirror refreshed by the caller).

    A rule reading data selects only among customers consenting to its purpose and every category it reads
    (deliver checks again, at the moment of delivery, after the mirror is refreshed).
    """
    audience = Audience.of(rule)
    brand = session.get(Brand, rule.brand_id)
    assert brand is not None
    wanted = None if among is None else set(among)
    if rule.categories == 0:
        ids = [i for i in customers_of_brand(session, brand) if wanted is None or i in wanted]
        return Targets(ids, {})
    scope = Scope(rule.purpose, rule.categories)
    candidates = consenting(session, brand, scope, now, among=None if among is None else list(among))
    if audience.everyone:
        mine = set(customers_of_brand(session, brand))
        candidates = [c for c in candidates if c.customer_id in mine]
    filters = audience.filters()
    scores, interests = dimensions(session, settings, scope, filters, candidates)
    chosen: list[Candidate] = [c for c in candidates if matches(c, filters, scores, interests)]
    values: dict[int, dict[str, Any]] = {}
    for c in chosen:
        used: dict[str, Any] = {}
        score = scores.get(c.customer_id)
        if score is not None and (audience.segment or audience.tier or audience.rfm):
            used |= {"segment": score.segment, "tier": score.tier, "rfm": f"{score.r},{score.f},{score.m}"}
        if audience.category:
            used["interest"] = {audience.category: interests.categories.get(c.customer_id, {}).get(audience.category)}
        if audience.style:
            used["style"] = {audience.style: dict(interests.styles.get(c.customer_id, [])).get(audience.style)}
        values[c.customer_id] = used
    return Targets([c.customer_id for c in chosen], values)


def customers_of_brand(session: Session, brand: Brand) -> list[int]:
    """Every customer of the brand: anyone with a purchase there."""
    return sorted(
        int(i) for i in session.exec(select(Purchase.customer_id).where(Purchase.brand_id == brand.id).distinct())
    )


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
