"""Request and response models of spending CASH: quotes, signed payments, payments made, the rewards catalogue."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import Amount, ChainAddress, Hash32, Id, Timestamp, TypedDataDocument
from app.models.types import Bytes32, Signature


class PaymentQuoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brand_id: Id | None = Field(default=None, description="The brand to pay (or give catalogue_item_id)")
    amount: Amount | None = Field(default=None, description="CASH units; a reward's price if catalogue_item_id")
    purchase_external_id: str | None = Field(
        default=None, min_length=1, max_length=100, description="The purchase (brand's order id) this pays for"
    )
    catalogue_item_id: Id | None = Field(default=None, description="A reward of GET /rewards-catalogue to buy")


class PaymentQuotePublic(BaseModel):
    reference: Hash32 = Field(description="Goes on chain as the Paid event's paymentRef; send it back")
    brand_id: Id
    brand_name: str
    brand_address: ChainAddress = Field(description="Where the CASH goes")
    amount: Amount
    nonce: Amount = Field(description="The payer's permit nonce both signatures use")
    deadline: Timestamp
    purchase_external_id: str | None
    catalogue_item_id: Id | None
    permit: TypedDataDocument = Field(description="EIP-2612 permit: sign with eth_signTypedData_v4")
    payment: TypedDataDocument = Field(description="The router's Payment (brand, reference): sign it too")


class PaymentSignatures(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: Bytes32
    permit_signature: Signature
    payment_signature: Signature
    amount: Amount | None = Field(default=None, description="If given, must be the quote's amount")


class PaymentPublic(BaseModel):
    payer: ChainAddress
    brand: ChainAddress
    brand_name: str | None
    amount: Amount
    reference: Hash32
    tx_hash: Hash32
    block_number: int
    paid_at: Timestamp
    purchase_external_id: str | None
    catalogue_item_id: int | None
    catalogue_item_title: str | None


class CatalogueItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=500)
    price: Amount = Field(description="CASH units (at least 1)")


class CatalogueItemPublic(BaseModel):
    id: int
    title: str
    description: str
    price: Amount
    active: bool
    created_at: Timestamp


class CatalogueEntryPublic(BaseModel):
    id: int
    brand_id: int
    brand_name: str
    title: str
    description: str
    price: Amount
