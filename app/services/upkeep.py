"""Paid upkeep of one's own profile: recording updates and confirmations, reminders, what each field would earn.

`PATCH /me/personal` records an `updated` event for each field whose value really changed to a value
(`record_updates`, in the update's own transaction); `POST /me/personal/confirm` records `confirmed` for
fields whose reminder is due (`confirm`, all or nothing). Events hold a keyed hash of the value, never the
value: HMAC-SHA256 under the customer's own key (`upkeep_keys`), which erasure deletes (`forget`), so no
stored hash can be tested against a guess afterwards. What an epoch pays is decided by the abuse rules of
app/analytics/upkeep.py (docs/data-rights.md, "Paid upkeep").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app import clock
from app.analytics import upkeep as rules_of_upkeep
from app.analytics.rules import ProgrammeRules, default_rules
from app.chain.addresses import checksum, keccak256
from app.chain.gateway import ChainGateway
from app.config import Settings
from app.domain import PERSONAL_FIELDS
from app.errors import Conflict, InvalidInput
from app.models.accounts import Customer
from app.models.upkeep import EpochUpkeepLine, UpkeepEvent, UpkeepKey, UpkeepKind


@dataclass(frozen=True)
class FieldUpkeep:
    """One personal field's upkeep as the customer sees it."""

    field: str
    counted: bool  # the programme's rules pay for this field
    has_value: bool
    last_updated_at: datetime | None
    last_confirmed_at: datetime | None
    reminder_due_at: datetime | None  # None: nothing to confirm (empty or not counted)
    due: bool  # the reminder is due now: "Confirm these details" may be used for it
    confirm_would_earn: int  # token units a confirmation now would be paid at the next epoch (0: none)
    pending: int  # token units recorded events of this field await at the next epoch
    earned: int  # token units settled epochs paid for this field


@dataclass(frozen=True)
class Upkeep:
    reward_units: int
    period_days: int
    reminder_days: int
    fields: list[FieldUpkeep]


def _key(session: Session, customer: Customer) -> bytes:
    row = session.get(UpkeepKey, customer.id)
    if row is None:
        row = UpkeepKey(customer_id=customer.id, key=secrets.token_bytes(32), created_at=clock.utcnow())  # type: ignore[arg-type]
        session.add(row)
        session.flush()
    return row.key


def value_hash(key: bytes, field: str, value: object) -> str:
    """0x HMAC-SHA256 of `field` and the value's JSON under the customer's key (equal values, equal hashes)."""
    message = f"{field}\x00{json.dumps(value, sort_keys=True)}".encode()
    return "0x" + hmac.new(key, message, hashlib.sha256).hexdigest()


def record_updates(session: Session, customer: Customer, before: dict[str, object]) -> list[UpkeepEvent]:
    """An `updated` event per personal field whose value changed to a value (clearing one earns nothing);
    added to the session, committed by the caller with the change itself."""
    changed = [f for f in PERSONAL_FIELDS if getattr(customer, f) is not None and getattr(customer, f) != before.get(f)]
    if not changed:
        return []
    return _record(session, customer, changed, UpkeepKind.UPDATED)


def _record(
    session: Session,
    customer: Customer,
    fields: Sequence[str],
    kind: UpkeepKind,
    reminders: dict[str, datetime | None] | None = None,
) -> list[UpkeepEvent]:
    """One event of `kind` per field, now, hashing the field's current value under the customer's key."""
    key = _key(session, customer)
    now = clock.utcnow()
    events = [
        UpkeepEvent(
            customer_id=customer.id,  # type: ignore[arg-type]
            field=f,
            kind=kind,
            at=now,
            value_hash=value_hash(key, f, getattr(customer, f)),
            reminder_due_at=(reminders or {}).get(f),
        )
        for f in fields
    ]
    session.add_all(events)
    return events


def forget(session: Session, customer: Customer) -> None:
    """Erasure's part: the key goes, so the stored hashes can no longer be linked to any value (in the caller's
    transaction). A value given again afterwards is hashed under a new key: the programme cannot tell it from
    the erased one, so it counts as new (docs/data-rights.md)."""
    session.execute(delete(UpkeepKey).where(col(UpkeepKey.customer_id) == customer.id))


def _events(session: Session, customer: Customer) -> list[UpkeepEvent]:
    return list(
        session.exec(
            select(UpkeepEvent)
            .where(UpkeepEvent.customer_id == customer.id)
            .order_by(col(UpkeepEvent.at), col(UpkeepEvent.id))
        )
    )


def _as_rule_event(e: UpkeepEvent) -> rules_of_upkeep.Event:
    return rules_of_upkeep.Event(
        e.id,  # type: ignore[arg-type]
        e.customer_id,
        e.field,
        e.kind,
        clock.as_utc(e.at).replace(tzinfo=None),
        e.value_hash,
    )


def _naive(moment: datetime) -> datetime:
    return clock.as_utc(moment).replace(tzinfo=None)


def status(session: Session, customer: Customer, rules: ProgrammeRules | None = None) -> Upkeep:
    """Every personal field's last update and confirmation, its reminder, and what it would earn."""
    upkeep = (rules or default_rules()).upkeep
    now = clock.utcnow()
    events = _events(session, customer)
    lines = list(session.exec(select(EpochUpkeepLine).where(EpochUpkeepLine.customer_id == customer.id)))
    settled = {line.event_id for line in lines}
    paid_before = {line.event_id for line in lines if line.reason == rules_of_upkeep.PAID}
    # A confirmation of every field now, as if recorded, decided with the events no epoch covered yet.
    history = [_as_rule_event(e) for e in events]
    next_id = max((e.id or 0 for e in events), default=0) + 1
    hypothetical = {
        f: rules_of_upkeep.Event(next_id + i, customer.id, f, UpkeepKind.CONFIRMED, _naive(now), "")  # type: ignore[arg-type]
        for i, f in enumerate(PERSONAL_FIELDS)
    }
    pending_ids = {e.id for e in events if e.id not in settled}
    decisions = rules_of_upkeep.decide(
        history + list(hypothetical.values()),
        pending_ids | {e.id for e in hypothetical.values()},  # type: ignore[arg-type]
        enrolled={customer.id: _naive(customer.created_at)},  # type: ignore[dict-item]
        paid_before=paid_before,  # type: ignore[arg-type]
        rules=upkeep,
    )
    by_event = {d.event.id: d for d in decisions}
    fields = []
    for f in PERSONAL_FIELDS:
        mine = [e for e in events if e.field == f]
        updated = [e.at for e in mine if e.kind == UpkeepKind.UPDATED]
        confirmed = [e.at for e in mine if e.kind == UpkeepKind.CONFIRMED]
        has_value = getattr(customer, f) is not None
        counted = f in upkeep.fields
        due_at = (
            clock.as_utc(
                rules_of_upkeep.reminder_due_at(
                    _naive(mine[-1].at) if mine else None, _naive(customer.created_at), upkeep
                )
            )
            if has_value and counted
            else None
        )
        fields.append(
            FieldUpkeep(
                field=f,
                counted=counted,
                has_value=has_value,
                last_updated_at=clock.as_utc(updated[-1]) if updated else None,
                last_confirmed_at=clock.as_utc(confirmed[-1]) if confirmed else None,
                reminder_due_at=due_at,
                due=due_at is not None and now >= due_at,
                confirm_would_earn=by_event[hypothetical[f].id].paid if due_at is not None and now >= due_at else 0,
                pending=sum(by_event[e.id].paid for e in mine if e.id is not None and e.id in pending_ids),
                earned=sum(line.paid for line in lines if line.field == f),
            )
        )
    return Upkeep(upkeep.reward_units, upkeep.period_days, upkeep.reminder_days, fields)


def confirm(
    session: Session, customer: Customer, fields: Sequence[str], rules: ProgrammeRules | None = None
) -> list[UpkeepEvent]:
    """Records a confirmation of each field, whose reminder must be due; refuses all if one cannot be confirmed."""
    upkeep = (rules or default_rules()).upkeep
    if not fields:
        raise InvalidInput("name at least one field to confirm")
    unknown = [f for f in fields if f not in PERSONAL_FIELDS]
    if unknown:
        raise InvalidInput(f"not a personal field: {', '.join(unknown)} (known: {', '.join(PERSONAL_FIELDS)})")
    if len(set(fields)) != len(fields):
        raise InvalidInput("each field may be named once")
    uncounted = [f for f in fields if f not in upkeep.fields]
    if uncounted:
        raise InvalidInput(f"the programme's upkeep does not count: {', '.join(uncounted)}")
    empty = [f for f in fields if getattr(customer, f) is None]
    if empty:
        raise Conflict(f"nothing to confirm, no value given: {', '.join(empty)}")
    view = {f.field: f for f in status(session, customer, rules).fields}
    early = [f for f in fields if not view[f].due]
    if early:
        when = "; ".join(f"{f} from {clock.rfc3339(view[f].reminder_due_at, digits=0)}" for f in early)  # type: ignore[arg-type]
        raise Conflict(f"no reminder is due for {', '.join(early)} yet: confirm {when}")
    events = _record(session, customer, fields, UpkeepKind.CONFIRMED, {f: view[f].reminder_due_at for f in fields})
    session.commit()
    for e in events:
        session.refresh(e)
    return events


@dataclass(frozen=True)
class Funding:
    funder: str
    registered: bool  # this call registered the funder in the registry (a budget needs a registered holder)
    tx_hash: str
    available: int  # the funder's unreserved budget afterwards


def fund(settings: Settings, chain: ChainGateway, amount: int, payment_ref: str) -> Funding:
    """Funds the programme's upkeep budget (UPKEEP_FUNDER) with the operator's FUNDER_ROLE, registering the funder
    in the registry first if it is not yet (the distributor holds budgets only for registered addresses)."""
    if amount <= 0:
        raise InvalidInput("the amount must be a positive number of CASH units")
    funder = checksum(settings.upkeep_funder)
    registered = not chain.registry.is_brand(funder)
    if registered:
        chain.registry.register_brand(funder)
    sent = chain.distributor.fund(funder, amount, keccak256(payment_ref))
    return Funding(funder, registered, sent.tx_hash, chain.distributor.available_of(funder))
