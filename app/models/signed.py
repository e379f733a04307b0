"""Signed requests other than consent changes: a customer's invalidation of signatures, a brand's access limits."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import utcnow

_AWARE = sa.DateTime(timezone=True)


class SignedKind(StrEnum):
    """What the signed message does; the EIP-712 primary type in brackets."""

    INVALIDATE = "invalidate"  # a customer refuses every signature it made until now (Invalidate)
    ACCESS_LIMITS = "access_limits"  # a brand sets what the recorder may charge it (AccessLimits)


class SignedStatus(StrEnum):
    PENDING = "pending"  # typed data handed out, not yet signed and relayed
    RELAYED = "relayed"  # mined on chain


class SignedRequest(SQLModel, table=True):
    """Typed data handed to a customer or a brand to sign, and its relay by the relayer."""

    __tablename__ = "signed_requests"

    id: str = Field(primary_key=True, max_length=36)  # uuid4
    kind: str = Field(max_length=16)  # a SignedKind
    signer: str = Field(max_length=42, index=True)
    nonce: int = Field(sa_type=sa.BigInteger)
    deadline: int = Field(sa_type=sa.BigInteger)
    typed_data: str = Field(sa_type=sa.Text)
    status: str = Field(default=SignedStatus.PENDING, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)
    relayed_at: datetime | None = Field(default=None, sa_type=_AWARE)
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_type=sa.BigInteger)
