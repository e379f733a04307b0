"""What the pages read beside the API proper: chain coordinates, a transaction's receipt, auditor aggregates."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.api.schemas import Amount, ChainAddress, Hash32, Timestamp


class PagesConfig(BaseModel):
    chain_id: int
    registry: ChainAddress = Field(description="ConsentRegistry: the EIP-712 verifying contract")
    distributor: ChainAddress = Field(description="RewardDistributor: where a customer's own wallet claims")
    token: ChainAddress
    token_symbol: str = "CASH"
    token_decimals: int
    api_base: str = Field(description="Prefix of the API routes ('' when the pages are served by the API)")
    environment: str
    dev_wallet_allowed: bool = Field(description="The built-in development wallet is offered (local stack only)")
    purposes: list[str]
    categories: list[str]
    tx_url: str = Field(description="Link template for a transaction, `{hash}` replaced")


class TransactionView(BaseModel):
    hash: Hash32
    status: str
    block_number: int
    from_address: ChainAddress
    to_address: ChainAddress | None
    gas_used: int
    logs: int


class GridCell(BaseModel):
    r: int
    f: int
    customers: int
    segments: list[str]


class SegmentGrid(BaseModel):
    epoch: int | None = Field(description="None: no epoch computed yet")
    scheme: str | None
    max_score: int
    cells: list[GridCell]
    segments: dict[str, int] = Field(description="Customers per segment")


class EpochRewardsTotal(BaseModel):
    epoch: int
    status: str
    as_of: Timestamp
    from_block: int = Field(description="Accesses in blocks from_block..to_block are paid in this epoch")
    to_block: int
    accounts: int
    purchase_cashback: Amount
    access_earnings: Amount
    earned: Amount
