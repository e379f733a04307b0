"""Spending CASH off chain: the quotes a payer signs (reference → purchase or catalogue item) and brands' catalogues."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.clock import utcnow
from app.models.types import UintString

_AWARE = sa.DateTime(timezone=True)


class PaymentQuote(SQLModel, table=True):
    """A payment offered to a customer for signing; its random `reference` is what goes on chain (no order id does).

    The Paid event (mirror table `payments`) carries the same reference: joined here, it names the purchase
    (the brand's external id) or the catalogue item the CASH paid for.
    """

    __tablename__ = "payment_quotes"

    reference: str = Field(primary_key=True, max_length=66)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    brand_id: int = Field(foreign_key="brands.id", index=True)
    payer: str = Field(max_length=42)
    amount: int = Field(sa_type=UintString)
    nonce: int = Field(sa_type=UintString)
    deadline: int = Field(sa_type=sa.BigInteger)
    purchase_external_id: str | None = Field(default=None, max_length=100)
    catalogue_item_id: int | None = Field(default=None, foreign_key="rewards_catalogue.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)


class CatalogueItem(SQLModel, table=True):
    """A reward a brand sells for CASH (a gift, a voucher), bought by the same permit payment."""

    __tablename__ = "rewards_catalogue"

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brands.id", index=True)
    title: str = Field(max_length=120)
    description: str = Field(default="", max_length=500)
    price: int = Field(sa_type=UintString)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=_AWARE)
