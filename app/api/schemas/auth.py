"""Credentials: Sign-In with Ethereum for customers, sessions, and the auditors' read-only tokens."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.api.schemas import ChainAddress, Timestamp
from app.models.types import Address, Signature


class NonceRequest(BaseModel):
    address: Address


class NoncePublic(BaseModel):
    nonce: str
    message: str = Field(description="The EIP-4361 message to sign with personal_sign")


class SiweVerify(BaseModel):
    # EIP-4361 messages are a few hundred characters; the grammar parser's time grows with the length.
    message: str = Field(max_length=2000)
    signature: Signature


class SessionPublic(BaseModel):
    token: str
    expires_at: Timestamp
    address: ChainAddress


class SignedInPublic(BaseModel):
    address: ChainAddress


class AuditorTokenCreate(BaseModel):
    label: str = Field(default="", max_length=100)


class AuditorTokenPublic(BaseModel):
    id: int
    label: str
    prefix: str
    created_at: Timestamp
    revoked_at: Timestamp | None


class AuditorTokenCreated(AuditorTokenPublic):
    token: str = Field(description="Shown once; only its hash is stored")
