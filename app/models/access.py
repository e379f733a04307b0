"""Brands' profile requests: the off-chain record of each access and its link to the on-chain AccessRecorded."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.models.types import UintString

_AWARE = sa.DateTime(timezone=True)


class AccessStatus(StrEnum):
    """Life of a request: written before the chain is asked, delivered only after the record is mined."""

    PENDING = "pending"  # candidates chosen, recordAccess being sent
    RECORDED = "recorded"  # AccessRecorded mined; profiles being built
    DELIVERED = "delivered"  # profiles returned to the brand
    REFUSED = "refused"  # the chain refused the batch (consents changed under the request): no data
    FAILED = "failed"  # the chain did not answer: no data (see `error`)


class AccessRequest(SQLModel, table=True):
    """One profile request of a brand; `request_id` is the bytes32 put on chain with its batch."""

    __tablename__ = "access_requests"
    __table_args__ = (sa.Index("ix_access_requests_brand_created", "brand_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=36)  # uuid4
    brand_id: int = Field(foreign_key="brands.id")
    purpose: int
    categories: int = Field(sa_type=sa.BigInteger)
    filters: str = Field(sa_type=sa.Text, description="Canonical JSON of the request's filters and limit")
    requested_limit: int
    customers: int = Field(default=0, description="Customers recorded on chain (and delivered)")
    skipped: int = Field(default=0, description="Customers the registry skipped (not charged, no data)")
    cost: int = Field(default=0, sa_type=UintString, description="CASH smallest units owed for the batch")
    request_id: str = Field(unique=True, max_length=66)
    status: str = Field(default=AccessStatus.PENDING, max_length=16)
    attempts: int = Field(default=0, description="recordAccess batches sent (a refused batch is retried once)")
    error: str | None = Field(default=None, sa_type=sa.Text)
    tx_hash: str | None = Field(default=None, max_length=66)
    block_number: int | None = Field(default=None, sa_type=sa.BigInteger)
    gas_used: int | None = Field(default=None, sa_type=sa.BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)
    recorded_at: datetime | None = Field(default=None, sa_type=_AWARE)
    delivered_at: datetime | None = Field(default=None, sa_type=_AWARE)
