"""Consent routes: typed data to sign, relaying the customer's signature, listing, receipt download."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import ChainDep, CurrentCustomer, SessionDep, SettingsDep
from app.api.schemas import DocumentedRoute, Merged, errors
from app.api.schemas.consents import (
    ConsentDetail,
    ConsentPublic,
    ConsentRelayed,
    ConsentSignature,
    ConsentTypedData,
    ConsentTypedDataRequest,
)
from app.domain import category_mask, purpose_id
from app.models.consents import ReceiptStatus
from app.services import consent_views, consents

router = APIRouter(prefix="/consents", tags=["consents"], route_class=DocumentedRoute, responses=errors(400, 404, 409))


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
    merged = Merged(
        change,
        request_id=change.id,
        receipt_hash=prepared.typed_data["message"].get("receiptHash"),
        typed_data=prepared.typed_data,
    )
    return ConsentTypedData.model_validate(merged, from_attributes=True)


@router.post("")
def submit_consent_change(
    *, body: ConsentSignature, customer: CurrentCustomer, session: SessionDep, chain: ChainDep
) -> ConsentRelayed:
    """Relays the customer's signed grant, narrowing or revocation on chain (customer)."""
    relayed = consents.submit_change(session, chain, customer, str(body.request_id), body.signature)
    return ConsentRelayed.of(relayed)


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
    return [ConsentPublic.of(v) for v in views]


@router.get("/{receipt_id}")
def read_consent(
    *, receipt_id: uuid.UUID, customer: CurrentCustomer, session: SessionDep, chain: ChainDep
) -> ConsentDetail:
    """One of the calling customer's consents with its signed changes (customer, owner only)."""
    view = consent_views.view_consent(session, chain, customer, str(receipt_id))
    return ConsentDetail.with_changes(view, consent_views.changes_of(session, view.receipt))


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
