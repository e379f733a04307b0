"""Off-chain consent receipts (ISO/IEC TS 27560 fields) whose hashes are recorded on chain."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from app.clock import utcnow


class ReceiptStatus(StrEnum):
    """Life of a receipt: written before the customer signs, active once the grant is on chain."""

    PENDING = "pending"  # built and hashed, waiting for the customer's signature
    ACTIVE = "active"  # the grant carrying its hash is on chain
    SUPERSEDED = "superseded"  # a later grant for the same (brand, purpose) replaced it
    WITHDRAWN = "withdrawn"  # the customer revoked the consent
    FAILED = "failed"  # its grant never reached the chain (lost in a restart or reorg, and could not be resent)


class ConsentAction(StrEnum):
    """What a signed change does to a consent; the EIP-712 primary type is the capitalised name."""

    GRANT = "grant"
    NARROW = "narrow"
    REVOKE = "revoke"


class ChangeStatus(StrEnum):
    PENDING = "pending"  # typed data handed out, not yet signed and relayed
    SENT = "sent"  # the relay transaction is signed and sent; not yet on chain at the configured confirmations
    RELAYED = "relayed"  # on chain at the configured confirmations: in force
    FAILED = "failed"  # the chain lost it and it could not be resent (`failure` says why); sign again


class ConsentReceipt(SQLModel, table=True):
    """A consent receipt: `document` is its canonical JSON, `receipt_hash` its keccak256, as on chain."""

    __tablename__ = "consent_receipts"

    id: str = Field(primary_key=True, max_length=36)  # uuid4, the receipt's record id
    customer_id: int = Field(foreign_key="customers.id", index=True)
    brand_id: int = Field(foreign_key="brands.id", index=True)
    customer_address: str = Field(max_length=42)
    brand_address: str = Field(max_length=42)
    purpose: int
    categories: int = Field(sa_column=Column(BigInteger, nullable=False))  # as granted
    expires_at: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))  # unix s; 0 = none
    price: str = Field(max_length=40)  # CASH smallest units per access, decimal digits (exceeds int64)
    notice_version: str = Field(max_length=100)
    notice_hash: str = Field(max_length=66)
    document: str = Field(sa_column=Column(Text, nullable=False))
    receipt_hash: str = Field(index=True, max_length=66)
    status: str = Field(default=ReceiptStatus.PENDING, max_length=16)  # a ReceiptStatus
    created_at: datetime = Field(default_factory=utcnow)
    activated_at: datetime | None = None
    grant_tx_hash: str | None = Field(default=None, max_length=66)
    withdrawn_at: datetime | None = None
    withdrawal_tx_hash: str | None = Field(default=None, max_length=66)


class ConsentChange(SQLModel, table=True):
    """One grant, narrowing or revocation handed to the customer to sign, and its relay on chain."""

    __tablename__ = "consent_changes"

    id: str = Field(primary_key=True, max_length=36)  # uuid4
    customer_id: int = Field(foreign_key="customers.id", index=True)
    brand_id: int = Field(foreign_key="brands.id")
    # The receipt the change belongs to; none for a consent granted on chain without one.
    receipt_id: str | None = Field(default=None, foreign_key="consent_receipts.id", index=True, max_length=36)
    action: str = Field(max_length=8)  # a ConsentAction
    purpose: int
    categories: int | None = Field(default=None, sa_column=Column(BigInteger))
    expires_at: int | None = Field(default=None, sa_column=Column(BigInteger))
    nonce: int = Field(sa_column=Column(BigInteger, nullable=False))
    deadline: int = Field(sa_column=Column(BigInteger, nullable=False))
    typed_data: str = Field(sa_column=Column(Text, nullable=False))  # the document the customer signs
    status: str = Field(default=ChangeStatus.PENDING, max_length=16)  # a ChangeStatus
    created_at: datetime = Field(default_factory=utcnow)
    relayed_at: datetime | None = None
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_column=Column(BigInteger))
    # The relayer's signed transaction, kept to send the very same bytes again after a chain restart or reorg.
    relay_tx: str | None = Field(default=None, sa_column=Column(Text))
    signature: str | None = Field(default=None, sa_column=Column(Text))  # the customer's, to relay it anew
    failure: str | None = Field(default=None, sa_column=Column(Text))  # why it could not reach the chain
