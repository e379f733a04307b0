"""Brands: registration, their API keys, and the public facts about a brand (id, name, address)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.api.schemas import ChainAddress, Timestamp
from app.models.types import Address


class BrandCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    address: Address


class BrandRef(BaseModel):
    """The public facts about a brand: what a customer grants consent to."""

    id: int
    name: str
    address: ChainAddress


class BrandPublic(BrandRef):
    created_at: Timestamp


class ApiKeyCreate(BaseModel):
    label: str = Field(default="", max_length=100)


class ApiKeyPublic(BaseModel):
    id: int
    brand_id: int
    prefix: str
    label: str
    created_at: Timestamp
    revoked_at: Timestamp | None


class ApiKeyCreated(ApiKeyPublic):
    key: str = Field(description="Shown once; only its hash is stored")
