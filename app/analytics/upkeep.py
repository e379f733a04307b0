"""Paid upkeep's abuse rules: which recorded field updates and confirmations an epoch pays (docs/data-rights.md).

Plain Python over rows, because each decision depends on the ones before it (the last paid event of the
field): the epoch job (app/services/epoch_upkeep.py) and the wallet's preview call `decide`; the audit
re-derives the same rules with its own code (app/audit/upkeep.py). Per (customer, field), in (at, id) order:

- a field the rules do not count earns nothing (`not_counted`);
- an update pays only if its value was never paid for before for that field (`value_paid_before`: A→B→A
  earns nothing for returning to A, in one period or across many);
- a confirmation pays only if a reminder was due: no event of the field (paid or not) for
  `reminder_days`, counted from the customer's enrolment when there was none (`no_reminder_due`);
- and either pays only if the field's last paid event is at least `period_days` earlier (`within_period`):
  so at most one paid event per (customer, field) in any window of `period_days`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.analytics.rules import UpkeepRules

PAID = "paid"
REASONS = (PAID, "not_counted", "value_paid_before", "no_reminder_due", "within_period")


@dataclass(frozen=True)
class Event:
    """A recorded upkeep event (times naive UTC, as the store gives them)."""

    id: int
    customer_id: int
    field: str
    kind: str  # "updated" | "confirmed"
    at: datetime
    value_hash: str


@dataclass(frozen=True)
class Decision:
    event: Event
    reason: str
    paid: int


def decide(
    history: Iterable[Event],
    covered: set[int],
    *,
    enrolled: Mapping[int, datetime],
    paid_before: set[int],
    rules: UpkeepRules,
) -> list[Decision]:
    """The decision on each event whose id is in `covered`, in (at, id) order.

    `history` holds every recorded event up to the epoch's cut (covered ones included): what sets the
    reminders. `paid_before` are the ids of events earlier epochs paid: with this epoch's own paid
    events, what the value and period rules compare against."""
    ordered = sorted(history, key=lambda e: (e.at, e.id))
    period = timedelta(days=rules.period_days)
    reminder = timedelta(days=rules.reminder_days)
    last_event: dict[tuple[int, str], datetime] = {}
    last_paid: dict[tuple[int, str], datetime] = {}
    paid_values: dict[tuple[int, str], set[str]] = {}
    decisions = []
    for e in ordered:
        key = (e.customer_id, e.field)
        if e.id in covered:
            reason = _reason(e, key, enrolled, last_event, last_paid, paid_values, rules, period, reminder)
            paid = reason == PAID
            decisions.append(Decision(e, reason, rules.reward_units if paid else 0))
        else:
            paid = e.id in paid_before
        if paid:
            last_paid[key] = e.at
            paid_values.setdefault(key, set()).add(e.value_hash)
        last_event[key] = e.at
    return decisions


def _reason(
    e: Event,
    key: tuple[int, str],
    enrolled: Mapping[int, datetime],
    last_event: dict[tuple[int, str], datetime],
    last_paid: dict[tuple[int, str], datetime],
    paid_values: dict[tuple[int, str], set[str]],
    rules: UpkeepRules,
    period: timedelta,
    reminder: timedelta,
) -> str:
    if e.field not in rules.fields:
        return "not_counted"
    if e.kind == "updated":
        if e.value_hash in paid_values.get(key, set()):
            return "value_paid_before"
    else:
        since = last_event.get(key, enrolled.get(e.customer_id))
        if since is None or e.at < since + reminder:
            return "no_reminder_due"
    if key in last_paid and e.at < last_paid[key] + period:
        return "within_period"
    return PAID


def reminder_due_at(last_event: datetime | None, enrolled: datetime, rules: UpkeepRules) -> datetime:
    """When a field's reminder falls due: `reminder_days` after its last event, or after enrolment when none."""
    return (last_event or enrolled) + timedelta(days=rules.reminder_days)
