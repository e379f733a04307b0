"""What monetary offers paid through an epoch: one row per qualifying (offer, purchase) line, and per account."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.models.types import UintString


class EpochOfferLine(SQLModel, table=True):
    """A qualifying purchase of a delivered customer: what the offer owed for it and what its budget paid."""

    __tablename__ = "epoch_offer_lines"
    __table_args__ = (sa.Index("ix_epoch_offer_lines_offer", "offer_id", "epoch"),)

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    offer_id: int = Field(primary_key=True, sa_type=sa.BigInteger)
    purchase_id: int = Field(primary_key=True, sa_type=sa.BigInteger)
    customer_id: int = Field(sa_type=sa.BigInteger)
    owed: int = Field(sa_type=UintString)
    paid: int = Field(sa_type=UintString, description="At most what the offer's budget still held")


class EpochOfferReward(SQLModel, table=True):
    """An account's offer bonuses from one brand in an epoch (part of its purchase cashback line)."""

    __tablename__ = "epoch_offer_rewards"

    epoch: int = Field(primary_key=True, sa_type=sa.BigInteger)
    account: str = Field(primary_key=True, max_length=42)
    brand: str = Field(primary_key=True, max_length=42)
    amount: int = Field(sa_type=UintString)
