"""Sign-in records: SIWE nonces and customer sessions, brands' API keys, auditors' tokens (hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from app.clock import utcnow


class SiweNonce(SQLModel, table=True):
    """A sign-in nonce handed out for one address; usable once, before it expires."""

    __tablename__ = "siwe_nonces"

    nonce: str = Field(primary_key=True, max_length=64)
    address: str = Field(max_length=42)
    issued_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None


class CustomerSession(SQLModel, table=True):
    """A customer's session after SIWE; only the token's hash is stored."""

    __tablename__ = "customer_sessions"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customers.id", index=True)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


class ApiKey(SQLModel, table=True):
    """A brand's API key, created by the operator, stored hashed, revocable."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(foreign_key="brands.id", index=True)
    prefix: str = Field(max_length=16)
    key_hash: str = Field(unique=True, max_length=64)
    label: str = Field(default="", max_length=100)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class AuditorToken(SQLModel, table=True):
    """A read-only auditor's token, created by the operator, stored hashed, revocable."""

    __tablename__ = "auditor_tokens"

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(default="", max_length=100)
    prefix: str = Field(max_length=16)
    token_hash: str = Field(unique=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
