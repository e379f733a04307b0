"""The audience privacy accountant: noisy counts (OpenDP's discrete Laplace) under a per-brand epsilon budget.

Each audience answer is epsilon-differentially private with respect to adding or removing one customer
(docs/privacy-audience.md): every released family of counts (total, by segment, by tier, by category, by
style) gets discrete Laplace noise scaled to its L1 sensitivity and an equal share of the query's epsilon;
the threshold is applied to the noisy counts afterwards (post-processing costs no privacy). A brand spends
at most `audience_epsilon_per_period` per period; the same query in the same period is answered from the
stored noisy answer, so asking again (and averaging) gains nothing and costs nothing.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

import opendp.prelude as dp
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.clock import utcnow
from app.config import Settings
from app.errors import LedgerError
from app.models.audience import AudienceAnswer, AudienceBudget

MICRO = 1_000_000  # budgets are kept in micro-epsilon, so sums are exact integers
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# OpenDP gates its mechanisms behind "contrib" (proven but not yet vetted in the library's own process).
dp.enable_features("contrib")


class PrivacyBudgetSpent(LedgerError):
    """The brand has spent its audience privacy budget for this period."""

    status_code = 429
    code = "privacy_budget_spent"
    retry_after: int | None = None  # seconds until the next period (the Retry-After header)


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Family:
    """A family of counts released together, and how many of them one customer can change by one each."""

    name: str
    counts: list[int]
    sensitivity: int


def period_of(settings: Settings, now: datetime | None = None) -> Period:
    """The budget period holding `now`: fixed lengths of audience_period_days counted from 1970-01-01 UTC."""
    length = timedelta(days=settings.audience_period_days)
    n = ((now or utcnow()) - _EPOCH) // length
    start = _EPOCH + n * length
    return Period(start, start + length)


def query_key(query: dict[str, Any]) -> str:
    """sha256 of the canonical query (purpose, categories, filters): identical queries share an answer."""
    return hashlib.sha256(json.dumps(query, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def to_micro(epsilon: float) -> int:
    # OpenDP's privacy map can exceed the share by a rounding ulp; a micro-epsilon tolerance absorbs it.
    return max(1, math.ceil(epsilon * MICRO - 1e-3))


def noisy(families: list[Family], epsilon: float) -> tuple[dict[str, list[int]], float]:
    """Each family's counts with discrete Laplace noise (clamped at zero), and the epsilon OpenDP's privacy
    maps say the release costs in all (basic composition over the families)."""
    released: dict[str, list[int]] = {}
    spent = 0.0
    share = epsilon / max(len(families), 1)
    for family in families:
        if not family.counts:
            released[family.name] = []
            continue
        measurement = dp.m.make_laplace(
            dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int), scale=family.sensitivity / share
        )
        released[family.name] = [max(0, int(n)) for n in measurement(family.counts)]
        spent += float(measurement.map(family.sensitivity))
    return released, spent


def _budget_row(session: Session, brand_id: int, period: Period) -> AudienceBudget:
    row = session.exec(
        select(AudienceBudget).where(AudienceBudget.brand_id == brand_id, AudienceBudget.period_start == period.start)
    ).first()
    if row is None:
        try:
            with session.begin_nested():
                session.add(AudienceBudget(brand_id=brand_id, period_start=period.start, spent_micro=0))
        except IntegrityError:  # created meanwhile by a concurrent query
            pass
        row = session.exec(
            select(AudienceBudget).where(
                AudienceBudget.brand_id == brand_id, AudienceBudget.period_start == period.start
            )
        ).one()
    return row


class Standing(TypedDict):
    epsilon_spent: float
    epsilon_budget: float
    epsilon_left: float
    period_start: datetime
    period_end: datetime


def standing(session: Session, settings: Settings, brand_id: int, period: Period) -> Standing:
    """The brand's budget in this period, as the answer reports it."""
    row = session.exec(
        select(AudienceBudget).where(AudienceBudget.brand_id == brand_id, AudienceBudget.period_start == period.start)
    ).first()
    spent = row.spent_micro if row else 0
    budget = to_micro(settings.audience_epsilon_per_period)
    return Standing(
        epsilon_spent=spent / MICRO,
        epsilon_budget=budget / MICRO,
        epsilon_left=max(0, budget - spent) / MICRO,
        period_start=period.start,
        period_end=period.end,
    )


def refuse_if_spent(session: Session, settings: Settings, brand_id: int, period: Period) -> None:
    """Refuses (429) a new query the brand's remaining budget cannot pay for."""
    row = session.exec(
        select(AudienceBudget).where(AudienceBudget.brand_id == brand_id, AudienceBudget.period_start == period.start)
    ).first()
    cost, budget = to_micro(settings.audience_epsilon_per_query), to_micro(settings.audience_epsilon_per_period)
    if (row.spent_micro if row else 0) + cost > budget:
        _refuse(settings, period, row.spent_micro if row else 0)


def _refuse(settings: Settings, period: Period, spent: int) -> None:
    refusal = PrivacyBudgetSpent(
        f"this brand's audience privacy budget for the period is spent ({spent / MICRO:g} of "
        f"{settings.audience_epsilon_per_period:g} epsilon; a new query costs "
        f"{settings.audience_epsilon_per_query:g}). "
        f"Queries asked before in this period are still answered; new ones from {period.end:%Y-%m-%dT%H:%M:%SZ}",
        period_end=period.end.strftime("%Y-%m-%dT%H:%M:%SZ"),
        epsilon_spent=spent / MICRO,
        epsilon_budget=settings.audience_epsilon_per_period,
    )
    refusal.retry_after = max(1, math.ceil((period.end - utcnow()).total_seconds()))
    raise refusal


def stored_answer(session: Session, brand_id: int, period: Period, key: str) -> dict[str, Any] | None:
    row = session.exec(
        select(AudienceAnswer).where(
            AudienceAnswer.brand_id == brand_id,
            AudienceAnswer.period_start == period.start,
            AudienceAnswer.query_key == key,
        )
    ).first()
    return json.loads(row.answer) if row else None


def record(
    session: Session,
    settings: Settings,
    brand_id: int,
    period: Period,
    key: str,
    answer: dict[str, Any],
    epsilon: float,
) -> dict[str, Any]:
    """Charges the brand's budget and stores the answer in one transaction; returns the answer to give.

    Should the same query have been answered meanwhile (a concurrent request), that answer is given and
    nothing is charged; should the budget have run out meanwhile, PrivacyBudgetSpent.
    """
    cost, budget = to_micro(epsilon), to_micro(settings.audience_epsilon_per_period)
    _budget_row(session, brand_id, period)
    # One conditional UPDATE: concurrent queries cannot both spend the last of the budget.
    charged = session.execute(
        update(AudienceBudget)
        .where(
            col(AudienceBudget.brand_id) == brand_id,
            col(AudienceBudget.period_start) == period.start,
            col(AudienceBudget.spent_micro) + cost <= budget,
        )
        .values(spent_micro=AudienceBudget.spent_micro + cost)
    )
    if charged.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        refuse_if_spent(session, settings, brand_id, period)
        _refuse(settings, period, budget)
    session.add(
        AudienceAnswer(
            brand_id=brand_id,
            period_start=period.start,
            query_key=key,
            answer=json.dumps(answer, sort_keys=True),
            epsilon_micro=cost,
        )
    )
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        earlier = stored_answer(session, brand_id, period, key)
        assert earlier is not None
        return earlier
    return answer
