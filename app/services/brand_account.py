"""A brand's account as its console shows it: budget and its shortfalls, consent prices by purpose, access totals."""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.chain.gateway import ChainGateway
from app.config import Settings
from app.domain import Purpose
from app.models.access import AccessRequest, AccessStatus
from app.models.accounts import Brand
from app.models.epochs import EpochShortfall
from app.models.mirror import IndexerCursor, MirrorAccess, MirrorBudgetEvent, MirrorConsent, MirrorEpochDebit
from app.models.offer_payouts import EpochOfferReward
from app.services.access import budget_on_chain, limits_on_chain
from app.services.audience import ShownCount, chain_now, shown


@dataclass(frozen=True)
class CarriedShortfall:
    epoch: int
    owed: int
    available: int
    carried: int


@dataclass(frozen=True)
class Budget:
    deposited: int
    withdrawn: int
    spent: int
    on_chain: int
    committed: int
    remaining: int
    shortfall: int
    funded: int
    allowance: int
    max_price: int
    carried: list[CarriedShortfall]


@dataclass(frozen=True)
class PriceSpread:
    """Consent prices for one purpose, shown only from k_min consents up."""

    purpose: str
    consents: ShownCount
    min: int | None
    median: int | None
    max: int | None


@dataclass(frozen=True)
class AccessTotals:
    requests: int
    customers: int


@dataclass(frozen=True)
class BrandAccount:
    brand: str
    indexed_block: int | None
    budget: Budget
    prices: list[PriceSpread]
    accesses: AccessTotals


def brand_account(session: Session, settings: Settings, chain: ChainGateway, brand: Brand) -> BrandAccount:
    """Budget (deposited, withdrawn, spent, on chain, committed, remaining), consent prices, access totals."""
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
    prices: list[PriceSpread] = []
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
            PriceSpread(
                purpose=purpose.name.lower(),
                consents=shown(len(values), k),
                min=values[0] if enough else None,
                median=statistics.median_low(values) if enough else None,
                max=values[-1] if enough else None,
            )
        )
    delivered = session.exec(
        select(func.count(), func.sum(AccessRequest.customers)).where(
            AccessRequest.brand_id == brand.id, AccessRequest.status == AccessStatus.DELIVERED
        )
    ).one()
    cursor = session.get(IndexerCursor, 1)
    carried = [
        CarriedShortfall(s.epoch, int(s.owed), int(s.available), int(s.carried))
        for s in sorted(shortfalls, key=lambda s: s.epoch)
    ]
    return BrandAccount(
        brand=brand.address,
        indexed_block=cursor.last_block if cursor else None,
        budget=Budget(
            deposited=deposited,
            withdrawn=withdrawn,
            spent=spent,
            on_chain=budget,
            committed=owed,
            remaining=max(budget - owed, 0),
            shortfall=max(owed - budget, 0),
            funded=funded,
            allowance=allowance,
            max_price=max_price,
            carried=carried,
        ),
        prices=prices,
        accesses=AccessTotals(requests=int(delivered[0] or 0), customers=int(delivered[1] or 0)),
    )


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


@dataclass(frozen=True)
class Spending:
    """What the brand put in and spent, from the mirror; `remaining`: its budget on chain less what it owes."""

    deposited: int
    access_spending: int
    offer_spending: int
    remaining: int
    indexed_block: int | None


def spending(session: Session, chain: ChainGateway, brand: Brand) -> Spending:
    """Deposits (funded and deposited), access prices recorded, offer bonuses paid, and what remains."""
    deposited = sum(
        int(a)
        for kind, a in session.exec(
            select(MirrorBudgetEvent.kind, MirrorBudgetEvent.amount).where(MirrorBudgetEvent.brand == brand.address)
        ).all()
        if kind in ("funded", "deposited")
    )
    accesses = sum(int(p) for p in session.exec(select(MirrorAccess.price).where(MirrorAccess.brand == brand.address)))
    offers = sum(
        int(a)
        for a in session.exec(
            select(EpochOfferReward.amount).where(func.lower(EpochOfferReward.brand) == brand.address.lower())
        )
    )
    budget, owed = budget_on_chain(chain, brand)
    cursor = session.get(IndexerCursor, 1)
    return Spending(deposited, accesses, offers, max(budget - owed, 0), cursor.last_block if cursor else None)
