"""Ingestion of purchases, refunds and interest events by the operator: one row as JSON, or a streamed bulk upload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, cast

import anyio.from_thread
from fastapi import APIRouter, Body, HTTPException, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from app import ingestion
from app.api.deps import OperatorDep, SessionDep, SettingsDep
from app.api.schemas import DocumentedRoute, Merged, errors
from app.api.schemas.coupons import CouponPublic
from app.api.schemas.ingest import (
    EventRow,
    InterestEventPublic,
    PurchasePublic,
    PurchaseRow,
    PurchaseVoidCreate,
    PurchaseVoidPublic,
    RefundPublic,
    RefundRow,
)
from app.errors import PayloadTooLarge
from app.ingestion import Format
from app.services import voids

router = APIRouter(prefix="/ingest", tags=["ingest"], route_class=DocumentedRoute, responses=errors(415))


def _row_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its nested definitions written in place (an OpenAPI body has no $defs)."""
    schema = model.model_json_schema()
    defs = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return inline(schema)


def _row_doc(model: type[BaseModel], example: dict[str, Any]) -> dict[str, Any]:
    # The service checks each row by hand (as for bulk lines, the same messages); the schema documents it.
    content = {"application/json": {"schema": _row_schema(model), "example": example}}
    return {"requestBody": {"required": True, "content": content}}


PURCHASE_EXAMPLE = {
    "customer": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "brand": 1,
    "external_id": "order-1001",
    "purchased_at": "2024-05-01T12:00:00+09:00",
    "amount": 59000,
    "currency": "KRW",
    "items": [{"item_id": "sku-77", "category": "shoes", "style": "casual", "quantity": 1, "unit_price": 59000}],
}
EVENT_EXAMPLE = {
    "customer": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "brand": "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc",
    "external_id": "ev-42",
    "kind": "cart_abandon",
    "item_id": "sku-77",
    "category": "shoes",
    "style": "casual",
    "occurred_at": "2024-05-01T11:40:00Z",
}
REFUND_EXAMPLE = {
    "brand": 1,
    "external_id": "refund-2001",
    "purchase_external_id": "order-1001",
    "refunded_at": "2024-05-03T10:00:00+09:00",
    "amount": 20000,
}
MEDIA_TYPES = {
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "text/csv": "csv",
}


def _bulk_doc(fields: tuple[str, ...]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string", "description": "One JSON object per line"}},
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "description": f"A header line naming columns of {', '.join(fields)}",
                    }
                },
            },
        }
    }


@router.post(
    "/purchases", status_code=201, openapi_extra=_row_doc(PurchaseRow, PURCHASE_EXAMPLE), responses=errors(409)
)
def ingest_purchase(
    *,
    body: Annotated[dict[str, Any], Body()],
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    _: OperatorDep,
) -> PurchasePublic:
    """Records one purchase (operator); 201 if new, 200 with the stored one if its external_id is known with
    the same body, 409 naming the differing fields if with another."""
    stored = ingestion.ingest_purchase(session, body, settings)
    if not stored.created:
        response.status_code = 200
    merged = Merged(
        stored.purchase,
        customer=stored.customer,
        items=stored.items,
        duplicate=not stored.created,
        coupon=CouponPublic.of(stored.coupon),
    )
    return PurchasePublic.model_validate(merged, from_attributes=True)


@router.post("/events", status_code=201, openapi_extra=_row_doc(EventRow, EVENT_EXAMPLE), responses=errors(409))
def ingest_event(
    *,
    body: Annotated[dict[str, Any], Body()],
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    _: OperatorDep,
) -> InterestEventPublic:
    """Records one interest event (operator); 201 if new, 200 with the stored one if external_id is known with
    the same body, 409 naming the differing fields if with another."""
    stored = ingestion.ingest_event(session, body, settings)
    if not stored.created:
        response.status_code = 200
    merged = Merged(stored.event, customer=stored.customer, duplicate=not stored.created)
    return InterestEventPublic.model_validate(merged, from_attributes=True)


@router.post("/refunds", status_code=201, openapi_extra=_row_doc(RefundRow, REFUND_EXAMPLE), responses=errors(409))
def ingest_refund(
    *,
    body: Annotated[dict[str, Any], Body()],
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
    _: OperatorDep,
) -> RefundPublic:
    """Records one refund of (part of) a purchase (operator); 201 if new, 200 with the stored one if its
    external_id is known with the same body, 409 if with another; 422 if the purchase is unknown or has less
    left than the refund."""
    stored = ingestion.ingest_refund(session, body, settings)
    if not stored.created:
        response.status_code = 200
    merged = Merged(
        stored.refund,
        customer=stored.customer,
        purchase_external_id=stored.purchase.external_id,
        duplicate=not stored.created,
    )
    return RefundPublic.model_validate(merged, from_attributes=True)


def _format(request: Request) -> Format:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = MEDIA_TYPES.get(media_type)
    if fmt is None:
        raise HTTPException(
            415,
            f"send the upload as application/x-ndjson (JSON lines) or text/csv, not {media_type or 'none'}",
        )
    return fmt  # type: ignore[return-value]


def _body_chunks(request: Request) -> Iterator[bytes]:
    """The request body as it arrives, pulled from the event loop by the worker thread that ingests it."""
    stream = request.stream().__aiter__()

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        if chunk:
            yield chunk


async def _ingest_bulk(
    request: Request, session: SessionDep, settings: SettingsDep, resource: ingestion.Resource
) -> JSONResponse:
    fmt = _format(request)
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the upload exceeds the limit of {settings.max_upload_bytes} bytes (MAX_UPLOAD_BYTES)")
    engine = cast(Engine, session.get_bind())  # the request's session is bound to app.state.engine (deps.py)
    session.close()  # the caller is authenticated; no transaction stays open while the upload streams in
    report = await run_in_threadpool(
        ingestion.ingest_bulk, engine, resource, fmt, _body_chunks(request), settings.max_upload_bytes, settings
    )
    return JSONResponse(report.as_dict(), status_code=report.status_code)


_BULK_RULES = (
    "Streamed bulk upload (operator). Good rows are kept and every bad line is reported with its number "
    "and reason (the first 1,000 are "
    "listed, `rejected_total` counts all); 200 when any row was good (new or duplicate); when none was, "
    "409 if some row was a conflict, else 422. A row repeating a stored external_id with another body is "
    "not stored: its line is listed as a conflict naming the differing fields (`conflicts` counts them). "
    f"Rows are stored in batches of {ingestion.BATCH_ROWS:,}, one transaction each; rows already "
    "stored (same brand and external_id) count as `duplicates` and are left unchanged, so re-sending an "
    "upload is safe. A body over MAX_UPLOAD_BYTES is refused with 413."
)


@router.post(
    "/purchases/bulk",
    openapi_extra=_bulk_doc(ingestion.PURCHASE_FIELDS),
    description=_BULK_RULES
    + " CSV: one line per purchase; `items`, when present, is a JSON array of item objects in one cell.",
    responses=errors(409),
)
async def ingest_purchases_bulk(
    *, request: Request, session: SessionDep, settings: SettingsDep, _: OperatorDep
) -> JSONResponse:
    """Ingests a streamed upload of purchases, JSON lines or CSV, keeping good rows (operator)."""
    return await _ingest_bulk(request, session, settings, "purchases")


@router.post(
    "/events/bulk", openapi_extra=_bulk_doc(ingestion.EVENT_FIELDS), description=_BULK_RULES, responses=errors(409)
)
async def ingest_events_bulk(
    *, request: Request, session: SessionDep, settings: SettingsDep, _: OperatorDep
) -> JSONResponse:
    """Ingests a streamed upload of interest events, JSON lines or CSV, keeping good rows (operator)."""
    return await _ingest_bulk(request, session, settings, "events")


@router.post(
    "/refunds/bulk",
    openapi_extra=_bulk_doc(ingestion.REFUND_FIELDS),
    description=_BULK_RULES
    + " A refund of an unknown purchase, of more than is left of it (earlier lines count), or dated before it"
    " is not stored: its line is listed with the reason.",
    responses=errors(409),
)
async def ingest_refunds_bulk(
    *, request: Request, session: SessionDep, settings: SettingsDep, _: OperatorDep
) -> JSONResponse:
    """Ingests a streamed upload of refunds, JSON lines or CSV, keeping good rows (operator)."""
    return await _ingest_bulk(request, session, settings, "refunds")


@router.post("/purchases/{purchase_id}/void", status_code=201, responses=errors(404, 409))
def void_purchase(
    *,
    purchase_id: Annotated[int, Path(ge=1, le=ingestion.MAX_INT)],
    body: PurchaseVoidCreate,
    session: SessionDep,
    operator: OperatorDep,
) -> PurchaseVoidPublic:
    """Voids one purchase with a reason (operator): it earns nothing from the next epoch computed on; 409 if
    voided already."""
    void = voids.void_purchase(
        session, purchase_id, reason=body.reason, voided_by=f"api:{operator.label or 'operator'}"
    )
    return PurchaseVoidPublic.model_validate(void, from_attributes=True)
