"""Mirror tables written only by the indexer from chain events, and the indexer's cursor.

Every event row is keyed by where the chain put it, (block_number, log_index) (plus the position
inside the event's arrays for accesses and epoch debits), so the tables hold no autoincrement ids
and re-indexing the chain from scratch yields byte-identical rows.

Unsigned integers (uint64 bitmasks, uint96 prices, uint256 amounts and nonces) are stored as
base-10 strings in VARCHAR(78) through `UintString`: exact on SQLite (whose INTEGER is a signed
64-bit number and whose NUMERIC silently turns big values into floats) and on PostgreSQL alike.
Python sees plain `int`s. Sums and comparisons of amounts are done in Python, not in SQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.types import UintString


def _uint(*, nullable: bool = False) -> Any:
    return Field(default=None if nullable else ..., sa_type=UintString, nullable=nullable)


class LogRef(SQLModel):
    """Where an event sits on chain; (block_number, log_index) identifies it."""

    block_number: int = Field(primary_key=True, sa_type=sa.BigInteger)
    log_index: int = Field(primary_key=True)
    block_hash: str = Field(max_length=66)
    block_time: datetime = Field(sa_type=sa.DateTime(timezone=True))
    tx_hash: str = Field(max_length=66, index=True)


# -- ConsentRegistry ------------------------------------------------------------------------------


class MirrorBrandEvent(LogRef, table=True):
    """BrandRegistered / BrandDeregistered."""

    __tablename__ = "mirror_brand_events"

    kind: str = Field(max_length=16)  # registered | deregistered
    brand: str = Field(max_length=42, index=True)


class MirrorBrand(SQLModel, table=True):
    """A brand's registration as of the indexed block (derived from mirror_brand_events)."""

    __tablename__ = "mirror_brands"

    brand: str = Field(primary_key=True, max_length=42)
    registered: bool
    first_registered_block: int = Field(sa_type=sa.BigInteger)
    updated_block: int = Field(sa_type=sa.BigInteger)
    updated_log_index: int


class MirrorConsentEvent(LogRef, table=True):
    """ConsentGranted / ConsentNarrowed / ConsentRevoked, as emitted."""

    __tablename__ = "mirror_consent_events"

    kind: str = Field(max_length=16)  # granted | narrowed | revoked
    customer: str = Field(max_length=42, index=True)
    brand: str = Field(max_length=42, index=True)
    purpose: int
    categories: int | None = _uint(nullable=True)  # granted, narrowed
    expires_at: int | None = Field(default=None, sa_type=sa.BigInteger)  # granted, narrowed (unix s, 0 = never)
    price: int | None = _uint(nullable=True)  # granted
    receipt_hash: str | None = Field(default=None, max_length=66)  # granted
    notice_hash: str | None = Field(default=None, max_length=66)  # granted
    # granted: the signature's signedAt (block time for a direct grant); revoked: revokedAt.
    signed_at: int | None = Field(default=None, sa_type=sa.BigInteger)
    nonce: int = _uint()


class MirrorConsent(SQLModel, table=True):
    """The consent per (customer, brand, purpose) as of the indexed block: what consentOf returns.

    A revoked consent keeps its row with zeroed terms (like the contract) and status `revoked`.
    """

    __tablename__ = "mirror_consents"

    customer: str = Field(primary_key=True, max_length=42)
    brand: str = Field(primary_key=True, max_length=42, index=True)
    purpose: int = Field(primary_key=True)
    status: str = Field(max_length=16)  # active | revoked (expiry is judged at read time)
    categories: int = _uint()
    granted_at: int = Field(sa_type=sa.BigInteger)  # block time of the grant in force (unix s), 0 if revoked
    expires_at: int = Field(sa_type=sa.BigInteger)
    price: int = _uint()
    receipt_hash: str = Field(max_length=66)
    notice_hash: str = Field(max_length=66)
    nonce: int = _uint()  # the customer's signature nonce of the last change
    updated_block: int = Field(sa_type=sa.BigInteger)
    updated_log_index: int
    updated_tx_hash: str = Field(max_length=66)


class MirrorAccess(SQLModel, table=True):
    """One customer of one AccessRecorded batch, with the price the brand owes for them."""

    __tablename__ = "mirror_accesses"

    block_number: int = Field(primary_key=True, sa_type=sa.BigInteger)
    log_index: int = Field(primary_key=True)
    position: int = Field(primary_key=True)  # index of the customer in the batch
    block_hash: str = Field(max_length=66)
    block_time: datetime = Field(sa_type=sa.DateTime(timezone=True))
    tx_hash: str = Field(max_length=66, index=True)
    brand: str = Field(max_length=42, index=True)
    purpose: int
    request_id: str = Field(max_length=66, index=True)
    categories: int = _uint()
    customer: str = Field(max_length=42, index=True)
    price: int = _uint()
    batch_size: int
    batch_total: int = _uint()


class MirrorSkippedAccess(SQLModel, table=True):
    """One customer of an AccessSkipped event: named in a batch, not recorded nor charged, and why."""

    __tablename__ = "mirror_skipped_accesses"

    block_number: int = Field(primary_key=True, sa_type=sa.BigInteger)
    log_index: int = Field(primary_key=True)
    position: int = Field(primary_key=True)  # index among the batch's skipped customers
    block_hash: str = Field(max_length=66)
    block_time: datetime = Field(sa_type=sa.DateTime(timezone=True))
    tx_hash: str = Field(max_length=66, index=True)
    brand: str = Field(max_length=42, index=True)
    purpose: int
    request_id: str = Field(max_length=66, index=True)
    customer: str = Field(max_length=42, index=True)
    reason: int  # IConsentRegistry.SkipReason


# -- RewardDistributor ----------------------------------------------------------------------------


class MirrorBudgetEvent(LogRef, table=True):
    """A change of a brand's budget or reserve at the distributor.

    funded (counterparty = the funder, `reference` its payment), deposited (counterparty = who paid
    in), withdrawn (counterparty = recipient), reserved / released (recorded accesses reserving
    budget, the operator releasing a reserve; `reserved` = the reserve afterwards), returned (a
    retired brand's budget sent back to it).
    """

    __tablename__ = "mirror_budget_events"

    kind: str = Field(max_length=16)
    brand: str = Field(max_length=42, index=True)
    counterparty: str | None = Field(default=None, max_length=42)
    amount: int = _uint()
    reserved: int | None = _uint(nullable=True)
    reference: str | None = Field(default=None, max_length=66)


class MirrorEpoch(LogRef, table=True):
    """EpochPublished: the root, the commitment to the off-chain records, the total debited, and when
    its challenge window ends. A vetoed epoch number is published again, so `epoch` may repeat."""

    __tablename__ = "mirror_epochs"

    epoch: int = Field(index=True, sa_type=sa.BigInteger)
    root: str = Field(max_length=66)
    commitment: str = Field(max_length=66)
    total: int = _uint()
    finalises_at: int | None = Field(default=None, sa_type=sa.BigInteger)  # unix s


class MirrorEpochOutcome(LogRef, table=True):
    """EpochVetoed (by `auditor`) / EpochFinalized (its root became the claimable one)."""

    __tablename__ = "mirror_epoch_outcomes"

    kind: str = Field(max_length=16)  # vetoed | finalized
    epoch: int = Field(index=True, sa_type=sa.BigInteger)
    root: str = Field(max_length=66)
    total: int | None = _uint(nullable=True)  # finalized
    auditor: str | None = Field(default=None, max_length=42)  # vetoed


class MirrorEpochDebit(SQLModel, table=True):
    """One brand's debit in an epoch (an element of EpochPublished's debits)."""

    __tablename__ = "mirror_epoch_debits"

    block_number: int = Field(primary_key=True, sa_type=sa.BigInteger)
    log_index: int = Field(primary_key=True)
    position: int = Field(primary_key=True)
    epoch: int = Field(index=True, sa_type=sa.BigInteger)
    brand: str = Field(max_length=42, index=True)
    amount: int = _uint()  # from_reserve + from_budget
    from_reserve: int | None = _uint(nullable=True)  # recorded accesses, settled from the reserve
    from_budget: int | None = _uint(nullable=True)  # purchase cashback, from the unreserved budget


class MirrorClaim(LogRef, table=True):
    """Claimed: `account` was paid `amount`, its claimed total is now `cumulative_amount`."""

    __tablename__ = "mirror_claims"

    account: str = Field(max_length=42, index=True)
    amount: int = _uint()
    cumulative_amount: int = _uint()


# -- CashbackToken --------------------------------------------------------------------------------


class MirrorTransfer(LogRef, table=True):
    """An ERC-20 Transfer of CASH (mints have from = 0x0)."""

    __tablename__ = "mirror_transfers"

    from_address: str = Field(max_length=42, index=True)
    to_address: str = Field(max_length=42, index=True)
    amount: int = _uint()


# -- PaymentRouter --------------------------------------------------------------------------------


class MirrorPayment(LogRef, table=True):
    """Paid: `payer` paid `amount` CASH to `brand` for `reference` (a quote's, see app/models/payments.py)."""

    __tablename__ = "payments"

    payer: str = Field(max_length=42, index=True)
    brand: str = Field(max_length=42, index=True)
    amount: int = _uint()
    reference: str = Field(max_length=66, index=True)


# -- the indexer's own state ----------------------------------------------------------------------


class IndexerCursor(SQLModel, table=True):
    """Which chain and contracts the mirror holds, and the last block fully applied (one row, id 1).

    The chain is identified by its id and the hash of the contracts' deployment block, not by the
    genesis hash alone: anvil regenerates its genesis block when it reloads a dumped state.
    """

    __tablename__ = "indexer_cursor"

    id: int = Field(default=1, primary_key=True)
    chain_id: int = Field(sa_type=sa.BigInteger)
    genesis_hash: str = Field(max_length=66)
    token_address: str = Field(max_length=42)
    registry_address: str = Field(max_length=42)
    distributor_address: str = Field(max_length=42)
    deployment_block: int = Field(sa_type=sa.BigInteger)
    deployment_block_hash: str = Field(max_length=66)  # the chain's identity (see app/chain/deployment.py)
    last_block: int = Field(sa_type=sa.BigInteger)
    last_block_hash: str = Field(max_length=66)
    updated_at: datetime = Field(sa_type=sa.DateTime(timezone=True))


MIRROR_TABLES: tuple[type[SQLModel], ...] = (
    MirrorBrandEvent,
    MirrorBrand,
    MirrorConsentEvent,
    MirrorConsent,
    MirrorAccess,
    MirrorSkippedAccess,
    MirrorBudgetEvent,
    MirrorEpoch,
    MirrorEpochOutcome,
    MirrorEpochDebit,
    MirrorClaim,
    MirrorTransfer,
    MirrorPayment,
)
"""Every table the indexer derives from the chain (the cursor aside), for rebuilds and dumps."""
