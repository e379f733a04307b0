"""Customers (pseudonymous wallet addresses, optional off-chain profile) and brands."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.clock import utcnow

__all__ = ["Brand", "Customer"]


class Customer(SQLModel, table=True):
    """A customer known by their wallet address; profile fields are personal data, off chain only."""

    __tablename__ = "customers"

    id: int | None = Field(default=None, primary_key=True)
    address: str = Field(index=True, unique=True, max_length=42)
    created_at: datetime = Field(default_factory=utcnow)
    # Personal data (category CONTACT / DEMOGRAPHICS); erased on request (GDPR art. 17).
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320)
    phone: str | None = Field(default=None, max_length=40)
    birth_year: int | None = None
    gender: str | None = Field(default=None, max_length=20)
    region: str | None = Field(default=None, max_length=100)
    erased_at: datetime | None = None


class Brand(SQLModel, table=True):
    """A brand registered by the operator; `address` is its identity on chain."""

    __tablename__ = "brands"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=200)
    address: str = Field(index=True, unique=True, max_length=42)
    created_at: datetime = Field(default_factory=utcnow)
