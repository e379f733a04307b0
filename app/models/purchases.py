"""Purchases with their items, and interest events (view, touch, compare, wishlist, cart add or abandon)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow

# Purchases are recorded in integer won; other currencies are refused until RFM can convert them.
DEFAULT_CURRENCY = "KRW"


class InterestKind(StrEnum):
    """What a customer did with an item, a category or a style."""

    VIEW = "view"
    TOUCH = "touch"
    COMPARE = "compare"
    WISHLIST = "wishlist"
    CART_ADD = "cart_add"
    CART_ABANDON = "cart_abandon"


KIND_CHECK = "kind IN (" + ", ".join(f"'{k.value}'" for k in InterestKind) + ")"


def _aware(nullable: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable)


class Purchase(SQLModel, table=True):
    """One purchase of a customer at a brand; `external_id` is the brand's own order id (idempotency key)."""

    __tablename__ = "purchases"
    __table_args__ = (
        UniqueConstraint("brand_id", "external_id", name="uq_purchases_brand_external"),
        Index("ix_purchases_customer_purchased", "customer_id", "purchased_at"),
        Index("ix_purchases_brand_purchased", "brand_id", "purchased_at"),
        CheckConstraint("amount >= 0", name="ck_purchases_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    brand_id: int = Field(foreign_key="brands.id")
    external_id: str = Field(max_length=100)
    purchased_at: datetime = Field(sa_column=_aware())
    amount: int = Field(sa_type=BigInteger, ge=0, description="Integer won (smallest unit of `currency`)")
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    coupon_code: str | None = Field(default=None, max_length=40, description="A coupon offer's code, if used")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_aware())


class PurchaseItem(SQLModel, table=True):
    """A line of a purchase: personal data (what was bought), erasable without touching the purchase."""

    __tablename__ = "purchase_items"
    __table_args__ = (
        CheckConstraint("quantity >= 1", name="ck_purchase_items_quantity"),
        CheckConstraint("unit_price >= 0", name="ck_purchase_items_unit_price"),
    )

    id: int | None = Field(default=None, primary_key=True)
    purchase_id: int = Field(
        sa_column=Column(ForeignKey("purchases.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    item_id: str = Field(max_length=100)
    category: str | None = Field(default=None, max_length=100)
    style: str | None = Field(default=None, max_length=100)
    quantity: int = Field(default=1, ge=1)
    unit_price: int = Field(sa_type=BigInteger, ge=0, description="Integer won per unit")


class InterestEvent(SQLModel, table=True):
    """A customer's interest shown at a brand; `external_id` is the brand's event id (idempotency key)."""

    __tablename__ = "interest_events"
    __table_args__ = (
        UniqueConstraint("brand_id", "external_id", name="uq_interest_events_brand_external"),
        Index("ix_interest_events_customer_occurred", "customer_id", "occurred_at"),
        Index("ix_interest_events_brand_occurred", "brand_id", "occurred_at"),
        CheckConstraint(KIND_CHECK, name="ck_interest_events_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id")
    brand_id: int = Field(foreign_key="brands.id")
    external_id: str = Field(max_length=100)
    kind: str = Field(max_length=20, description="One of InterestKind")
    item_id: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=100)
    style: str | None = Field(default=None, max_length=100)
    occurred_at: datetime = Field(sa_column=_aware())
    created_at: datetime = Field(default_factory=utcnow, sa_column=_aware())


class PurchaseVoid(SQLModel, table=True):
    """An operator's void of one purchase: it earns nothing in any epoch computed after it (docs/epochs.md)."""

    __tablename__ = "purchase_voids"

    id: int | None = Field(default=None, primary_key=True)
    purchase_id: int = Field(sa_column=Column(ForeignKey("purchases.id"), nullable=False, unique=True))
    reason: str = Field(max_length=500)
    voided_by: str = Field(max_length=100, description="Who voided it: the operator's identity")
    voided_at: datetime = Field(default_factory=utcnow, sa_column=_aware())


class PurchaseRefund(SQLModel, table=True):
    """A return of (part of) one purchase; `external_id` is the brand's own refund id (idempotency key).

    The refunds of a purchase never add up to more than its amount (checked at ingestion)."""

    __tablename__ = "purchase_refunds"
    __table_args__ = (
        UniqueConstraint("brand_id", "external_id", name="uq_purchase_refunds_brand_external"),
        Index("ix_purchase_refunds_purchase", "purchase_id"),
        Index("ix_purchase_refunds_customer_refunded", "customer_id", "refunded_at"),
        CheckConstraint("amount >= 1", name="ck_purchase_refunds_amount"),
    )

    id: int | None = Field(default=None, primary_key=True)
    purchase_id: int = Field(foreign_key="purchases.id")
    customer_id: int = Field(foreign_key="customers.id")
    brand_id: int = Field(foreign_key="brands.id")
    external_id: str = Field(max_length=100)
    refunded_at: datetime = Field(sa_column=_aware())
    amount: int = Field(sa_type=BigInteger, ge=1, description="Integer won given back")
    created_at: datetime = Field(default_factory=utcnow, sa_column=_aware())
