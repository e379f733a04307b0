"""The customer's own view: scores and tier, interests, rewards by epoch and by line, accesses, what to claim."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import (
    Amount,
    CategoryLabels,
    ChainAddress,
    DecimalInt,
    Hash32,
    Merged,
    PurposeLabel,
    Timestamp,
)
from app.models.epochs import Epoch
from app.services.wallet import ClaimStatus


class ScorePublic(BaseModel):
    epoch: int
    as_of: Timestamp
    recency_days: int
    frequency: int
    monetary_total: DecimalInt = Field(description="Won spent in the scoring window")
    r: int
    f: int
    m: int
    segment: str
    tier: str
    cashback_bps: int


class ProfilePublic(BaseModel):
    address: ChainAddress
    current: ScorePublic | None
    history: list[ScorePublic]


class InterestPublic(BaseModel):
    value: str
    score: float
    signals: int


class InterestsPublic(BaseModel):
    as_of: Timestamp
    categories: list[InterestPublic]
    styles: list[InterestPublic]
    top_styles: list[str]


class RewardEpochPublic(BaseModel):
    epoch: int
    as_of: Timestamp
    purchase_cashback: Amount
    access_earnings: Amount
    earned: Amount
    cumulative: Amount
    tx_hash: Hash32 | None


def at_epoch(epoch: Epoch, row: object) -> Merged:
    """An epoch's row (score, reward) read with its epoch's number, date and transaction."""
    return Merged(row, epoch=epoch.number, as_of=epoch.as_of, tx_hash=epoch.tx_hash)


class RewardLinePublic(BaseModel):
    source: str
    brand: ChainAddress
    at: Timestamp
    reference: str
    amount_won: DecimalInt | None
    rate_bps: int | None
    reward: Amount


class CustomerAccessPublic(BaseModel):
    """An access to my data as I see it (the auditors' row of an access batch is `AccessPublic`)."""

    brand: ChainAddress
    purpose: PurposeLabel
    categories: CategoryLabels
    price: Amount
    block_number: int
    block_time: Timestamp
    tx_hash: Hash32
    request_id: Hash32


class ClaimablePublic(BaseModel):
    """What I may claim now and the proof to claim it with (a claim paid on chain is `ClaimPublic`)."""

    epoch: int | None
    cumulative: Amount
    claimed: Amount
    claimable: Amount
    salt: Hash32 | None = Field(description="My leaf's salt (0x, 32 bytes), the claim's third argument; null: none")
    proof: list[Hash32]
    pending_epoch: int | None = Field(
        default=None, description="An epoch published but still in its challenge window (the auditor may veto it)"
    )
    claimable_from: Timestamp | None = Field(default=None, description="When the pending epoch's root pays")

    @classmethod
    def of(cls, status: ClaimStatus) -> ClaimablePublic:
        proof = status.proof
        merged = Merged(
            status,
            salt="0x" + proof.salt.hex() if proof and proof.salt is not None else None,
            proof=["0x" + p.hex() for p in proof.proof] if proof else [],
        )
        return cls.model_validate(merged, from_attributes=True)


class ClaimSent(BaseModel):
    tx_hash: Hash32
    block_number: int
    amount: Amount


class BalancePublic(BaseModel):
    address: ChainAddress
    balance: Amount


class PersonalData(BaseModel):
    """Contact and demographic fields a customer may keep up to date (shared only under consent)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ()-]{4,40}$")
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    gender: str | None = Field(default=None, max_length=20)
    region: str | None = Field(default=None, max_length=100)


class ErasurePublic(BaseModel):
    purchase_items_erased: int
    interest_events_erased: int
    fields_cleared: list[str]
    kept: str
