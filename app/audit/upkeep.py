"""The audit of paid profile upkeep: every epoch's upkeep lines re-derived from the recorded events and the rules.

Written apart from the epoch job's (app/analytics/upkeep.py, app/services/epoch_upkeep.py): the audit reads
the events, the customers' enrolment times and the manifest's cut itself, and keeps its own record of which
events it found paid in earlier epochs, never the job's lines. The rules it applies (docs/data-rights.md): per
(customer, field), walking the field's events in time order, an event of a field the rules count pays
`reward_units` when (updated) its value hash was never paid for that field before, or (confirmed) nothing
happened to the field for `reminder_days` before it (the enrolment counting as the start), and in either case
the field's last paid event lies `period_days` or more behind it. The lines must hash to the manifest's
`upkeep.lines_hash` and equal the stored `epoch_upkeep_lines`; what they paid joins each (account, funder)'s
purchase-cashback line in the re-derived root.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, select

from app.analytics.rules import ProgrammeRules
from app.audit.checks import Fail, differing
from app.audit.records import naive_utc
from app.models.accounts import Customer
from app.models.upkeep import EpochUpkeepLine, UpkeepEvent


@dataclass(frozen=True)
class Recorded:
    """An upkeep event as the store holds it (times naive UTC)."""

    id: int
    customer_id: int
    field: str
    kind: str
    at: datetime
    value_hash: str


@dataclass(frozen=True)
class UpkeepLine:
    event_id: int
    customer_id: int
    field: str
    kind: str
    reason: str
    paid: int


class UpkeepRederivation:
    """The upkeep side of the epoch audit; call `epoch` once per published epoch, in order."""

    def __init__(self, engine: Engine, rules: ProgrammeRules):
        self.rules = rules
        with Session(engine) as session:
            self.recorded = [
                Recorded(e.id, e.customer_id, e.field, e.kind, naive_utc(e.at), e.value_hash)  # type: ignore[arg-type]
                for e in session.exec(select(UpkeepEvent))
            ]
            customers = list(session.exec(select(Customer)))
            self.address = {c.id: c.address.lower() for c in customers if c.id is not None}
            self.enrolled = {c.id: naive_utc(c.created_at) for c in customers if c.id is not None}
            self.stored: dict[int, dict[int, tuple[Any, ...]]] = defaultdict(dict)
            for row in session.exec(select(EpochUpkeepLine)):
                self.stored[row.epoch][row.event_id] = (row.customer_id, row.field, row.kind, row.reason, row.paid)
        self.paid_ids: set[int] = set()  # the audit's own finding, epoch after epoch
        self.cut: tuple[int, datetime | None] = (0, None)  # the previous epoch's (max_event_id, as_of)

    def epoch(self, number: int, manifest: dict[str, Any], as_of: datetime, fail: Fail) -> dict[tuple[str, str], int]:
        """The epoch's upkeep payments per (account, funder), after checking its commitment and stored lines."""
        entry = manifest.get("upkeep") or {}
        max_event_id = int(entry.get("max_event_id", 0))
        before_id, before_at = self.cut
        self.cut = (max_event_id, as_of)
        upto = [r for r in self.recorded if r.id <= max_event_id and r.at <= as_of]
        new = {r.id for r in upto if before_at is None or r.id > before_id or r.at > before_at}
        lines = lines_of(upto, new, enrolled=self.enrolled, paid_ids=self.paid_ids, rules=self.rules)
        self.paid_ids |= {x.event_id for x in lines if x.reason == "paid"}
        self._check(number, entry, lines, fail)
        funder = str(entry.get("funder", "")).lower()
        owed: dict[tuple[str, str], int] = defaultdict(int)
        for x in lines:
            if x.paid:
                owed[(self.address[x.customer_id], funder)] += x.paid
        return dict(owed)

    def _check(self, number: int, entry: dict[str, Any], lines: list[UpkeepLine], fail: Fail) -> None:
        recomputed = _lines_hash(lines)
        committed = entry.get("lines_hash")
        if committed is None and lines:
            fail(
                {"field": "upkeep"},
                "no upkeep lines",
                f"{len(lines)} lines",
                f"epoch {number} commits to no upkeep lines, yet upkeep events were recorded in it",
            )
        elif committed is not None and committed != recomputed:
            fail(
                {"field": "upkeep.lines_hash"},
                committed,
                recomputed,
                f"the upkeep lines re-derived for epoch {number} do not hash to the manifest's",
            )
        stored = self.stored.get(number, {})
        derived = {x.event_id: (x.customer_id, x.field, x.kind, x.reason, x.paid) for x in lines}
        for event_id in differing(stored, derived, what="upkeep lines", epoch=number, fail=fail):
            want, have = derived.get(event_id), stored.get(event_id)
            customer, field = (want or have or (None, None))[:2]
            fail(
                {"upkeep_event_id": event_id, "customer_id": customer, "field": field},
                _shown(want),
                _shown(have),
                f"upkeep event {event_id} (customer {customer}, {field}) in epoch {number}: the store holds "
                f"{_shown(have)}, the re-derivation gives {_shown(want)}",
            )


def lines_of(
    recorded: list[Recorded],
    new: set[int],
    *,
    enrolled: dict[int, datetime],
    paid_ids: set[int],
    rules: ProgrammeRules,
) -> list[UpkeepLine]:
    """The line of each event in `new`, walking each (customer, field)'s recorded events in time order; events
    outside `new` count as paid when their id is in `paid_ids` (what the audit found for earlier epochs)."""
    upkeep = rules.upkeep
    by_field: dict[tuple[int, str], list[Recorded]] = defaultdict(list)
    for r in recorded:
        by_field[(r.customer_id, r.field)].append(r)
    period = timedelta(days=upkeep.period_days)
    reminder = timedelta(days=upkeep.reminder_days)
    out: list[UpkeepLine] = []
    for (customer, field), events in by_field.items():
        events.sort(key=lambda r: (r.at, r.id))
        paid_hashes: set[str] = set()
        last_paid_at: datetime | None = None
        previous_at: datetime | None = enrolled.get(customer)
        for r in events:
            if r.id in new:
                if field not in upkeep.fields:
                    reason = "not_counted"
                elif r.kind == "updated" and r.value_hash in paid_hashes:
                    reason = "value_paid_before"
                elif r.kind != "updated" and (previous_at is None or r.at - previous_at < reminder):
                    reason = "no_reminder_due"
                elif last_paid_at is not None and r.at - last_paid_at < period:
                    reason = "within_period"
                else:
                    reason = "paid"
                paid = reason == "paid"
                out.append(UpkeepLine(r.id, customer, field, r.kind, reason, upkeep.reward_units if paid else 0))
            else:
                paid = r.id in paid_ids
            if paid:
                paid_hashes.add(r.value_hash)
                last_paid_at = r.at
            previous_at = r.at
    return sorted(out, key=lambda x: x.event_id)


def _lines_hash(lines: list[UpkeepLine]) -> str:
    """The committed `upkeep.lines_hash` (docs/epochs.md), written apart from the job's: sha256 of one
    `event_id|customer_id|field|kind|reason|paid` line per covered event, in event id order, joined by newlines."""
    text = "\n".join(
        f"{x.event_id}|{x.customer_id}|{x.field}|{x.kind}|{x.reason}|{x.paid}"
        for x in sorted(lines, key=lambda x: x.event_id)
    )
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


def _shown(value: tuple[Any, ...] | None) -> str:
    return "no line" if value is None else f"{value[3]}, paid {value[4]}"
