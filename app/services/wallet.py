"""The customer's wallet: scores and tier with history, interests, rewards by epoch and source, accesses, claims."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, not_
from sqlmodel import Session, col, select

from app import clock
from app.analytics.interests import interest_profile, top_styles
from app.analytics.rules import ProgrammeRules, default_rules
from app.analytics.store import analytics
from app.chain.gateway import ChainGateway
from app.chain.proofs import Proof
from app.chain.transactions import Sent
from app.config import Settings
from app.errors import Conflict, NotFound
from app.models.accounts import Brand, Customer
from app.models.epochs import Epoch, EpochReward, EpochScore, EpochStatus
from app.models.mirror import MirrorAccess
from app.models.purchases import Purchase
from app.models.upkeep import EpochUpkeepLine, UpkeepEvent
from app.services import reward_trees, voids
from app.services.signatures import chain_time


def score_history(session: Session, customer: Customer) -> list[tuple[Epoch, EpochScore]]:
    """The customer's scores, segment and tier at each epoch, oldest first."""
    rows = session.exec(
        select(Epoch, EpochScore)
        .join(EpochScore, col(EpochScore.epoch) == col(Epoch.number))
        .where(EpochScore.customer_id == customer.id)
        .order_by(col(Epoch.number))
    ).all()
    return [(epoch, score) for epoch, score in rows]


def interests(settings: Settings, customer: Customer, *, as_of: datetime, rules: ProgrammeRules | None = None):
    """(category and style scores, top styles) of one customer as of `as_of`."""
    rules = rules or default_rules()
    with analytics(settings) as con:
        con.execute(f"CREATE TEMP VIEW my_events AS SELECT * FROM interest_events_v WHERE customer_id = {customer.id}")
        con.execute(f"CREATE TEMP VIEW my_items AS SELECT * FROM purchase_items_v WHERE customer_id = {customer.id}")
        profile = interest_profile(con, "my_events", "my_items", as_of=as_of, rules=rules)
        styles = top_styles(con, "my_events", "my_items", as_of=as_of, rules=rules)
    return profile, styles


def rewards_by_epoch(session: Session, address: str) -> list[tuple[Epoch, EpochReward]]:
    """What the account earned in each epoch, by source, with the cumulative amount."""
    rows = session.exec(
        select(Epoch, EpochReward)
        .join(EpochReward, col(EpochReward.epoch) == col(Epoch.number))
        .where(EpochReward.account == address.lower())
        .order_by(col(Epoch.number))
    ).all()
    return [(epoch, reward) for epoch, reward in rows]


@dataclass(frozen=True)
class RewardLine:
    """One source of an epoch's reward: a purchase (cashback) or a data access (its price)."""

    source: str  # "purchase" | "access" | "upkeep" (paid profile upkeep, from the programme's funder)
    brand: str
    at: datetime
    reference: str  # the brand's order id, or the access's transaction hash
    amount_won: int | None
    rate_bps: int | None
    reward: int


def reward_lines(
    session: Session, customer: Customer, number: int, rules: ProgrammeRules | None = None
) -> list[RewardLine]:
    """Every purchase and access behind the customer's reward in epoch `number` (same rules as the epoch job)."""
    rules = rules or default_rules()
    epoch = session.get(Epoch, number)
    if epoch is None or epoch.status not in (EpochStatus.PUBLISHED, EpochStatus.DONE):
        raise NotFound(f"no settled epoch {number}")
    previous = session.get(Epoch, number - 1)
    rate = session.exec(
        select(EpochScore.cashback_bps).where(EpochScore.epoch == number - 1, EpochScore.customer_id == customer.id)
    ).first()
    rate = rate if rate is not None else rules.tiers[-1].cashback_bps
    covered = and_(
        col(Purchase.id) <= epoch.max_purchase_id,
        col(Purchase.purchased_at) <= epoch.as_of,
        voids.not_voided_in(epoch.manifest),
    )
    if previous is not None:
        covered = and_(
            covered,
            not_(and_(col(Purchase.id) <= previous.max_purchase_id, col(Purchase.purchased_at) <= previous.as_of)),
        )
    units = rules.epochs.cash_units_per_won
    lines = [
        RewardLine(
            "purchase", brand.address, p.purchased_at, p.external_id, p.amount, rate, p.amount * rate * units // 10_000
        )
        for p, brand in session.exec(
            select(Purchase, Brand)
            .join(Brand, col(Brand.id) == col(Purchase.brand_id))
            .where(Purchase.customer_id == customer.id, covered)
            .order_by(col(Purchase.purchased_at), col(Purchase.id))
        ).all()
    ]
    lines += [
        RewardLine("access", a.brand, a.block_time, a.tx_hash, None, None, a.price)
        for a in session.exec(
            select(MirrorAccess)
            .where(
                func.lower(MirrorAccess.customer) == customer.address.lower(),
                col(MirrorAccess.block_number) >= epoch.from_block,
                col(MirrorAccess.block_number) <= epoch.to_block,
            )
            .order_by(col(MirrorAccess.block_number), col(MirrorAccess.log_index))
        ).all()
    ]
    lines += upkeep_lines(session, customer, epoch)
    return lines


def upkeep_lines(session: Session, customer: Customer, epoch: Epoch) -> list[RewardLine]:
    """The epoch's paid profile upkeep of this customer: one line per paid field event (reference: field, kind)."""
    funder = (json.loads(epoch.manifest or "{}").get("upkeep") or {}).get("funder", "")
    rows = session.exec(
        select(EpochUpkeepLine, UpkeepEvent)
        .join(UpkeepEvent, col(UpkeepEvent.id) == col(EpochUpkeepLine.event_id))
        .where(EpochUpkeepLine.epoch == epoch.number, EpochUpkeepLine.customer_id == customer.id)
        .order_by(col(UpkeepEvent.at), col(UpkeepEvent.id))
    ).all()
    return [
        RewardLine("upkeep", funder, event.at, f"{line.field} {line.kind}", None, None, line.paid)
        for line, event in rows
        if line.paid
    ]


def accesses(session: Session, address: str, *, limit: int, offset: int) -> list[MirrorAccess]:
    """Brands' recorded accesses to this customer's data, newest first."""
    return list(
        session.exec(
            select(MirrorAccess)
            .where(func.lower(MirrorAccess.customer) == address.lower())
            .order_by(col(MirrorAccess.block_number).desc(), col(MirrorAccess.log_index).desc())
            .limit(limit)
            .offset(offset)
        ).all()
    )


@dataclass(frozen=True)
class ClaimStatus:
    epoch: int | None  # the epoch whose root is claimable on chain now
    cumulative: int
    claimed: int
    claimable: int
    proof: Proof | None
    pending_epoch: int | None = None  # a published root still in (or just past) its challenge window
    claimable_from: datetime | None = None  # when the pending root pays, unless the auditor vetoes it


def latest_settled(session: Session) -> Epoch | None:
    return session.exec(
        select(Epoch).where(Epoch.status == EpochStatus.DONE).order_by(col(Epoch.number).desc())
    ).first()


def claim_status(session: Session, settings: Settings, chain: ChainGateway, address: str) -> ClaimStatus:
    """What the account may claim now: its cumulative amount under the root the chain lets claims use
    (the latest finalised epoch's) minus what it claimed, and when a pending root pays."""
    distributor = chain.distributor
    number = distributor.claimable_epoch()
    pending_epoch = distributor.pending_epoch()
    pending, finalises_at = pending_epoch.epoch, pending_epoch.finalises_at
    if pending and chain_time(chain) >= finalises_at:
        # Its window is over: anyone may finalise it, and a relayed claim does so first (finalize_due).
        number, pending = int(pending), 0
    epoch = session.get(Epoch, number) if number else None
    if epoch is not None and epoch.status != EpochStatus.DONE:
        epoch = None  # its proofs are not stored yet (`ledger epoch run` finishes it)
    claimed = distributor.claimed(address)
    proof = reward_trees.checked_proof(session, settings, epoch, address) if epoch else None
    cumulative = proof.cumulative if proof else 0
    return ClaimStatus(
        epoch.number if epoch else None,
        cumulative,
        claimed,
        max(cumulative - claimed, 0),
        proof,
        pending_epoch=int(pending) or None,
        claimable_from=clock.from_unix(int(finalises_at)) if pending else None,
    )


def finalize_due(chain: ChainGateway) -> bool:
    """Finalises the pending root if its challenge window is over (anyone may; the relayer pays the gas)."""
    distributor = chain.distributor
    pending = distributor.pending_epoch()
    if not pending.epoch or chain_time(chain) < pending.finalises_at:
        return False
    try:
        distributor.finalize_epoch()
    except (distributor.errors.NoPendingEpoch, distributor.errors.ChallengeWindowOpen):
        return False  # finalised (or vetoed) by someone else meanwhile
    return True


def relay_claim(session: Session, settings: Settings, chain: ChainGateway, address: str) -> tuple[Sent, int]:
    """Claims for the account through the relayer (the tokens always go to the account)."""
    finalize_due(chain)
    status = claim_status(session, settings, chain, address)
    if status.proof is None or status.claimable == 0:
        if status.claimable_from is not None:
            raise Conflict(
                f"nothing to claim yet: epoch {status.pending_epoch} is in its challenge window, in which the "
                f"auditor may veto its root; claimable from {status.claimable_from.isoformat()}",
                claimed=str(status.claimed),
                pending_epoch=status.pending_epoch,
                claimable_from=status.claimable_from.isoformat(),
            )
        raise Conflict("nothing to claim: everything earned so far has been paid", claimed=str(status.claimed))
    sent = chain.distributor.claim(status.proof)
    return sent, status.claimable


def balance(chain: ChainGateway, address: str) -> int:
    return chain.token.balance_of(address)
