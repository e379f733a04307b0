"""Paid profile upkeep: each field updated or confirmed, the keys its value hashes use, what epochs paid."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.models.types import UintString

_AWARE = sa.DateTime(timezone=True)


class UpkeepKind(StrEnum):
    UPDATED = "updated"  # PATCH /me/personal set the field to another value
    CONFIRMED = "confirmed"  # POST /me/personal/confirm after a reminder fell due


class UpkeepKey(SQLModel, table=True):
    """The customer's own key for value hashes; erasure deletes it, so no hash can be tested against a guess after."""

    __tablename__ = "upkeep_keys"

    customer_id: int = Field(primary_key=True, foreign_key="customers.id", sa_type=sa.BigInteger)
    key: bytes = Field(sa_type=sa.LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)


class UpkeepEvent(SQLModel, table=True):
    """A personal field updated or confirmed: the keyed hash of its value then, never the value itself."""

    __tablename__ = "upkeep_events"
    __table_args__ = (sa.Index("ix_upkeep_events_customer_field", "customer_id", "field", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", sa_type=sa.BigInteger)
    field: str = Field(max_length=20)
    kind: str = Field(max_length=10)  # UpkeepKind
    at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)
    value_hash: str = Field(max_length=66, description="HMAC-SHA256 of the value under the customer's upkeep key")
    reminder_due_at: datetime | None = Field(
        default=None, sa_type=_AWARE, description="A confirmation: when the reminder it answers fell due"
    )


class EpochUpkeepLine(SQLModel, table=True):
    """An upkeep event an epoch covered: what it paid (0 when the abuse rules refuse it) and why."""

    __tablename__ = "epoch_upkeep_lines"

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    event_id: int = Field(primary_key=True, sa_type=sa.BigInteger)
    customer_id: int = Field(sa_type=sa.BigInteger)
    field: str = Field(max_length=20)
    kind: str = Field(max_length=10)
    reason: str = Field(max_length=20)  # app.analytics.upkeep.REASONS
    paid: int = Field(sa_type=UintString)
