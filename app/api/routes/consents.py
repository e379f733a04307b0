"""Consent routes: typed data to sign, relaying the customer's signature, listing, receipt download."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    model_validator,
)

from app.api.deps import ChainDep, CurrentCustomer, SessionDep, SettingsDep
from app.api.schemas import INT64_MAX, DecimalInt, DocumentedRoute, Timestamp, TypedDataDocument, errors
from app.domain import Purpose, category_mask, purpose_id
from app.models.consents import ConsentAction, ConsentChange, ConsentReceipt, ReceiptStatus
from app.models.types import Address, Signature
from app.services import consent_views, consents
from app.services.consent_views import ConsentView
from app.services.consents import OnChainConsent

router = APIRouter(prefix="/consents", tags=["consents"], route_class=DocumentedRoute, responses=errors(400, 404, 409))


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
        if self.expires_at is None:
            return None
        moment = self.expires_at if self.expires_at.tzinfo else self.expires_at.replace(tzinfo=UTC)
        return int(moment.timestamp())


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
    categories: list[str]
    categories_mask: DecimalInt = Field(description="The uint64 bitmask of categories")
    granted_at: Timestamp | None
    expires_at: Timestamp | None = Field(description="None: no end")
    price: DecimalInt
    receipt_hash: str
    notice_hash: str
    in_force: bool


class BrandRef(BaseModel):
    id: int
    name: str
    address: str


class ConsentPublic(BaseModel):
    receipt_id: str
    status: ReceiptStatus
    brand: BrandRef
    purpose: str
    receipt_hash: str
    notice_version: str
    created_at: Timestamp
    activated_at: Timestamp | None
    grant_tx_hash: str | None
    withdrawn_at: Timestamp | None
    withdrawal_tx_hash: str | None
    receipt_on_chain: bool = Field(description="The registry holds this receipt's hash now")
    on_chain: OnChainConsentPublic = Field(description="The registry's consent for (you, brand, purpose) now")


class ConsentChangePublic(BaseModel):
    request_id: str
    action: ConsentAction
    status: str
    nonce: DecimalInt
    deadline: Timestamp
    created_at: Timestamp
    relayed_at: Timestamp | None
    tx_hash: str | None
    block_number: int | None
    failure: str | None = Field(default=None, description="Why a failed change never reached the chain")


class ConsentDetail(ConsentPublic):
    changes: list[ConsentChangePublic]


class ConsentRelayed(BaseModel):
    request_id: str
    action: ConsentAction
    receipt_id: str | None
    receipt_status: ReceiptStatus | None
    tx_hash: str
    block_number: int
    consent: OnChainConsentPublic = Field(description="As recorded on chain in that block")


def _on_chain(consent: OnChainConsent) -> OnChainConsentPublic:
    return OnChainConsentPublic(**consent.public())


def _change(change: ConsentChange) -> ConsentChangePublic:
    return ConsentChangePublic(request_id=change.id, **change.model_dump(exclude={"id", "relay_tx", "signature"}))


def _consent(view: ConsentView) -> ConsentPublic:
    r: ConsentReceipt = view.receipt
    return ConsentPublic(
        receipt_id=r.id,
        status=ReceiptStatus(r.status),
        brand=BrandRef(id=view.brand.id or 0, name=view.brand.name, address=view.brand.address),
        purpose=Purpose(r.purpose).name.lower(),
        receipt_hash=r.receipt_hash,
        notice_version=r.notice_version,
        created_at=r.created_at,
        activated_at=r.activated_at,
        grant_tx_hash=r.grant_tx_hash,
        withdrawn_at=r.withdrawn_at,
        withdrawal_tx_hash=r.withdrawal_tx_hash,
        receipt_on_chain=view.receipt_on_chain,
        on_chain=_on_chain(view.consent),
    )


@router.post("/typed-data")
def create_consent_typed_data(
    *,
    body: ConsentTypedDataRequest,
    customer: CurrentCustomer,
    session: SessionDep,
    settings: SettingsDep,
    chain: ChainDep,
) -> ConsentTypedData:
    """EIP-712 typed data for a grant (with its pending receipt), a narrowing or a revocation (customer)."""
    prepared = consents.prepare_change(
        session,
        settings,
        chain,
        customer,
        action=body.action,
        brand_ref=body.brand,
        purpose=purpose_id(body.purpose),
        categories=None if body.categories is None else int(category_mask(body.categories)),
        expires_at=body.expires_at_seconds(),
        price=body.price or 0,
    )
    change = prepared.change
    message = prepared.typed_data["message"]
    return ConsentTypedData(
        request_id=change.id,
        action=ConsentAction(change.action),
        receipt_id=change.receipt_id,
        receipt_hash=message.get("receiptHash"),
        nonce=change.nonce,
        deadline=datetime.fromtimestamp(change.deadline, UTC),
        typed_data=prepared.typed_data,
    )


@router.post("")
def submit_consent_change(
    *, body: ConsentSignature, customer: CurrentCustomer, session: SessionDep, chain: ChainDep
) -> ConsentRelayed:
    """Relays the customer's signed grant, narrowing or revocation on chain (customer)."""
    relayed = consents.submit_change(session, chain, customer, str(body.request_id), body.signature)
    return ConsentRelayed(
        request_id=relayed.change.id,
        action=ConsentAction(relayed.change.action),
        receipt_id=relayed.receipt.id if relayed.receipt else None,
        receipt_status=ReceiptStatus(relayed.receipt.status) if relayed.receipt else None,
        tx_hash=relayed.change.tx_hash or "",
        block_number=relayed.change.block_number or 0,
        consent=_on_chain(relayed.consent),
    )


@router.get("")
def read_consents(
    *,
    customer: CurrentCustomer,
    session: SessionDep,
    chain: ChainDep,
    status: Annotated[
        list[ReceiptStatus] | None, Query(description="Receipt statuses; default: active, and failed (to be told)")
    ] = None,
) -> list[ConsentPublic]:
    """The calling customer's consent receipts joined with the registry's state now (customer)."""
    statuses = status or [ReceiptStatus.ACTIVE, ReceiptStatus.FAILED]
    views = consent_views.list_consents(session, chain, customer, statuses)
    return [_consent(v) for v in views]


@router.get("/{receipt_id}")
def read_consent(
    *, receipt_id: uuid.UUID, customer: CurrentCustomer, session: SessionDep, chain: ChainDep
) -> ConsentDetail:
    """One of the calling customer's consents with its signed changes (customer, owner only)."""
    view = consent_views.view_consent(session, chain, customer, str(receipt_id))
    changes = [_change(c) for c in consent_views.changes_of(session, view.receipt)]
    return ConsentDetail(**_consent(view).model_dump(), changes=changes)


@router.get("/{receipt_id}/receipt")
def download_consent_receipt(*, receipt_id: uuid.UUID, customer: CurrentCustomer, session: SessionDep) -> Response:
    """The full consent receipt as the exact JSON whose keccak256 is on chain (customer, owner only)."""
    receipt = consents.get_receipt(session, customer, str(receipt_id))
    return Response(
        content=receipt.document.encode("utf-8"),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="consent-receipt-{receipt.id}.json"',
            "X-Receipt-Hash": receipt.receipt_hash,
        },
    )
