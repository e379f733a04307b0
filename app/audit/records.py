"""What the audit reads off chain: purchases, voids, epoch manifests, the operator's stored rows and proof files."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from app.audit.merkle import LeafValues
from app.chain.proofs import TreeFiles
from app.config import Settings
from app.models.accounts import Brand, Customer
from app.models.epochs import Epoch, EpochReward, EpochScore, EpochStatus
from app.models.purchases import Purchase, PurchaseRefund, PurchaseVoid
from app.services import reward_trees

HASH_CHUNK_ROWS = 65_536  # purchases per chunk of the committed purchases_hash (docs/epochs.md)
_EPOCH_US = datetime(1970, 1, 1)

__all__ = ["TreeFiles", "HASH_CHUNK_ROWS"]


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


@dataclass(frozen=True)
class PurchaseRecord:
    id: int
    customer_id: int
    brand_id: int
    customer: str  # lower-case address
    brand: str  # lower-case address
    amount: int  # won
    purchased_at: datetime  # naive UTC


def load_purchases(engine: Engine) -> list[PurchaseRecord]:
    """Every purchase with its customer's and brand's address, in id order (the shape epochs commit to)."""
    query = (
        select(  # type: ignore[call-overload]
            Purchase.id,
            Purchase.customer_id,
            Purchase.brand_id,
            Customer.address,
            Brand.address,
            Purchase.amount,
            Purchase.purchased_at,
        )
        .join(Customer, Customer.id == Purchase.customer_id)  # type: ignore[arg-type]
        .join(Brand, Brand.id == Purchase.brand_id)  # type: ignore[arg-type]
        .order_by(Purchase.id)  # type: ignore[arg-type]
    )
    with Session(engine) as session:
        return [
            PurchaseRecord(int(i), int(c), int(b), ca.lower(), ba.lower(), int(a), naive_utc(t))
            for i, c, b, ca, ba, a, t in session.execute(query).all()
        ]


def epoch_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01 of a naive UTC datetime (DuckDB's epoch_us)."""
    return (moment - _EPOCH_US) // timedelta(microseconds=1)


def purchases_hash(purchases: Iterable[PurchaseRecord]) -> str:
    """The committed purchases_hash, written independently of the epoch job's DuckDB query.

    One line per purchase, `id|customer_id|brand_id|amount|epoch_us(purchased_at)`; per chunk of
    65,536 ids, sha256 of its lines joined by newlines in id order; then sha256 of the chunks' hex
    digests concatenated in chunk order. All hex lower-case; 0x-prefixed (docs/epochs.md).
    """
    chunks: dict[int, list[str]] = defaultdict(list)
    for p in sorted(purchases, key=lambda p: p.id):
        chunks[p.id // HASH_CHUNK_ROWS].append(
            f"{p.id}|{p.customer_id}|{p.brand_id}|{p.amount}|{epoch_us(p.purchased_at)}"
        )
    digests = [hashlib.sha256("\n".join(chunks[c]).encode()).hexdigest() for c in sorted(chunks)]
    return "0x" + hashlib.sha256("".join(digests).encode()).hexdigest()


@dataclass(frozen=True)
class VoidRecord:
    id: int
    purchase_id: int
    voided_by: str
    voided_at: datetime  # naive UTC
    reason: str


@dataclass(frozen=True)
class RefundRecord:
    id: int
    purchase_id: int
    amount: int  # won
    refunded_at: datetime  # naive UTC


def load_refunds(engine: Engine) -> list[RefundRecord]:
    """Every refund in id order."""
    with Session(engine) as session:
        rows = session.scalars(select(PurchaseRefund).order_by(PurchaseRefund.id)).all()  # type: ignore[arg-type]
    return [RefundRecord(int(r.id), r.purchase_id, r.amount, naive_utc(r.refunded_at)) for r in rows]  # type: ignore[arg-type]


def load_voids(engine: Engine) -> list[VoidRecord]:
    """Every void in id order."""
    with Session(engine) as session:
        rows = session.scalars(select(PurchaseVoid).order_by(PurchaseVoid.id)).all()  # type: ignore[arg-type]
    return [VoidRecord(int(v.id), v.purchase_id, v.voided_by, naive_utc(v.voided_at), v.reason) for v in rows]  # type: ignore[arg-type]


def epoch_rows(engine: Engine) -> dict[int, Epoch]:
    """The store's epochs rows by number (their manifests are what the chain's commitments cover)."""
    with Session(engine) as session:
        return {r.number: r for r in session.scalars(select(Epoch))}


def settled_epochs(engine: Engine) -> set[int]:
    """Epochs the job finished: their proof files are stored."""
    return {n for n, r in epoch_rows(engine).items() if r.status == EpochStatus.DONE}


@dataclass(frozen=True)
class StoredReward:
    """What the epoch job stored for one account in one epoch (evidence only, never input)."""

    purchase_cashback: int
    access_earnings: int
    earned: int


def stored_rewards(engine: Engine, number: int) -> dict[str, StoredReward]:
    with Session(engine) as session:
        rows = session.scalars(select(EpochReward).where(EpochReward.epoch == number))  # type: ignore[arg-type]
        return {
            r.account.lower(): StoredReward(int(r.purchase_cashback), int(r.access_earnings), int(r.earned))
            for r in rows
        }


def stored_rates(engine: Engine, number: int) -> dict[int, int]:
    """customer_id -> cashback bps the epoch job graded in epoch `number` (evidence only, never input)."""
    with Session(engine) as session:
        rows = session.scalars(select(EpochScore).where(EpochScore.epoch == number))  # type: ignore[arg-type]
        return {int(s.customer_id): int(s.cashback_bps) for s in rows}


def leaves_for(settings: Settings, number: int, cumulative: dict[str, int]) -> list[LeafValues]:
    """Epoch `number`'s leaves (account, cumulative, salt) over the accounts with a positive amount.

    The salts come from the configured key (data, not arithmetic); the tree over them is the audit's own.
    """
    positive = [(a, c) for a, c in cumulative.items() if c > 0]
    return [leaf_values(leaf) for leaf in reward_trees.leaves_for(settings, number, positive)]


def committed_leaves(settings: Settings, number: int) -> list[LeafValues]:
    """Epoch `number`'s leaves as the stored rewards (`epoch_rewards`) commit them."""
    return [leaf_values(leaf) for leaf in reward_trees.committed_leaves(settings, number)]


def leaf_values(leaf: Any) -> LeafValues:
    """A stored or derived leaf as plain values: (account, cumulative amount, salt or None)."""
    return (str(leaf.account), int(leaf.cumulative), leaf.salt)


def tree_files(settings: Settings, number: int) -> TreeFiles:
    return TreeFiles(reward_trees.epoch_dir(settings, number))
