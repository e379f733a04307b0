"""Paid upkeep's abuse rules (app/analytics/upkeep.py): explicit cases, and properties against the audit's own
re-derivation (app/audit/upkeep.py) on random histories: toggling a field earns nothing more."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.analytics import upkeep
from app.analytics.rules import default_rules
from app.audit import upkeep as audit_upkeep

RULES = default_rules()
UPKEEP = RULES.upkeep  # 90-day period, 180-day reminder
REWARD = UPKEEP.reward_units
ENROLLED = datetime(2026, 1, 1)


def day(n: float) -> datetime:
    return ENROLLED + timedelta(days=n)


def events(*rows: tuple[float, str, str, str]) -> list[upkeep.Event]:
    """(day, field, kind, value) rows of customer 1, ids in row order."""
    return [upkeep.Event(i + 1, 1, f, k, day(d), v) for i, (d, f, k, v) in enumerate(rows)]


def reasons(history: list[upkeep.Event], *, paid_before: set[int] | None = None, covered: set[int] | None = None):  # type: ignore[no-untyped-def]
    ids = {e.id for e in history} if covered is None else covered
    decided = upkeep.decide(history, ids, enrolled={1: ENROLLED}, paid_before=paid_before or set(), rules=UPKEEP)
    return [(d.event.id, d.reason, d.paid) for d in decided]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        # A new value pays; changing it again inside the period does not; a value never paid, later, does.
        (
            [(1, "email", "updated", "A"), (10, "email", "updated", "B"), (95, "email", "updated", "C")],
            ["paid", "within_period", "paid"],
        ),
        # A -> B -> A: returning to the paid value earns nothing, within a period or across many.
        (
            [(1, "email", "updated", "A"), (100, "email", "updated", "B"), (200, "email", "updated", "A")],
            ["paid", "paid", "value_paid_before"],
        ),
        (
            [
                (1, "email", "updated", "A"),
                (2, "email", "updated", "B"),
                (3, "email", "updated", "A"),
                (4, "email", "updated", "B"),
                (300, "email", "updated", "A"),
                (400, "email", "updated", "B"),
            ],
            ["paid", "within_period", "value_paid_before", "within_period", "value_paid_before", "paid"],
        ),  # fmt: skip
        # A confirmation needs 180 days without any event of the field (enrolment counts as the start).
        ([(179, "name", "confirmed", "A")], ["no_reminder_due"]),
        ([(180, "name", "confirmed", "A")], ["paid"]),
        (
            [(200, "name", "updated", "A"), (300, "name", "confirmed", "A"), (480, "name", "confirmed", "A")],
            ["paid", "no_reminder_due", "paid"],
        ),
        # Any recorded event (a refused one too) restarts the reminder; the period counts from the last PAID event.
        (
            [
                (1, "region", "updated", "A"),
                (50, "region", "updated", "B"),
                (200, "region", "confirmed", "B"),
                (230, "region", "confirmed", "B"),
            ],
            ["paid", "within_period", "no_reminder_due", "no_reminder_due"],
        ),  # fmt: skip
        # Fields are independent: one each, the same day.
        ([(1, "email", "updated", "A"), (1, "phone", "updated", "A")], ["paid", "paid"]),
    ],
)
def test_decide_explicit_cases(rows, expected) -> None:
    assert [reason for _, reason, _ in reasons(events(*rows))] == expected
    assert [paid for *_, paid in reasons(events(*rows))] == [REWARD if r == "paid" else 0 for r in expected]


def test_a_field_the_rules_do_not_count_earns_nothing() -> None:
    rules = replace(UPKEEP, fields=("email",))
    history = events((1, "gender", "updated", "A"), (1, "email", "updated", "A"))
    decided = upkeep.decide(history, {1, 2}, enrolled={1: ENROLLED}, paid_before=set(), rules=rules)
    assert [(d.reason, d.paid) for d in decided] == [("not_counted", 0), ("paid", REWARD)]


def test_earlier_epochs_paid_events_bind_the_next_epoch() -> None:
    history = events((1, "email", "updated", "A"), (100, "email", "updated", "B"), (120, "email", "updated", "A"))
    # Epoch 2 covers only the last two; the first was paid by epoch 1.
    assert reasons(history, paid_before={1}, covered={2, 3}) == [(2, "paid", REWARD), (3, "value_paid_before", 0)]
    # Had epoch 1 not paid A, A would be new to the rules, yet B was paid 20 days before it: within the period.
    assert reasons(history, paid_before=set(), covered={2, 3}) == [(2, "paid", REWARD), (3, "within_period", 0)]


# -- properties: random histories of one customer, a few fields, values and days ------------------------

FIELDS = ("email", "region", "name")
histories = st.lists(
    st.tuples(
        st.integers(0, 720),  # day
        st.sampled_from(FIELDS),
        st.sampled_from(("updated", "confirmed")),
        st.sampled_from(("A", "B", "C")),
    ),
    max_size=40,
)


def _both(rows, cut: int):  # type: ignore[no-untyped-def]
    """The job's and the audit's lines over two epochs split at day `cut`."""
    history = events(*rows)
    first = {e.id for e in history if e.at <= day(cut)}
    job_1 = upkeep.decide(history, first, enrolled={1: ENROLLED}, paid_before=set(), rules=UPKEEP)
    paid_1 = {d.event.id for d in job_1 if d.reason == upkeep.PAID}
    job_2 = upkeep.decide(
        history, {e.id for e in history} - first, enrolled={1: ENROLLED}, paid_before=paid_1, rules=UPKEEP
    )
    recorded = [audit_upkeep.Recorded(e.id, 1, e.field, e.kind, e.at, e.value_hash) for e in history]
    upto_1 = [r for r in recorded if r.at <= day(cut)]
    audit_1 = audit_upkeep.lines_of(upto_1, first, enrolled={1: ENROLLED}, paid_ids=set(), rules=RULES)
    audit_paid = {x.event_id for x in audit_1 if x.reason == "paid"}
    audit_2 = audit_upkeep.lines_of(recorded, {r.id for r in recorded} - first, enrolled={1: ENROLLED},
                                    paid_ids=audit_paid, rules=RULES)  # fmt: skip
    job = sorted((d.event.id, d.reason, d.paid) for d in job_1 + job_2)
    audit = sorted((x.event_id, x.reason, x.paid) for x in audit_1 + audit_2)
    return history, job, audit


@settings(max_examples=300, deadline=None)
@given(histories, st.integers(0, 720))
def test_the_job_and_the_audit_agree_and_toggling_earns_nothing_more(rows, cut) -> None:
    history, job, audit = _both(rows, cut)
    assert job == audit
    by_id = {e.id: e for e in history}
    paid = sorted((by_id[i] for i, reason, _ in job if reason == upkeep.PAID), key=lambda e: (e.at, e.id))
    for f in FIELDS:
        mine = [e for e in paid if e.field == f]
        # at most one paid event per field in any window of period_days
        assert all(b.at - a.at >= timedelta(days=UPKEEP.period_days) for a, b in zip(mine, mine[1:], strict=False))
        # an update is paid for a value at most once: toggling between values earns at most once per value
        updates = [e.value_hash for e in mine if e.kind == "updated"]
        assert len(updates) == len(set(updates))
        # confirmations pay only at least reminder_days after the field's previous event (or the enrolment)
        for e in mine:
            if e.kind == "confirmed":
                before = [x.at for x in history if x.field == f and (x.at, x.id) < (e.at, e.id)]
                assert e.at - max(before, default=ENROLLED) >= timedelta(days=UPKEEP.reminder_days)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(("A", "B")), min_size=1, max_size=30), st.integers(1, 30))
def test_toggling_a_field_back_and_forth_pays_at_most_twice_ever(values, gap_days) -> None:
    rows = [(i * gap_days, "email", "updated", v) for i, v in enumerate(values)]
    _, job, _ = _both(rows, 720)
    assert sum(1 for _, reason, _ in job if reason == upkeep.PAID) <= len(set(values))
