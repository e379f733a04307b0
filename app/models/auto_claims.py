"""Automatic claims: who opted in, and the relayer's claimMany batches with one line per (epoch, account)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.models.types import UintString

_AWARE = sa.DateTime(timezone=True)


class AutoClaim(SQLModel, table=True):
    """A customer's standing opt-in to automatic claims (no row: opted out, the default)."""

    __tablename__ = "auto_claims"

    customer_id: int = Field(primary_key=True, foreign_key="customers.id", sa_type=sa.BigInteger)
    since: datetime = Field(default_factory=utcnow, sa_type=_AWARE)


class BatchStatus(StrEnum):
    SENT = "sent"  # recorded, signed, maybe broadcast: the chain decides (reconcile)
    DONE = "done"  # mined and successful: its lines are paid
    LOST = "lost"  # never mined and can no longer be (its nonce went elsewhere) or reverted: lines re-planned


class ClaimBatch(SQLModel, table=True):
    """One claimMany transaction, recorded with its signed bytes before it leaves."""

    __tablename__ = "claim_batches"

    id: int | None = Field(default=None, primary_key=True)
    epoch: int = Field(sa_type=sa.BigInteger)
    tx_hash: str = Field(max_length=66, unique=True)
    raw: bytes = Field(sa_type=sa.LargeBinary)
    accounts: str = Field(description="JSON list of the lower-case accounts in the batch, in call order")
    status: str = Field(default=BatchStatus.SENT, max_length=8)  # a BatchStatus
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)
    block_number: int | None = Field(default=None, sa_type=sa.BigInteger)
    gas_used: int | None = Field(default=None, sa_type=sa.BigInteger)
    detail: str | None = None


class ClaimLine(SQLModel, table=True):
    """An account's automatic claim for one epoch: the primary key makes it once per (epoch, account)."""

    __tablename__ = "claim_lines"
    __table_args__ = (sa.Index("ix_claim_lines_batch", "batch_id"),)

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    account: str = Field(primary_key=True, max_length=42)
    batch_id: int = Field(foreign_key="claim_batches.id")
    amount: int = Field(sa_type=UintString, description="What the batch was to pay: cumulative minus claimed")
    paid: bool = False
