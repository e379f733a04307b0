"""Brand access: profiles of consenting customers, recorded on chain and paid before any field leaves; accounts.

A profile request runs, per brand one at a time (so two requests cannot both spend the same budget):
1. the mirror is brought up to the chain's confirmed head, and the candidates are the customers whose
   consent covers the purpose and every category asked at the chain's time, at a price within the
   brand's on-chain maximum, narrowed by the filters and the limit (app/services/audience.py);
2. their prices must be payable: the brand's unreserved budget (RewardDistributor.availableOf) and the
   allowance the brand gave the recorder (ConsentRegistry.accessLimitsOf), else 402 and nothing else;
3. an `access_requests` row is written (status pending) with a fresh random request id, then ONE
   recordAccess batch carrying that id and, per customer, the price the brand is charged here (its
   agreed maximum) is sent by the recorder key. The registry is the authority and never refuses the
   batch for one customer: whoever is no longer covered (revoked, narrowed or expired since the mirror
   saw it), re-priced above the agreed price, or beyond the allowance or budget is skipped, named in
   AccessSkipped with the reason, and neither charged nor given any data. A batch refused as a whole
   fails the request (409, no data); a chain that does not answer fails it with 503;
4. only the customers named in the mined AccessRecorded event are returned, each with the fields of the
   categories asked and nothing else; the skipped ones are listed with their reason; the row is
   marked recorded, then delivered. The recorded total is reserved in the brand's budget on chain.

Profiles describe what the programme knows of a customer across all brands (purchase totals, RFM
grade, interest scores), never another brand's name or a single order.
"""

from __future__ import annotations

import json
import secrets
import statistics
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select
from web3.logs import DISCARD

from app.chain.gateway import ChainGateway
from app.chain.transactions import TransactionFailed
from app.config import Settings
from app.domain import Category, Purpose, category_names
from app.errors import ChainRefused, ChainUnavailable, Conflict, InsufficientBudget, InvalidInput
from app.models.access import AccessRequest, AccessStatus
from app.models.accounts import Brand, Customer, utcnow
from app.models.epochs import EpochScore, EpochShortfall
from app.models.mirror import (
    IndexerCursor,
    MirrorBudgetEvent,
    MirrorConsent,
    MirrorEpochDebit,
)
from app.models.purchases import InterestEvent, InterestKind, Purchase
from app.services.audience import (
    Candidate,
    Filters,
    Interests,
    Scope,
    chain_now,
    check_filters,
    chunks,
    consenting,
    interests_of,
    latest_scores,
    matches,
    needs_interests,
    refresh_mirror,
    shown,
)

MAX_LIMIT = 1000
TOP_STYLES = 3

_locks_guard = threading.Lock()
_brand_locks: dict[int, threading.Lock] = defaultdict(threading.Lock)


def brand_lock(brand_id: int) -> threading.Lock:
    """Held while a brand's access batch is priced and recorded, so two batches cannot spend one budget."""
    with _locks_guard:
        return _brand_locks[brand_id]


# -- what a brand can pay ---------------------------------------------------------------------------

# IConsentRegistry.SkipReason, by its uint8 value.
SKIP_REASONS = ("not_covered", "price_above_maximum", "duplicate", "over_allowance", "over_budget")


def budget_on_chain(chain: ChainGateway, brand: Brand) -> tuple[int, int]:
    """(budget, reserved) of the brand at the distributor: the reserve is what recorded, unsettled
    accesses hold; the rest is what new accesses (and withdrawals) may use."""
    distributor = chain.distributor
    budget = int(chain.call(distributor.functions.budgetOf(brand.address)))
    return budget, int(chain.call(distributor.functions.reservedOf(brand.address)))


def limits_on_chain(chain: ChainGateway, brand: Brand) -> tuple[int, int, bool]:
    """(allowance, max price, whether the brand ever set them) the brand gave the recorder."""
    (allowance, max_price), changed_at = chain.call(chain.registry.functions.accessLimitsOf(brand.address))
    return int(allowance), int(max_price), bool(changed_at)


# -- profile requests -----------------------------------------------------------------------------


def request_profiles(
    session: Session,
    settings: Settings,
    chain: ChainGateway,
    brand: Brand,
    scope: Scope,
    filters: Filters,
    limit: int,
) -> dict[str, Any]:
    """Profiles of up to `limit` consenting customers, after their access is recorded on chain and payable."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    check_filters(scope, filters)
    engine = session.get_bind()
    with brand_lock(brand.id):  # type: ignore[arg-type]
        refresh_mirror(settings, engine, chain)  # type: ignore[arg-type]
        allowance, max_price, limited = limits_on_chain(chain, brand)
        now = chain_now(chain)
        candidates = consenting(session, brand, scope, now.timestamp)
        if limited:  # the brand pays no customer above its own maximum: they are not asked for
            candidates = [c for c in candidates if c.price <= max_price]
        scores, interests = dimensions(session, settings, scope, filters, candidates)
        chosen = [c for c in candidates if matches(c, filters, scores, interests)][:limit]
        if not chosen:
            return _result(None, scope, filters, limit, [], [], 0, attempts=0)
        batch = record_batch(
            session,
            chain,
            brand,
            scope,
            chosen,
            allowance=allowance,
            limited=limited,
            what=filters.as_dict(),
            limit=limit,
        )
        profiles = build_profiles(session, scope, batch.recorded, batch.prices, scores, interests)
        mark_delivered(session, batch.record)
        return _result(batch.record, scope, filters, limit, profiles, batch.skipped, batch.total, attempts=1)


@dataclass(frozen=True)
class RecordedBatch:
    """One recordAccess batch as mined: whom the registry recorded (at what price) and whom it skipped."""

    record: AccessRequest
    recorded: list[Candidate]
    prices: dict[str, int]
    skipped: list[dict[str, str]]  # {"address", "reason"} per customer the registry skipped
    total: int


def record_batch(
    session: Session,
    chain: ChainGateway,
    brand: Brand,
    scope: Scope,
    chosen: list[Candidate],
    *,
    allowance: int,
    limited: bool,
    what: dict[str, Any],
    limit: int,
) -> RecordedBatch:
    """Checks the batch is payable (402 otherwise), writes its `access_requests` row and sends ONE
    recordAccess by the recorder at each candidate's price; the mined events say who was recorded.

    Shared by profile requests and offer deliveries (app/services/deliveries.py); the caller holds
    brand_lock(brand) and has refreshed the mirror. The row is left `recorded`: the caller marks it
    delivered once it has handed over what the access was for.
    """
    cost = sum(c.price for c in chosen)
    budget, reserved = budget_on_chain(chain, brand)
    available = budget - reserved
    if available < cost:
        raise InsufficientBudget(
            f"the budget cannot pay this request: it costs {cost} for {len(chosen)} customers, the budget "
            f"is {budget} of which {reserved} is reserved for accesses not yet settled; ask the operator to "
            "fund it (RewardDistributor.fund) or ask for fewer customers",
            cost=str(cost),
            budget=str(budget),
            committed=str(reserved),
            available=str(max(available, 0)),
        )
    if allowance < cost:
        raise InsufficientBudget(
            f"the allowance you gave the recorder cannot pay this request: it costs {cost} for {len(chosen)} "
            f"customers, the allowance left is {allowance}"
            + ("" if limited else " (you have not set access limits yet)")
            + "; set it with POST /brands/me/access-limits",
            cost=str(cost),
            allowance=str(allowance),
        )
    record = _open(session, brand, scope, what, limit)
    record.attempts = 1
    record.customers, record.cost = len(chosen), cost
    session.add(record)
    session.commit()
    try:
        sent = chain.send(
            chain.registry.functions.recordAccess(
                brand.address,
                scope.purpose,
                scope.categories,
                [c.address for c in chosen],
                [c.price for c in chosen],  # the price the brand is charged here: never more
                bytes.fromhex(record.request_id[2:]),
            ),
            role="recorder",
        )
    except ChainRefused as exc:
        _close(session, record, AccessStatus.REFUSED, exc.message)
        raise Conflict(
            f"the registry refused to record the access ({exc.detail.get('error')}); nothing was returned",
            request_id=record.request_id,
            refusal=exc.detail,
        ) from None
    except TransactionFailed as exc:
        _close(session, record, AccessStatus.REFUSED, str(exc))
        raise Conflict(
            "the access batch reverted (the registry was paused, or a brand-wide condition changed); "
            "nothing was returned, ask again",
            request_id=record.request_id,
        ) from None
    except ChainUnavailable as exc:
        _close(session, record, AccessStatus.FAILED, exc.message)
        raise
    return _recorded(session, chain, record, sent, chosen)


def dimensions(
    session: Session, settings: Settings, scope: Scope, filters: Filters, candidates: list[Candidate]
) -> tuple[dict[int, EpochScore], Interests]:
    """The latest scores and the interest scores of the candidates, each only if the scope or filters use it."""
    ids = [c.customer_id for c in candidates]
    scores = latest_scores(session, ids) if scope.categories & Category.SEGMENT else {}
    interests = interests_of(settings, ids) if needs_interests(scope, filters) and ids else Interests()
    return scores, interests


def _open(session: Session, brand: Brand, scope: Scope, what: dict[str, Any], limit: int) -> AccessRequest:
    record = AccessRequest(
        id=str(uuid.uuid4()),
        brand_id=brand.id,  # type: ignore[arg-type]
        purpose=scope.purpose,
        categories=scope.categories,
        filters=json.dumps(what, sort_keys=True, separators=(",", ":")),
        requested_limit=limit,
        request_id="0x" + secrets.token_bytes(32).hex(),
        status=AccessStatus.PENDING,
    )
    session.add(record)
    session.commit()
    session.refresh(record)
    return record


def _close(session: Session, record: AccessRequest, status: AccessStatus, error: str) -> None:
    record.status = status
    record.error = error
    session.add(record)
    session.commit()


def _recorded(
    session: Session, chain: ChainGateway, record: AccessRequest, sent: Any, chosen: list[Candidate]
) -> RecordedBatch:
    # The mined events, not our candidate list, say whose access was recorded, at what price, and who
    # was skipped.
    def of_request(name: str) -> list[Any]:
        event = getattr(chain.registry.events, name)()
        return [
            e
            for e in event.process_receipt(sent.receipt, errors=DISCARD)
            if "0x" + bytes(e["args"]["requestId"]).hex() == record.request_id
        ]

    events = of_request("AccessRecorded")
    if len(events) != 1:
        _close(session, record, AccessStatus.FAILED, f"{len(events)} AccessRecorded events for the request")
        raise Conflict(f"the access batch {sent.tx_hash} carries no AccessRecorded for this request; nothing returned")
    skipped = [
        {"address": customer, "reason": SKIP_REASONS[int(reason)]}
        for e in of_request("AccessSkipped")
        for customer, reason in zip(e["args"]["customers"], e["args"]["reasons"], strict=True)
    ]
    args = events[0]["args"]
    prices = dict(zip(args["customers"], (int(p) for p in args["prices"]), strict=True))
    by_address = {c.address: c for c in chosen}
    recorded = [by_address[a] for a in args["customers"] if a in by_address]
    record.status = AccessStatus.RECORDED
    record.tx_hash, record.block_number, record.gas_used = sent.tx_hash, sent.block_number, sent.gas_used
    record.customers, record.cost = len(recorded), int(args["total"])
    record.skipped = len(skipped)
    record.recorded_at = utcnow()
    session.add(record)
    session.commit()
    return RecordedBatch(record, recorded, prices, skipped, int(args["total"]))


def mark_delivered(session: Session, record: AccessRequest) -> None:
    record.status = AccessStatus.DELIVERED
    record.delivered_at = utcnow()
    session.add(record)
    session.commit()


def _result(
    record: AccessRequest | None,
    scope: Scope,
    filters: Filters,
    limit: int,
    profiles: list[dict[str, Any]],
    skipped: list[dict[str, str]],
    cost: int,
    *,
    attempts: int,
) -> dict[str, Any]:
    return {
        "access_id": record.id if record else None,
        "request_id": record.request_id if record else None,
        "tx_hash": record.tx_hash if record else None,
        "block_number": record.block_number if record else None,
        "purpose": scope.purpose_name,
        "categories": category_names(scope.categories),
        "filters": filters.as_dict(),
        "limit": limit,
        "customers": len(profiles),
        "cost": str(cost),
        "attempts": attempts,
        "profiles": profiles,
        "skipped": skipped,
    }


# -- profiles: only the categories asked (and covered) --------------------------------------------


def build_profiles(
    session: Session,
    scope: Scope,
    customers: list[Candidate],
    prices: dict[str, int],
    scores: dict[int, EpochScore],
    interests: Interests,
) -> list[dict[str, Any]]:
    """Each customer's pseudonymous address, the price paid, and the fields of the categories in `scope`."""
    mask = scope.categories
    ids = [c.customer_id for c in customers]
    people = _customers(session, ids) if mask & (Category.CONTACT | Category.DEMOGRAPHICS) else {}
    purchases = _purchase_totals(session, ids) if mask & Category.PURCHASES else {}
    carts = _cart_counts(session, ids) if mask & Category.CART else {}
    profiles = []
    for c in customers:
        profile: dict[str, Any] = {"address": c.address, "price": str(prices[c.address])}
        person = people.get(c.customer_id)
        if mask & Category.CONTACT:
            profile["contact"] = {k: getattr(person, k, None) for k in ("name", "email", "phone")}
        if mask & Category.DEMOGRAPHICS:
            profile["demographics"] = {k: getattr(person, k, None) for k in ("birth_year", "gender", "region")}
        if mask & Category.PURCHASES:
            count, total, last = purchases.get(c.customer_id, (0, 0, None))
            profile["purchases"] = {
                "count": count,
                "total_won": total,
                "last_purchased_at": last.isoformat() if last else None,
            }
        if mask & Category.SEGMENT:
            s = scores.get(c.customer_id)
            profile["segment"] = (
                {"epoch": s.epoch, "r": s.r, "f": s.f, "m": s.m, "segment": s.segment, "tier": s.tier}
                if s is not None
                else None
            )
        if mask & Category.INTERESTS:
            profile["interests"] = interests.categories.get(c.customer_id, {})
        if mask & Category.STYLES:
            profile["styles"] = [
                {"style": style, "score": score}
                for style, score in interests.styles.get(c.customer_id, [])[:TOP_STYLES]
            ]
        if mask & Category.CART:
            adds, abandons = carts.get(c.customer_id, (0, 0))
            profile["cart"] = {"adds": adds, "abandons": abandons}
        profiles.append(profile)
    return profiles


def _customers(session: Session, ids: list[int]) -> dict[int, Customer]:
    found: dict[int, Customer] = {}
    for chunk in chunks(ids):
        for row in session.exec(select(Customer).where(col(Customer.id).in_(chunk))).all():
            found[row.id] = row  # type: ignore[index]
    return found


def _purchase_totals(session: Session, ids: list[int]) -> dict[int, tuple[int, int, Any]]:
    found: dict[int, tuple[int, int, Any]] = {}
    for chunk in chunks(ids):
        rows = session.exec(
            select(Purchase.customer_id, func.count(), func.sum(Purchase.amount), func.max(Purchase.purchased_at))
            .where(col(Purchase.customer_id).in_(chunk))
            .group_by(col(Purchase.customer_id))
        ).all()
        for customer_id, count, total, last in rows:
            found[customer_id] = (int(count), int(total or 0), last)
    return found


def _cart_counts(session: Session, ids: list[int]) -> dict[int, tuple[int, int]]:
    found: dict[int, list[int]] = {}
    for chunk in chunks(ids):
        rows = session.exec(
            select(InterestEvent.customer_id, InterestEvent.kind, func.count())
            .where(
                col(InterestEvent.customer_id).in_(chunk),
                col(InterestEvent.kind).in_([InterestKind.CART_ADD, InterestKind.CART_ABANDON]),
            )
            .group_by(col(InterestEvent.customer_id), col(InterestEvent.kind))
        ).all()
        for customer_id, kind, count in rows:
            counts = found.setdefault(customer_id, [0, 0])
            counts[0 if kind == InterestKind.CART_ADD else 1] = int(count)
    return {k: (v[0], v[1]) for k, v in found.items()}


# -- the brand's account and history ---------------------------------------------------------------


def brand_account(session: Session, settings: Settings, chain: ChainGateway, brand: Brand) -> dict[str, Any]:
    """Budget (deposited, withdrawn, spent, on chain, committed, remaining), consent prices, access totals."""
    refresh_mirror(settings, session.get_bind(), chain)  # type: ignore[arg-type]
    events = session.exec(
        select(MirrorBudgetEvent.kind, MirrorBudgetEvent.amount).where(MirrorBudgetEvent.brand == brand.address)
    ).all()
    deposited = sum(int(a) for kind, a in events if kind in ("funded", "deposited"))
    withdrawn = sum(int(a) for kind, a in events if kind == "withdrawn")
    spent = sum(
        int(a) for a in session.exec(select(MirrorEpochDebit.amount).where(MirrorEpochDebit.brand == brand.address))
    )
    budget, owed = budget_on_chain(chain, brand)
    allowance, max_price, _ = limits_on_chain(chain, brand)
    funded = sum(int(a) for kind, a in events if kind == "funded")
    shortfalls = session.exec(
        select(EpochShortfall).where(func.lower(EpochShortfall.brand) == brand.address.lower())
    ).all()
    now = chain_now(chain)
    k = settings.audience_k_min
    prices: list[dict[str, Any]] = []
    for purpose in Purpose:
        values = sorted(
            int(price)
            for categories, expires_at, price in session.exec(
                select(MirrorConsent.categories, MirrorConsent.expires_at, MirrorConsent.price).where(
                    MirrorConsent.brand == brand.address,
                    MirrorConsent.purpose == int(purpose),
                    MirrorConsent.status == "active",
                )
            ).all()
            if int(categories) and (expires_at == 0 or expires_at > now.timestamp)
        )
        enough = len(values) >= k
        prices.append(
            {
                "purpose": purpose.name.lower(),
                "consents": shown(len(values), k),
                "min": str(values[0]) if enough else None,
                "median": str(statistics.median_low(values)) if enough else None,
                "max": str(values[-1]) if enough else None,
            }
        )
    delivered = session.exec(
        select(func.count(), func.sum(AccessRequest.customers)).where(
            AccessRequest.brand_id == brand.id, AccessRequest.status == AccessStatus.DELIVERED
        )
    ).one()
    cursor = session.get(IndexerCursor, 1)
    return {
        "brand": brand.address,
        "indexed_block": cursor.last_block if cursor else None,
        "budget": {
            "deposited": str(deposited),
            "withdrawn": str(withdrawn),
            "spent": str(spent),
            "on_chain": str(budget),
            "committed": str(owed),
            "remaining": str(max(budget - owed, 0)),
            "shortfall": str(max(owed - budget, 0)),
            "funded": str(funded),
            "allowance": str(allowance),
            "max_price": str(max_price),
            "carried": [
                {"epoch": s.epoch, "owed": str(s.owed), "available": str(s.available), "carried": str(s.carried)}
                for s in sorted(shortfalls, key=lambda s: s.epoch)
            ],
        },
        "prices": prices,
        "accesses": {"requests": int(delivered[0] or 0), "customers": int(delivered[1] or 0)},
    }


def access_history(session: Session, brand: Brand, limit: int, offset: int) -> tuple[list[AccessRequest], int]:
    """The brand's own profile requests, newest first."""
    where = AccessRequest.brand_id == brand.id
    total = session.exec(select(func.count()).select_from(AccessRequest).where(where)).one()
    rows = session.exec(
        select(AccessRequest)
        .where(where)
        .order_by(col(AccessRequest.created_at).desc(), col(AccessRequest.id))
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)
