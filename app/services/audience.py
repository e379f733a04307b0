"""Audiences: who consents to a brand's purpose and categories now, filtered by segment and interest; counts only.

The candidates come from the mirror (mirror_consents, brought up to the chain's confirmed head first):
fast, and never wider than the chain, since a brand's profile request is re-checked by the registry's
recordAccess anyway. Expiry is judged against the chain's latest block time, not the server clock.

Filters and groupings use a dimension of the profile only among customers whose consent covers its
category: segment and tier need SEGMENT, interest category and level need INTERESTS, style needs STYLES.
Otherwise a filter would disclose a dimension nobody consented to share (a profile request for CONTACT
filtered by segment would tell the brand these people are champions).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict, cast

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.analytics.interests import interest_profile
from app.analytics.rules import ProgrammeRules, default_rules
from app.analytics.store import analytics
from app.chain.gateway import ChainGateway
from app.clock import utcnow
from app.config import Settings
from app.domain import Category, Purpose, category_mask, category_names, purpose_id
from app.errors import InvalidInput
from app.models.accounts import Brand, Customer
from app.models.epochs import EpochScore
from app.models.mirror import MirrorConsent
from app.services import audience_privacy as privacy

UNSCORED = "unscored"  # customers not graded by any epoch yet
SQL_CHUNK = 5_000  # ids per IN (...) list, below every database's parameter limit


@dataclass(frozen=True)
class Filters:
    """What narrows an audience or a profile request; every field optional."""

    segment: str | None = None
    tier: str | None = None
    category: str | None = None
    style: str | None = None
    min_interest: float | None = None
    rfm: str | None = None  # an RFM cell "r,f,m" at the latest epoch (rules' targeting)
    min_style: float | None = None  # least score in `style`

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Scope:
    """A purpose and the categories asked, validated."""

    purpose: int
    categories: int

    @property
    def purpose_name(self) -> str:
        return Purpose(self.purpose).name.lower()


@dataclass(frozen=True)
class Candidate:
    """A customer whose current consent covers the scope, with the price it sets per access."""

    customer_id: int
    address: str
    price: int


@dataclass
class Interests:
    """Interest scores of some customers: per category and per style, highest first."""

    categories: dict[int, dict[str, float]] = field(default_factory=dict)
    styles: dict[int, list[tuple[str, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class ChainTime:
    block: int
    timestamp: int


# -- validation -----------------------------------------------------------------------------------


def parse_scope(purpose: str, categories: Iterable[str]) -> Scope:
    """The scope of a request, or InvalidInput naming the unknown purpose or category."""
    names = [n.strip() for value in categories for n in value.split(",") if n.strip()]
    try:
        scope = Scope(purpose_id(purpose), int(category_mask(names)))
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    if scope.categories == 0:
        raise InvalidInput("name at least one data category")
    return scope


def check_filters(scope: Scope, filters: Filters, rules: ProgrammeRules | None = None) -> None:
    """Refuses unknown segment or tier names and filters on a dimension the scope does not cover."""
    rules = rules or default_rules()
    needs = {
        "segment": Category.SEGMENT,
        "tier": Category.SEGMENT,
        "category": Category.INTERESTS,
        "min_interest": Category.INTERESTS,
        "style": Category.STYLES,
        "rfm": Category.SEGMENT,
        "min_style": Category.STYLES,
    }
    for name in filters.as_dict():
        if not scope.categories & needs[name]:
            raise InvalidInput(
                f"filtering by {name} needs the {needs[name].name.lower()} category in `categories`: "  # type: ignore[union-attr]
                "only customers who consent to share it may be selected by it"
            )
    segments = segment_names(rules)
    if filters.segment is not None and filters.segment not in segments:
        raise InvalidInput(f"unknown segment {filters.segment!r}; known: {', '.join(segments)}")
    tiers = rules.tier_names()
    if filters.tier is not None and filters.tier not in tiers:
        raise InvalidInput(f"unknown tier {filters.tier!r}; known: {', '.join(tiers)}")
    if filters.min_interest is not None and filters.category is None:
        raise InvalidInput("min_interest applies to an interest category: give `category` too")
    if filters.min_style is not None and filters.style is None:
        raise InvalidInput("min_style applies to a style: give `style` too")


def segment_names(rules: ProgrammeRules) -> list[str]:
    """Segment names of the scheme epochs grade with, in the rules' order."""
    names: list[str] = []
    for rule in rules.segments.for_scheme(rules.epochs.scheme):
        if rule.name not in names:
            names.append(rule.name)
    return names


# -- the chain's now and the consenting customers --------------------------------------------------


def chain_now(chain: ChainGateway) -> ChainTime:
    """The chain's latest block and its time (consent expiry is judged by the chain's clock)."""
    block = chain.block()
    return ChainTime(block.number, block.timestamp)


def consenting(
    session: Session,
    brand: Brand,
    scope: Scope,
    now: int,
    *,
    exclude: frozenset[str] = frozenset(),
    among: list[int] | None = None,
) -> list[Candidate]:
    """Customers known off chain (not erased) whose mirrored consent covers the scope at chain time `now`;
    only those of `among` (customer ids) when given, which reads just their consents (a delivery batch of
    1,000 out of 100,000 consenting customers).

    Sorted by customer id. The covering test is the registry's: every category asked is granted and
    the consent has not expired (expires_at 0 = never).
    """
    query = select(
        MirrorConsent.customer, MirrorConsent.categories, MirrorConsent.expires_at, MirrorConsent.price
    ).where(
        MirrorConsent.brand == brand.address,
        MirrorConsent.purpose == scope.purpose,
        MirrorConsent.status == "active",
    )
    if among is None:
        rows = list(session.exec(query).all())
    else:
        rows = []
        for chunk in chunks(sorted(addresses_of(session, among).values())):
            rows += session.exec(query.where(col(MirrorConsent.customer).in_(chunk))).all()
    covering = {
        customer: int(price)
        for customer, categories, expires_at, price in rows
        if int(categories) & scope.categories == scope.categories
        and (expires_at == 0 or expires_at > now)
        and customer not in exclude
    }
    found: list[Candidate] = []
    for chunk in chunks(sorted(covering)):
        for customer_id, address in session.exec(
            select(Customer.id, Customer.address).where(
                col(Customer.address).in_(chunk), col(Customer.erased_at).is_(None)
            )
        ).all():
            found.append(Candidate(int(customer_id), address, covering[address]))  # type: ignore[arg-type]
    found.sort(key=lambda c: c.customer_id)
    return found


# -- dimensions of a profile -----------------------------------------------------------------------


def latest_scores(session: Session, customer_ids: list[int]) -> dict[int, EpochScore]:
    """Each customer's scores at the latest graded epoch (customers not graded there are absent)."""
    epoch = session.exec(select(func.max(EpochScore.epoch))).one()
    if epoch is None:
        return {}
    scores: dict[int, EpochScore] = {}
    for chunk in chunks(customer_ids):
        for row in session.exec(
            select(EpochScore).where(EpochScore.epoch == epoch, col(EpochScore.customer_id).in_(chunk))
        ).all():
            scores[row.customer_id] = row
    return scores


def interests_of(settings: Settings, customer_ids: list[int], *, as_of: datetime | None = None) -> Interests:
    """Interest scores per category and style of the given customers (DuckDB over the store)."""
    found = Interests()
    if not customer_ids:
        return found
    with analytics(settings) as con:
        con.register("wanted_customers", pd.DataFrame({"customer_id": customer_ids}))
        con.execute(
            "CREATE TEMP VIEW wanted_events AS SELECT e.* FROM interest_events_v e "
            "JOIN wanted_customers w USING (customer_id)"
        )
        con.execute(
            "CREATE TEMP VIEW wanted_items AS SELECT i.* FROM purchase_items_v i "
            "JOIN wanted_customers w USING (customer_id)"
        )
        profile = interest_profile(con, "wanted_events", "wanted_items", as_of=as_of or utcnow(), rules=default_rules())
    for customer_id, dimension, value, score in profile[["customer_id", "dimension", "value", "score"]].itertuples(
        index=False
    ):
        if dimension == "category":
            found.categories.setdefault(int(customer_id), {})[value] = float(score)
        else:
            found.styles.setdefault(int(customer_id), []).append((value, float(score)))
    return found


def matches(candidate: Candidate, filters: Filters, scores: dict[int, EpochScore], interests: Interests) -> bool:
    """Whether a candidate passes every filter given."""
    score = scores.get(candidate.customer_id)
    if filters.segment is not None and (score is None or score.segment != filters.segment):
        return False
    if filters.tier is not None and (score is None or score.tier != filters.tier):
        return False
    if filters.rfm is not None and (score is None or f"{score.r},{score.f},{score.m}" != filters.rfm):
        return False
    if filters.category is not None:
        level = interests.categories.get(candidate.customer_id, {}).get(filters.category)
        if level is None or level <= 0 or (filters.min_interest is not None and level < filters.min_interest):
            return False
    if filters.style is not None:
        level = dict(interests.styles.get(candidate.customer_id, [])).get(filters.style, 0)
        if level <= 0 or (filters.min_style is not None and level < filters.min_style):
            return False
    return True


def needs_interests(scope: Scope, filters: Filters) -> bool:
    return bool(scope.categories & (Category.INTERESTS | Category.STYLES)) or bool(filters.category or filters.style)


# -- audience counts -----------------------------------------------------------------------------


class ShownCount(TypedDict):
    count: int | None  # exact from k_min up
    fewer_than: int | None  # k_min, set instead of `count` under it


class Group(ShownCount):
    value: str


class AudiencePrivacy(TypedDict, total=False):
    epsilon: float  # what the answer cost when first given
    repeated: bool
    epsilon_spent: float
    epsilon_budget: float
    epsilon_left: float
    period_start: datetime
    period_end: datetime


class AudienceAnswer(TypedDict):
    """Noisy counts as given to the brand. A JSON document on purpose: stored as given and replayed verbatim
    when the same query comes again in the period (app/services/audience_privacy.py)."""

    brand: str
    purpose: str
    categories: list[str]
    filters: dict[str, Any]
    k_min: int
    block_number: int
    total: ShownCount
    by_segment: list[Group] | None
    by_tier: list[Group] | None
    by_category: list[Group] | None
    by_style: list[Group] | None
    privacy: AudiencePrivacy


def shown(count: int, k_min: int) -> ShownCount:
    """A count as shown to a brand: exact from k_min up, else only "fewer than k_min" (zero included)."""
    return ShownCount(count=count, fewer_than=None) if count >= k_min else ShownCount(count=None, fewer_than=k_min)


def audience(
    session: Session, settings: Settings, chain: ChainGateway, brand: Brand, scope: Scope, filters: Filters
) -> AudienceAnswer:
    """Noisy counts of consenting customers (after filters), in total and grouped by the dimensions the scope
    covers, under the brand's privacy budget (app/services/audience_privacy.py).

    The same query in the same period over the same consenting customers and latest epoch is answered again
    from the stored answer: asking again gains nothing. Which customers consent to the brand is public on
    chain, so keying the answer on them tells the brand nothing it could not read there.
    """
    rules = default_rules()
    check_filters(scope, filters, rules)
    assert brand.id is not None
    now = chain_now(chain)
    candidates = consenting(session, brand, scope, now.timestamp)
    period = privacy.period_of(settings)
    query = {
        "purpose": scope.purpose_name,
        "categories": category_names(scope.categories),
        "filters": filters.as_dict(),
        "consenting": hashlib.sha256(",".join(c.address for c in candidates).encode()).hexdigest(),
        "epoch": session.exec(select(func.max(EpochScore.epoch))).one(),
    }
    key = privacy.query_key(query)
    answer = cast(AudienceAnswer | None, privacy.stored_answer(session, brand.id, period, key))
    repeated = answer is not None
    if answer is None:
        privacy.refuse_if_spent(session, settings, brand.id, period)
        answer = _noisy_audience(session, settings, brand, scope, filters, rules, now, candidates)
        answer = cast(AudienceAnswer, privacy.record(
            session, settings, brand.id, period, key, cast(dict[str, Any], answer), answer["privacy"]["epsilon"]
        ))  # fmt: skip
    answer["privacy"] |= {"repeated": repeated, **privacy.standing(session, settings, brand.id, period)}
    return answer


def _noisy_audience(
    session: Session,
    settings: Settings,
    brand: Brand,
    scope: Scope,
    filters: Filters,
    rules: ProgrammeRules,
    now: ChainTime,
    candidates: list[Candidate],
) -> AudienceAnswer:
    ids = [c.customer_id for c in candidates]
    scores = latest_scores(session, ids) if scope.categories & Category.SEGMENT else {}
    interests = interests_of(settings, ids) if needs_interests(scope, filters) else Interests()
    chosen = [c for c in candidates if matches(c, filters, scores, interests)]
    k = settings.audience_k_min

    def counted(values: list[str], key_of) -> dict[str, int]:  # type: ignore[no-untyped-def]
        counts = dict.fromkeys(values, 0)
        for candidate in chosen:
            for value in key_of(candidate):
                if value in counts:
                    counts[value] += 1
        return counts

    def score_of(c: Candidate) -> EpochScore | None:
        return scores.get(c.customer_id)

    # Each family's keys are fixed before counting (segment and tier names from the rules, interest
    # categories and styles from the whole store), so which groups appear tells nothing about the audience.
    families: dict[str, dict[str, int]] = {"total": {"": len(chosen)}}
    disjoint = {"total"}  # families where one customer falls in exactly one group
    if scope.categories & Category.SEGMENT:
        families["by_segment"] = counted(
            [*segment_names(rules), UNSCORED], lambda c: [s.segment if (s := score_of(c)) else UNSCORED]
        )
        families["by_tier"] = counted(
            [*rules.tier_names(), UNSCORED], lambda c: [s.tier if (s := score_of(c)) else UNSCORED]
        )
        disjoint |= {"by_segment", "by_tier"}
    if scope.categories & (Category.INTERESTS | Category.STYLES):
        vocabulary = interest_vocabulary(settings)
    if scope.categories & Category.INTERESTS:
        floor = filters.min_interest
        families["by_category"] = counted(
            vocabulary.categories,
            lambda c: [
                name
                for name, level in interests.categories.get(c.customer_id, {}).items()
                if level > 0 and (floor is None or level >= floor)
            ],
        )
    if scope.categories & Category.STYLES:
        families["by_style"] = counted(
            vocabulary.styles, lambda c: [name for name, level in interests.styles.get(c.customer_id, []) if level > 0]
        )
    released, epsilon = privacy.noisy(
        [
            privacy.Family(name, list(counts.values()), 1 if name in disjoint else max(len(counts), 1))
            for name, counts in families.items()
        ],
        settings.audience_epsilon_per_query,
    )
    shown_families: dict[str, list[Group]] = {
        name: [Group(value=key, **shown(n, k)) for key, n in zip(families[name], released[name], strict=True)]
        for name in families
    }
    result: AudienceAnswer = {
        "brand": brand.address,
        "purpose": scope.purpose_name,
        "categories": category_names(scope.categories),
        "filters": filters.as_dict(),
        "k_min": k,
        "block_number": now.block,
        "total": shown(released["total"][0], k),
        "by_segment": shown_families.get("by_segment"),
        "by_tier": shown_families.get("by_tier"),
        "by_category": shown_families.get("by_category"),
        "by_style": shown_families.get("by_style"),
        "privacy": {"epsilon": epsilon},
    }
    for groups in (result["by_category"], result["by_style"]):
        if groups is not None:
            groups.sort(key=lambda g: g["value"])
    return result


@dataclass(frozen=True)
class Vocabulary:
    categories: list[str]
    styles: list[str]


def interest_vocabulary(settings: Settings) -> Vocabulary:
    """Every interest category and style named anywhere in the store (events and purchase items), sorted."""
    with analytics(settings) as con:
        rows = con.execute(
            """SELECT 'category', category FROM interest_events_v WHERE category IS NOT NULL
            UNION SELECT 'category', category FROM purchase_items_v WHERE category IS NOT NULL
            UNION SELECT 'style', style FROM interest_events_v WHERE style IS NOT NULL
            UNION SELECT 'style', style FROM purchase_items_v WHERE style IS NOT NULL"""
        ).fetchall()
    return Vocabulary(sorted(v for d, v in rows if d == "category"), sorted(v for d, v in rows if d == "style"))


def chunks(values: list[Any], size: int = SQL_CHUNK) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def addresses_of(session: Session, ids: list[int]) -> dict[int, str]:
    """The wallet address of each customer id (unknown ids left out)."""
    found: dict[int, str] = {}
    for chunk in chunks(ids):
        found |= {
            int(cid): str(address)  # type: ignore[arg-type]
            for cid, address in session.exec(select(Customer.id, Customer.address).where(col(Customer.id).in_(chunk)))
        }
    return found
