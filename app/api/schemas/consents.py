"""Consents: what a customer asks to sign, the signed change relayed, and the customer's consent receipts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    computed_field,
    model_validator,
)

from app import clock
from app.api.schemas import (
    INT64_MAX,
    ChainSeconds,
    DecimalInt,
    Hash32,
    Merged,
    PurposeLabel,
    Timestamp,
    TypedDataDocument,
)
from app.api.schemas.brands import BrandRef
from app.domain import Purpose, category_mask, category_names, purpose_id
from app.models.consents import ConsentAction, ConsentChange, ReceiptStatus
from app.models.types import Address, Signature
from app.services.consent_views import ConsentView
from app.services.consents import OnChainConsent, RelayedChange


def _purpose_name(value: str) -> str:
    purpose_id(value)  # raises ValueError naming the known purposes
    return value.lower()


def _category_names(value: list[str]) -> list[str]:
    category_mask(value)  # raises ValueError naming the known categories
    return sorted({v.lower() for v in value})


_ADDRESS = TypeAdapter(Address)


def _brand_ref(value: object) -> int | str:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT64_MAX:
        return value
    if isinstance(value, str):
        try:
            return _ADDRESS.validate_python(value)
        except ValueError:
            pass
    raise ValueError("must be a brand id (an integer from 1 to 2^63-1) or a 0x-prefixed 20-byte hex address")


BrandRefIn = Annotated[int | str, PlainValidator(_brand_ref, json_schema_input_type=int | str)]
PurposeName = Annotated[str, AfterValidator(_purpose_name)]
CategoryNames = Annotated[list[str], AfterValidator(_category_names)]


class ConsentTypedDataRequest(BaseModel):
    """What the customer wants to sign: a grant, a narrowing or a revocation of one consent."""

    model_config = ConfigDict(extra="forbid")

    action: ConsentAction
    brand: BrandRefIn = Field(description="The brand's id or its address")
    purpose: PurposeName = Field(description="One of: " + ", ".join(p.name.lower() for p in Purpose))
    categories: CategoryNames | None = Field(default=None, description="Data category names (grant, narrow)")
    expires_at: datetime | None = Field(
        default=None, description="When the consent ends (grant, narrow), with its zone; a grant needs it or `no_end`"
    )
    no_end: bool = Field(default=False, description="Grant only: the consent has no end date (an explicit choice)")
    price: Annotated[DecimalInt, Field(lt=2**96)] | None = Field(
        default=None, description="CASH smallest units a brand pays per access (uint96), as a decimal string (grant)"
    )

    @model_validator(mode="after")
    def _fits_action(self) -> ConsentTypedDataRequest:
        if self.action == ConsentAction.GRANT and not self.categories:
            raise ValueError("a grant needs `categories`: at least one data category")
        # "No end" is a choice the customer makes, never what a missing or zero date falls back to.
        if self.action == ConsentAction.GRANT and (self.expires_at is None) == (not self.no_end):
            raise ValueError("a grant needs either `expires_at` (a future time) or `no_end: true`, not both")
        if self.action != ConsentAction.GRANT and self.no_end:
            raise ValueError("`no_end` is for a grant only; a narrowing cannot remove an end date")
        if self.action == ConsentAction.NARROW and self.categories is None and self.expires_at is None:
            raise ValueError("a narrowing needs fewer `categories` or an earlier `expires_at`")
        if self.action == ConsentAction.NARROW and self.categories == []:
            raise ValueError("a narrowing keeps at least one category; to withdraw consent entirely, revoke")
        if self.action != ConsentAction.GRANT and self.price is not None:
            raise ValueError("`price` is set by a grant only")
        if self.action == ConsentAction.REVOKE and (self.categories is not None or self.expires_at is not None):
            raise ValueError("a revocation takes only `brand` and `purpose`")
        return self

    def expires_at_seconds(self) -> int | None:
        return None if self.expires_at is None else clock.to_unix(self.expires_at)


class ConsentTypedData(BaseModel):
    request_id: str = Field(description="Send it back with the signature to POST /consents")
    action: ConsentAction
    receipt_id: str | None = Field(description="The consent receipt this change belongs to")
    receipt_hash: str | None = None
    nonce: DecimalInt
    deadline: Timestamp = Field(description="The signature is refused after it (the message's `deadline`)")
    typed_data: TypedDataDocument = Field(
        description="Sign with eth_signTypedData_v4; integers wider than 53 bits are decimal strings"
    )


class ConsentSignature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_id: uuid.UUID
    signature: Signature


class OnChainConsentPublic(BaseModel):
    categories_mask: DecimalInt = Field(validation_alias="categories", description="The uint64 bitmask of categories")
    granted_at: ChainSeconds
    expires_at: ChainSeconds = Field(description="None: no end")
    price: DecimalInt
    receipt_hash: Hash32
    notice_hash: Hash32
    in_force: bool

    @computed_field  # type: ignore[prop-decorator]
    @property
    def categories(self) -> list[str]:
        return category_names(self.categories_mask)

    @classmethod
    def of(cls, consent: OnChainConsent) -> OnChainConsentPublic:
        return cls.model_validate(consent, from_attributes=True)


class ConsentPublic(BaseModel):
    """One of the customer's consents: its receipt off chain joined with the registry's state now (the
    mirror's view of the registry alone is `RegistryConsentPublic`, app/api/schemas/ledger.py)."""

    receipt_id: str
    status: ReceiptStatus
    brand: BrandRef
    purpose: PurposeLabel
    receipt_hash: Hash32
    notice_version: str
    created_at: Timestamp
    activated_at: Timestamp | None
    grant_tx_hash: Hash32 | None
    withdrawn_at: Timestamp | None
    withdrawal_tx_hash: Hash32 | None
    receipt_on_chain: bool = Field(description="The registry holds this receipt's hash now")
    on_chain: OnChainConsentPublic = Field(description="The registry's consent for (you, brand, purpose) now")

    @classmethod
    def of(cls, view: ConsentView) -> ConsentPublic:
        merged = Merged(view, view.receipt, receipt_id=view.receipt.id, on_chain=view.consent)
        return cls.model_validate(merged, from_attributes=True)


class ConsentChangePublic(BaseModel):
    request_id: str
    action: ConsentAction
    status: str
    nonce: DecimalInt
    deadline: Timestamp
    created_at: Timestamp
    relayed_at: Timestamp | None
    tx_hash: Hash32 | None
    block_number: int | None
    failure: str | None = Field(default=None, description="Why a failed change never reached the chain")

    @classmethod
    def of(cls, change: ConsentChange) -> ConsentChangePublic:
        return cls.model_validate(Merged(change, request_id=change.id), from_attributes=True)


class ConsentDetail(ConsentPublic):
    changes: list[ConsentChangePublic]

    @classmethod
    def with_changes(cls, view: ConsentView, changes: list[ConsentChange]) -> ConsentDetail:
        public = [ConsentChangePublic.of(c) for c in changes]
        merged = Merged(view, view.receipt, receipt_id=view.receipt.id, on_chain=view.consent, changes=public)
        return cls.model_validate(merged, from_attributes=True)


class ConsentRelayed(BaseModel):
    request_id: str
    action: ConsentAction
    receipt_id: str | None
    receipt_status: ReceiptStatus | None
    tx_hash: Hash32
    block_number: int
    consent: OnChainConsentPublic = Field(description="As recorded on chain in that block")

    @classmethod
    def of(cls, relayed: RelayedChange) -> ConsentRelayed:
        change, receipt = relayed.change, relayed.receipt
        merged = Merged(
            change,
            request_id=change.id,
            receipt_id=receipt.id if receipt else None,
            receipt_status=receipt.status if receipt else None,
            tx_hash=change.tx_hash or "",
            block_number=change.block_number or 0,
            consent=relayed.consent,
        )
        return cls.model_validate(merged, from_attributes=True)
