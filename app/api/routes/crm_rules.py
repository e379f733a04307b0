"""Business rules of a brand (create, list, show, pause), its Customer-Offer-Channel map, the operator's tick."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Path

from app.api.deps import ChainDep, CurrentBrand, OperatorDep, SessionDep, SettingsDep
from app.api.schemas import DocumentedRoute, Id, errors
from app.api.schemas.rules import (
    CocCell,
    CocMapPublic,
    CocOffer,
    FiredPublic,
    RuleCreate,
    RulePublic,
    TickPublic,
    TriggerPublic,
)
from app.clock import utcnow
from app.domain import Purpose, category_names
from app.models.crm import Rule
from app.services import coc_map, rules, triggers

router = APIRouter(tags=["crm rules"], route_class=DocumentedRoute, responses=errors(404))

RuleId = Annotated[Id, Path(description="The rule's id")]


def _public(session: SessionDep, rule: Rule) -> RulePublic:
    reach = rules.reach_of(session, rule)
    return RulePublic(
        id=rule.id,  # type: ignore[arg-type]
        name=rule.name,
        offer_id=rule.offer_id,
        purpose=Purpose(rule.purpose).name.lower(),
        audience=json.loads(rule.audience),
        categories=category_names(rule.categories),
        reads_data=bool(rule.categories),
        channel=rule.channel,
        trigger=TriggerPublic(
            kind=rule.trigger, event=rule.trigger_event, window_start=rule.window_start, window_end=rule.window_end
        ),
        active=rule.active,
        created_at=rule.created_at,
        deliveries=reach.deliveries,
        customers=reach.customers,
    )


@router.post("/brands/me/rules", status_code=201)
def create_rule(*, body: RuleCreate, session: SessionDep, brand: CurrentBrand) -> RulePublic:
    """A new rule: whom, what, where and when; shows the data categories it reads (brand).

    The categories are derived from the audience (segment, tier, RFM cell → segment; interest → interests;
    style → styles), the trigger (a behaviour change → segment or purchases; a cart abandoned → cart) and the
    channel (e-mail → contact); consent must cover every one at the moment of delivery."""
    spec = rules.RuleSpec(
        name=body.name,
        offer_id=body.offer_id,
        purpose=body.purpose,
        audience=body.audience.model_dump(exclude_none=True),
        channel=body.channel,
        trigger=body.trigger.kind,
        event=body.trigger.event,
        window_start=body.trigger.window_start,
        window_end=body.trigger.window_end,
        also_reads=tuple(body.also_reads),
    )
    return _public(session, rules.create_rule(session, brand, spec))


@router.get("/brands/me/rules")
def read_rules(*, session: SessionDep, brand: CurrentBrand) -> list[RulePublic]:
    """The brand's rules, oldest first, with their reach (brand)."""
    return [_public(session, r) for r in rules.rules_of(session, brand)]


@router.get("/brands/me/rules/{rule_id}")
def read_rule(*, rule_id: RuleId, session: SessionDep, brand: CurrentBrand) -> RulePublic:
    """One of the brand's rules with its reach (brand)."""
    return _public(session, rules.rule_of(session, brand, rule_id))


@router.post("/brands/me/rules/{rule_id}/pause")
def pause_rule(*, rule_id: RuleId, session: SessionDep, brand: CurrentBrand) -> RulePublic:
    """Stops the rule firing; deliveries already made stay (brand)."""
    return _public(session, rules.pause_rule(session, brand, rule_id))


@router.post("/crm/tick")
def tick(*, session: SessionDep, settings: SettingsDep, chain: ChainDep, _: OperatorDep) -> TickPublic:
    """Fires every date-window rule whose window holds now, once per customer (operator)."""
    at = utcnow()
    fired = triggers.tick(settings, session.get_bind(), chain, at=at)  # type: ignore[arg-type]
    return TickPublic(at=at, fired=[FiredPublic.model_validate(f, from_attributes=True) for f in fired])


@router.get("/brands/me/coc-map")
def read_coc_map(*, session: SessionDep, brand: CurrentBrand) -> CocMapPublic:
    """The Customer-Offer-Channel map: the rules' audiences × offers × channels, with reach and results (brand)."""
    found = coc_map.coc_map(session, brand)
    return CocMapPublic(
        audiences=found.audiences,
        offers=[CocOffer.model_validate(o, from_attributes=True) for o in found.offers],
        channels=found.channels,
        cells=[CocCell.model_validate(c, from_attributes=True) for c in found.cells],
    )
