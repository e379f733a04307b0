"""Brand earning rules: a brand's versions of extra bps per category and tier, checked against the programme's bounds.

A version is immutable and applies from the next epoch opened after it was made (`effective_epoch`, fixed in
the same INSERT that stores it, so an epoch opening meanwhile cannot slip between the two); the epoch job
applies, per brand, the newest version whose `effective_epoch` is at most its number
(app/services/epoch_brand_rates.py). docs/epochs.md, "Brand earning rules".
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.analytics.rules import ProgrammeRules, default_rules
from app.clock import utcnow
from app.errors import InvalidInput, NotFound
from app.models.accounts import Brand
from app.models.brand_rates import BrandEarningRuleRow, BrandEarningRules
from app.models.epochs import Epoch


@dataclass(frozen=True)
class RuleRow:
    """Extra bps for one (category, tier)."""

    category: str
    tier: str
    extra_bps: int


@dataclass(frozen=True)
class Bounds:
    """What the programme lets a brand add: categories, tiers with their rates, the ceilings."""

    categories: list[str]
    tiers: list[tuple[str, int]]  # (name, cashback_bps), highest first
    max_extra_bps: int
    max_total_bps: int
    max_rows: int


@dataclass(frozen=True)
class RulesVersion:
    """One stored version with its rows and where it stands: `pending`, `in_force` or `superseded`."""

    version: int
    effective_epoch: int
    created_at: datetime
    status: str
    rows: list[RuleRow]


@dataclass(frozen=True)
class EarningRules:
    """A brand's earning rules: the bounds, the epoch a new version would first apply to, every version."""

    bounds: Bounds
    next_effective_epoch: int
    current: RulesVersion | None  # the newest version (what the next epoch applies)
    history: list[RulesVersion]  # newest first


def bounds_of(rules: ProgrammeRules) -> Bounds:
    b = rules.brand_rates
    return Bounds(
        categories=list(b.categories),
        tiers=[(t.name, t.cashback_bps) for t in rules.tiers],
        max_extra_bps=b.max_extra_bps,
        max_total_bps=b.max_total_bps,
        max_rows=b.max_rows,
    )


@dataclass(frozen=True)
class RuleProblem:
    """One way a submitted version leaves the programme's bounds: where (`body.rows[3]`) and what."""

    where: str
    problem: str


def problems_of(rows: list[RuleRow], rules: ProgrammeRules) -> list[RuleProblem]:
    """Every row outside the programme's bounds, each named with its index (values are quoted in the text only,
    so an out-of-range number never travels as a JSON number)."""
    b = rules.brand_rates
    tiers = {t.name: t.cashback_bps for t in rules.tiers}
    problems: list[RuleProblem] = []

    def refuse(i: int, row: RuleRow, problem: str) -> None:
        problems.append(RuleProblem(where=f"body.rows[{i}]", problem=problem))

    if len(rows) > b.max_rows:
        problems.append(RuleProblem(where="body.rows", problem=f"at most {b.max_rows} rows, got {len(rows)}"))
    seen: dict[tuple[str, str], int] = {}
    for i, row in enumerate(rows):
        if row.category not in b.categories:
            refuse(i, row, f"unknown category {row.category!r}; the programme's: {', '.join(b.categories)}")
        if row.tier not in tiers:
            refuse(i, row, f"unknown tier {row.tier!r}; the programme's: {', '.join(tiers)}")
        if not 1 <= row.extra_bps <= b.max_extra_bps:
            refuse(i, row, f"extra_bps must be 1..{b.max_extra_bps}, got {row.extra_bps}")
        elif row.tier in tiers and tiers[row.tier] + row.extra_bps > b.max_total_bps:
            refuse(
                i,
                row,
                f"{row.tier}'s {tiers[row.tier]} bps + {row.extra_bps} extra = {tiers[row.tier] + row.extra_bps} "
                f"bps, above the programme's ceiling of {b.max_total_bps}",
            )
        key = (row.category, row.tier)
        if key in seen:
            refuse(i, row, f"duplicates rows[{seen[key]}] ({row.category}, {row.tier})")
        else:
            seen[key] = i
    return problems


def create_version(
    session: Session, brand: Brand, rows: list[RuleRow], *, rules: ProgrammeRules | None = None
) -> RulesVersion:
    """Stores a new version of the brand's rules (all rows or none); 422 naming every offending row."""
    rules = rules or default_rules()
    problems = problems_of(rows, rules)
    if problems:
        summary = "; ".join(f"{p.where}: {p.problem}" for p in problems[:10])
        raise InvalidInput(f"invalid earning rules: {summary}", problems=[asdict(p) for p in problems])
    # Version and effective epoch are read in the INSERT itself: one statement, atomic against an epoch opening.
    version = BrandEarningRules(
        brand_id=brand.id,  # type: ignore[arg-type]
        version=select(func.coalesce(func.max(BrandEarningRules.version), 0) + 1)  # type: ignore[arg-type]
        .where(BrandEarningRules.brand_id == brand.id)
        .scalar_subquery(),
        effective_epoch=select(func.coalesce(func.max(Epoch.number), 0) + 1).scalar_subquery(),  # type: ignore[arg-type]
        created_at=utcnow(),
    )
    session.add(version)
    session.flush()
    session.refresh(version)
    for row in rows:
        session.add(
            BrandEarningRuleRow(rules_id=version.id, category=row.category, tier=row.tier, extra_bps=row.extra_bps)  # type: ignore[arg-type]
        )
    session.commit()
    return next(v for v in earning_rules(session, brand, rules=rules).history if v.version == version.version)


def earning_rules(session: Session, brand: Brand, *, rules: ProgrammeRules | None = None) -> EarningRules:
    """The brand's bounds, current version and history (newest first)."""
    rules = rules or default_rules()
    latest_epoch = session.exec(select(func.max(Epoch.number))).one() or 0
    versions = session.exec(
        select(BrandEarningRules)
        .where(BrandEarningRules.brand_id == brand.id)
        .order_by(col(BrandEarningRules.version).desc())
    ).all()
    rows: dict[int, list[RuleRow]] = {v.id: [] for v in versions}  # type: ignore[misc]
    if versions:
        for r in session.exec(
            select(BrandEarningRuleRow)
            .where(col(BrandEarningRuleRow.rules_id).in_(list(rows)))
            .order_by(col(BrandEarningRuleRow.category), col(BrandEarningRuleRow.tier))
        ):
            rows[r.rules_id].append(RuleRow(r.category, r.tier, r.extra_bps))
    history = []
    in_force_seen = False
    for v in versions:  # newest first: the first one already in effect is in force, older ones superseded
        if v.effective_epoch > latest_epoch:
            status = "pending"
        elif not in_force_seen:
            status, in_force_seen = "in_force", True
        else:
            status = "superseded"
        history.append(RulesVersion(v.version, v.effective_epoch, v.created_at, status, rows[v.id]))  # type: ignore[index]
    return EarningRules(bounds_of(rules), latest_epoch + 1, history[0] if history else None, history)


def version_of(session: Session, brand: Brand, version: int) -> RulesVersion:
    """One version of the brand's rules; 404 when the brand has no such version."""
    for v in earning_rules(session, brand).history:
        if v.version == version:
            return v
    raise NotFound(f"the brand has no earning rules version {version}")
