"""Epochs and what each one computed: RFM scores and cut points, behaviour changes, rewards, brand debits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.models.types import UintString

_AWARE = sa.DateTime(timezone=True)


class EpochStatus(StrEnum):
    """Steps of a settlement; each is recorded before the next starts, so a crash resumes at it."""

    OPEN = "open"  # period and block range fixed
    COMPUTED = "computed"  # scores, rewards, root and commitment stored
    PUBLISHED = "published"  # root on chain (transaction recorded)
    DONE = "done"  # proofs stored; customers can claim


class Epoch(SQLModel, table=True):
    """One settlement period: what it covers, what it computed, where it was published."""

    __tablename__ = "epochs"

    number: int = Field(primary_key=True, sa_type=sa.BigInteger)
    status: str = Field(max_length=16)
    as_of: datetime = Field(sa_type=_AWARE, description="End of the period (inclusive)")
    period_start: datetime | None = Field(default=None, sa_type=_AWARE)
    max_purchase_id: int = Field(sa_type=sa.BigInteger, description="Purchases ingested up to this id are covered")
    from_block: int = Field(sa_type=sa.BigInteger)
    to_block: int = Field(sa_type=sa.BigInteger)
    scheme: str = Field(max_length=16)
    rules_hash: str = Field(max_length=66)
    manifest: str | None = Field(
        default=None, sa_type=sa.Text, description="Canonical JSON the commitment is the keccak of"
    )
    commitment: str | None = Field(default=None, max_length=66)
    root: str | None = Field(default=None, max_length=66)
    total: int | None = Field(default=None, sa_type=UintString)
    accounts: int | None = Field(default=None, sa_type=sa.BigInteger)
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_type=sa.BigInteger)
    # End of the root's challenge window: claims under it are paid from then on (unless vetoed).
    finalises_at: datetime | None = Field(default=None, sa_type=_AWARE)
    vetoes: int = Field(default=0, description="Times a root of this epoch was vetoed by the auditor")
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)
    computed_at: datetime | None = Field(default=None, sa_type=_AWARE)
    published_at: datetime | None = Field(default=None, sa_type=_AWARE)
    completed_at: datetime | None = Field(default=None, sa_type=_AWARE)


class EpochScore(SQLModel, table=True):
    """A customer's RFM measures, scores, segment and tier at an epoch's end."""

    __tablename__ = "epoch_scores"
    __table_args__ = (sa.Index("ix_epoch_scores_customer", "customer_id", "epoch"),)

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    customer_id: int = Field(primary_key=True, sa_type=sa.BigInteger)
    recency_days: int
    frequency: int
    monetary_total: int = Field(sa_type=sa.BigInteger)
    monetary_avg: int = Field(sa_type=sa.BigInteger)
    r: int
    f: int
    m: int
    segment: str = Field(max_length=40)
    tier: str = Field(max_length=40)
    cashback_bps: int


class EpochCutPoint(SQLModel, table=True):
    """The value range each score took in an epoch's scoring run."""

    __tablename__ = "epoch_cut_points"

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    measure: str = Field(primary_key=True, max_length=20)
    score: int = Field(primary_key=True)
    lower_bound: int = Field(sa_type=sa.BigInteger)
    upper_bound: int = Field(sa_type=sa.BigInteger)
    customers: int = Field(sa_type=sa.BigInteger)


class BehaviourChange(SQLModel, table=True):
    """A change seen between two epochs (tier up/down, segment change, threshold crossed, gone quiet)."""

    __tablename__ = "behaviour_changes"

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    customer_id: int = Field(primary_key=True, sa_type=sa.BigInteger)
    event: str = Field(primary_key=True, max_length=40)
    threshold: str = Field(default="", primary_key=True, max_length=40)
    previous: str | None = Field(default=None, max_length=40)
    current: str | None = Field(default=None, max_length=40)


class EpochReward(SQLModel, table=True):
    """What an account earned in an epoch, by source, and its cumulative total (the Merkle leaf)."""

    __tablename__ = "epoch_rewards"
    __table_args__ = (sa.Index("ix_epoch_rewards_account", "account", "epoch"),)

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    account: str = Field(primary_key=True, max_length=42)
    purchase_cashback: int = Field(sa_type=UintString)
    access_earnings: int = Field(sa_type=UintString)
    earned: int = Field(sa_type=UintString)
    cumulative: int = Field(sa_type=UintString)


class EpochDebit(SQLModel, table=True):
    """What a brand's budget pays into an epoch, by source."""

    __tablename__ = "epoch_debits"

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    brand: str = Field(primary_key=True, max_length=42)
    purchase_cashback: int = Field(sa_type=UintString)
    access_earnings: int = Field(sa_type=UintString)
    amount: int = Field(sa_type=UintString)


class EpochShortfall(SQLModel, table=True):
    """A brand whose unreserved budget could not pay its purchase cashback when the epoch was computed.

    The others are settled; this brand's cashback lines are carried (EpochCarry) and owed again in
    the next epoch. Its recorded accesses are settled anyway: their reserve was taken when recorded.
    """

    __tablename__ = "epoch_shortfalls"

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    brand: str = Field(primary_key=True, max_length=42)
    owed: int = Field(sa_type=UintString, description="Purchase cashback owed, including earlier carries")
    available: int = Field(sa_type=UintString, description="The brand's unreserved budget at computation")
    carried: int = Field(sa_type=UintString, description="What moves to the next epoch")


class EpochCarry(SQLModel, table=True):
    """An account's purchase cashback from a short brand, not paid in `epoch` and owed in the next."""

    __tablename__ = "epoch_carries"

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    account: str = Field(primary_key=True, max_length=42)
    brand: str = Field(primary_key=True, max_length=42)
    amount: int = Field(sa_type=UintString)
