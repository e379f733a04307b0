"""Brands that sign up themselves: their applications (pending, approved, refused) and their data prices' floor."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.models.types import UintString

_AWARE = sa.DateTime(timezone=True)


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"


class BrandApplication(SQLModel, table=True):
    """A brand's sign-up with its wallet (SIWE); the operator approves (registering it on chain) or refuses it."""

    __tablename__ = "brand_applications"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    address: str = Field(max_length=42, index=True)
    status: str = Field(default=ApplicationStatus.PENDING, max_length=10)
    token_hash: str = Field(max_length=64, unique=True, description="The applicant's status token, hashed")
    reason: str = Field(default="", max_length=500, description="Why it was refused")
    brand_id: int | None = Field(default=None, sa_column=sa.Column(sa.ForeignKey("brands.id"), nullable=True))
    key_collected_at: datetime | None = Field(default=None, sa_type=_AWARE)
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)
    decided_at: datetime | None = Field(default=None, sa_type=_AWARE)


class BrandPriceFloor(SQLModel, table=True):
    """The least price per access (CASH smallest units) a brand accepts for its data prices."""

    __tablename__ = "brand_price_floors"

    brand_id: int = Field(sa_column=sa.Column(sa.ForeignKey("brands.id"), primary_key=True, nullable=False))
    floor: int = Field(sa_type=UintString)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)
