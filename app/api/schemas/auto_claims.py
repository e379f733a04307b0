"""Automatic claims: the customer's choice and what the relayer's batches paid them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from app.api.schemas import Amount, Hash32, Timestamp


class AutoClaimChoice(BaseModel):
    """Opt in to automatic claims (true) or out of them (false)."""

    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool


class AutoClaimLinePublic(BaseModel):
    epoch: int = Field(description="The finalised epoch the claim was made under")
    amount: Amount = Field(description="CASH the batch paid to this account (0 if it had claimed by itself)")
    tx_hash: Hash32
    block_number: int | None


class AutoClaimPublic(BaseModel):
    enabled: bool
    since: Timestamp | None = Field(description="When the customer opted in; null when opted out")
    claims: list[AutoClaimLinePublic] = Field(description="Automatic claims paid to this account, newest first")
