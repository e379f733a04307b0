"""Automatic claims: the customer's opt-in, and the relayer job paying every opted-in account in claimMany batches."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.chain.gateway import ChainGateway
from app.chain.proofs import Proof
from app.chain.transactions import Sent, TransactionFailed
from app.config import Settings
from app.faults import fault_point
from app.models.accounts import Customer
from app.models.auto_claims import AutoClaim, BatchStatus, ClaimBatch, ClaimLine
from app.models.epochs import Epoch, EpochStatus
from app.services import reward_trees
from app.services.wallet import finalize_due


def opt_in(session: Session, customer: Customer) -> AutoClaim | None:
    return session.get(AutoClaim, customer.id)


def set_opt_in(session: Session, customer: Customer, enabled: bool) -> AutoClaim | None:
    """Opts the customer in to automatic claims or out of them (idempotent: a second opt-in keeps its date)."""
    current = session.get(AutoClaim, customer.id)
    if enabled and current is None:
        assert customer.id is not None
        current = AutoClaim(customer_id=customer.id)
        session.add(current)
    elif not enabled and current is not None:
        session.delete(current)
        current = None
    session.commit()
    if current is not None:
        session.refresh(current)
    return current


@dataclass(frozen=True)
class BatchOutcome:
    """What became of one claimMany batch in this run."""

    batch_id: int
    epoch: int
    tx_hash: str
    accounts: int
    status: str  # a BatchStatus
    paid: int = 0  # CASH paid by the batch, from its Claimed events
    gas_used: int | None = None
    detail: str | None = None


@dataclass
class RelayReport:
    epoch: int | None = None  # the claimable epoch the run paid against (None: none settled yet)
    reconciled: list[BatchOutcome] = field(default_factory=list)  # batches an earlier run left unresolved
    sent: list[BatchOutcome] = field(default_factory=list)
    nothing_owed: int = 0  # opted-in accounts skipped: nothing claimable, claimed by themselves or already batched
    paused: bool = False  # the distributor is paused: claims wait for it to resume, nothing was recorded


def relay(session: Session, settings: Settings, chain: ChainGateway, *, batch_size: int | None = None) -> RelayReport:
    """One run: resolve batches a killed run left behind, then claim for every opted-in account still owed
    under the latest finalised epoch, `batch_size` (CLAIM_BATCH_SIZE) accounts per claimMany."""
    report = RelayReport(reconciled=reconcile(session, chain))
    finalize_due(chain)  # a root past its challenge window pays from now on
    number = chain.distributor.claimable_epoch()
    epoch = session.get(Epoch, number) if number else None
    if epoch is None or epoch.status != EpochStatus.DONE:
        return report  # no root yet, or its proofs are not stored (`ledger epoch run` finishes it)
    report.epoch = epoch.number
    owed, report.nothing_owed = _owed(session, settings, chain, epoch)
    size = batch_size or settings.claim_batch_size
    for start in range(0, len(owed), size):
        try:
            outcome = send_batch(session, chain, epoch.number, owed[start : start + size])
        except chain.distributor.errors.EnforcedPause:
            report.paused = True  # refused at the estimate, before anything was recorded or signed
            break
        if outcome is not None:
            report.sent.append(outcome)
    return report


def _owed(
    session: Session, settings: Settings, chain: ChainGateway, epoch: Epoch
) -> tuple[list[tuple[Proof, int]], int]:
    """Proofs of the opted-in accounts with no line for this epoch whose leaf exceeds what the chain says they
    claimed (read now, per account: a claim by their own key or a lost batch's is seen here)."""
    lined = select(ClaimLine.account).where(ClaimLine.epoch == epoch.number)
    addresses = session.exec(
        select(Customer.address)
        .join(AutoClaim, col(AutoClaim.customer_id) == col(Customer.id))
        .order_by(col(Customer.id))
    ).all()
    lined_accounts = set(session.exec(lined).all())
    owed: list[tuple[Proof, int]] = []
    nothing = 0
    for address in addresses:
        if address.lower() in lined_accounts:
            nothing += 1  # paid by an earlier batch of this epoch
            continue
        proof = reward_trees.checked_proof(session, settings, epoch, address)
        claimed = chain.distributor.claimed(address) if proof is not None else 0
        if proof is None or proof.cumulative <= claimed:
            nothing += 1
            continue
        owed.append((proof, proof.cumulative - claimed))
    return owed, nothing


def send_batch(session: Session, chain: ChainGateway, epoch: int, owed: list[tuple[Proof, int]]) -> BatchOutcome | None:
    """Records the batch (hash, signed bytes, accounts, a line per account) before it leaves, then sends it."""
    recorded: list[ClaimBatch] = []
    proofs = [p for p, _ in owed]

    def record(tx_hash: str, raw: bytes) -> None:
        batch = ClaimBatch(epoch=epoch, tx_hash=tx_hash, raw=raw, accounts=json.dumps([p.account for p in proofs]))
        session.add(batch)
        session.flush()
        assert batch.id is not None
        for p, amount in owed:
            session.add(ClaimLine(epoch=epoch, account=p.account, batch_id=batch.id, amount=amount))
        session.commit()  # raises before the broadcast if another relayer lined one of these accounts first
        recorded.append(batch)
        fault_point("claims_recorded")

    try:
        sent = chain.distributor.claim_many(proofs, before_broadcast=record)
    except IntegrityError:
        session.rollback()  # another run holds a line for one of them: it pays them, this one sends nothing
        return None
    except TransactionFailed as exc:
        return _lost(session, recorded[0], f"reverted in block {exc.receipt['blockNumber']}")
    fault_point("claims_sent")
    return _settled(session, chain, recorded[0], sent)


def reconcile(session: Session, chain: ChainGateway) -> list[BatchOutcome]:
    """Every batch still `sent` (a run killed between recording and settling it) is resolved with the chain: its
    very bytes are sent again, which the node answers with the mined receipt if it has one, mines them if their
    nonce is still free, or refuses them if the nonce went to another transaction. Mined: the batch is done.
    Never minable or reverted: it is lost and its lines are dropped, so `_owed` re-reads each account's claimed
    amount on chain and a new batch carries only what is still owed."""
    outcomes = []
    for batch in session.exec(
        select(ClaimBatch).where(ClaimBatch.status == BatchStatus.SENT).order_by(col(ClaimBatch.id))
    ).all():
        try:
            sent = chain.resend(batch.raw)
        except TransactionFailed as exc:
            outcomes.append(_lost(session, batch, f"reverted in block {exc.receipt['blockNumber']}"))
            continue
        if sent is None:
            outcomes.append(_lost(session, batch, "never mined: the relayer's nonce went to another transaction"))
        else:
            outcomes.append(_settled(session, chain, batch, sent))
    return outcomes


def _settled(session: Session, chain: ChainGateway, batch: ClaimBatch, sent: Sent) -> BatchOutcome:
    paid = {c.account: c.amount for c in chain.distributor.claims_in(sent)}
    batch.status, batch.block_number, batch.gas_used = BatchStatus.DONE, sent.block_number, sent.gas_used
    session.add(batch)
    for line in session.exec(select(ClaimLine).where(ClaimLine.batch_id == batch.id)).all():
        # What the chain paid: less than planned (0) if the account claimed by itself in between.
        line.amount, line.paid = paid.get(line.account, 0), True
        session.add(line)
    session.commit()
    return _outcome(batch, sum(paid.values()))


def _lost(session: Session, batch: ClaimBatch, detail: str) -> BatchOutcome:
    batch.status, batch.detail = BatchStatus.LOST, detail
    session.add(batch)
    session.execute(delete(ClaimLine).where(col(ClaimLine.batch_id) == batch.id))
    session.commit()
    return _outcome(batch, 0)


def _outcome(batch: ClaimBatch, paid: int) -> BatchOutcome:
    assert batch.id is not None
    return BatchOutcome(
        batch.id,
        batch.epoch,
        batch.tx_hash,
        len(json.loads(batch.accounts)),
        batch.status,
        paid,
        batch.gas_used,
        batch.detail,
    )


@dataclass(frozen=True)
class PaidClaim:
    epoch: int
    amount: int
    tx_hash: str
    block_number: int | None


def paid_claims(session: Session, address: str) -> list[PaidClaim]:
    """The automatic claims paid to an account, newest first."""
    rows = session.exec(
        select(ClaimLine, ClaimBatch)
        .join(ClaimBatch, col(ClaimBatch.id) == col(ClaimLine.batch_id))
        .where(ClaimLine.account == address.lower(), col(ClaimLine.paid))
        .order_by(col(ClaimLine.epoch).desc())
    ).all()
    return [PaidClaim(line.epoch, line.amount, batch.tx_hash, batch.block_number) for line, batch in rows]
