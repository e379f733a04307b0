"""Brands' own earning rules (versions of extra bps per category and tier) and what each epoch applied of them."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import utcnow

_AWARE = sa.DateTime(timezone=True)


class BrandEarningRules(SQLModel, table=True):
    """One version of a brand's earning rules: immutable, in force from `effective_epoch` until a later version."""

    __tablename__ = "brand_earning_rules"
    __table_args__ = (sa.UniqueConstraint("brand_id", "version", name="uq_brand_earning_rules_version"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(sa_column=sa.Column(sa.ForeignKey("brands.id"), nullable=False, index=True))
    version: int = Field(description="1, 2, ... per brand")
    effective_epoch: int = Field(
        sa_type=sa.BigInteger, description="The first epoch it applies to: the next one opened after it was made"
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)


class BrandEarningRuleRow(SQLModel, table=True):
    """Extra basis points a version adds for purchases of one category by customers of one tier."""

    __tablename__ = "brand_earning_rule_rows"

    rules_id: int = Field(
        sa_column=sa.Column(sa.ForeignKey("brand_earning_rules.id"), primary_key=True, nullable=False)
    )
    category: str = Field(primary_key=True, max_length=40)
    tier: str = Field(primary_key=True, max_length=40)
    extra_bps: int


class EpochBrandRules(SQLModel, table=True):
    """The version of a brand's earning rules an epoch applied (the manifest's `brand_rates.versions`)."""

    __tablename__ = "epoch_brand_rules"

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    brand_id: int = Field(primary_key=True, sa_type=sa.BigInteger)
    rules_id: int = Field(sa_type=sa.BigInteger)
    version: int


class EpochBrandRateLine(SQLModel, table=True):
    """A covered purchase that earned a brand's extra rate: its category and tier then, and the extra bps."""

    __tablename__ = "epoch_brand_rate_lines"

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    purchase_id: int = Field(primary_key=True, sa_type=sa.BigInteger)
    customer_id: int = Field(sa_type=sa.BigInteger)
    brand_id: int = Field(sa_type=sa.BigInteger)
    category: str = Field(max_length=40)
    tier: str = Field(max_length=40)
    extra_bps: int
