"""The ingestion's public surface: one purchase, refund or interest event at a time, or a streamed bulk upload."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session

from app.config import Settings
from app.errors import Conflict, InvalidInput, PayloadTooLarge
from app.ingestion.parse import (
    EVENT_FIELDS,
    EVENT_REQUIRED,
    PURCHASE_FIELDS,
    PURCHASE_REQUIRED,
    REFUND_FIELDS,
    REFUND_REQUIRED,
    BadRow,
    Bounds,
    Resource,
    parse_event,
    parse_purchase,
    parse_refund,
    show,
)
from app.ingestion.store import (
    BrandDirectory,
    CustomerDirectory,
    Stored,
    Writer,
    store_events,
    store_purchases,
    store_refunds,
)
from app.ingestion.stream import Format, IngestReport, body_lines, csv_records, json_records
from app.models.accounts import Customer
from app.models.purchases import InterestEvent, Purchase, PurchaseItem, PurchaseRefund
from app.services import coupons, triggers

# Rows per transaction: fewer commits against memory and write-lock time per batch.
BATCH_ROWS = 10_000


@dataclass(frozen=True)
class IngestedPurchase:
    """One purchase as stored, with its items and its customer's address; `created` unless it was known."""

    purchase: Purchase
    items: list[PurchaseItem]
    customer: str
    created: bool
    coupon: coupons.CouponOutcome | None = None  # what became of its coupon code, if it carried one


@dataclass(frozen=True)
class IngestedEvent:
    """One interest event as stored, with its customer's address; `created` unless it was known."""

    event: InterestEvent
    customer: str
    created: bool


@dataclass(frozen=True)
class IngestedRefund:
    """One refund as stored, with its purchase and its customer's address; `created` unless it was known."""

    refund: PurchaseRefund
    purchase: Purchase
    customer: str
    created: bool


def _refuse_conflict(session: Session, stored: Stored) -> None:
    if stored.conflicts:
        session.rollback()
        (_, fields, message), *_ = stored.conflicts
        raise Conflict(message, fields=fields)


def _address_of(session: Session, customer_id: int) -> str:
    customer = session.get(Customer, customer_id)
    assert customer is not None, "a stored row's customer exists (same transaction)"
    return customer.address


def ingest_purchase(session: Session, row: dict[str, Any], settings: Settings | None = None) -> IngestedPurchase:
    """Records one purchase. A known (brand, external id) stays as is: with the same body it is a duplicate
    (`created` false), with another body a Conflict naming the fields that differ."""
    conn = session.connection()
    try:
        parsed = parse_purchase(row, BrandDirectory(conn), Bounds.of(settings))
    except BadRow as exc:
        raise InvalidInput(f"invalid purchase: {exc}") from None
    stored = store_purchases(conn, [parsed], CustomerDirectory())
    _refuse_conflict(session, stored)
    session.commit()
    purchase = session.scalars(
        select(Purchase).where(Purchase.brand_id == parsed[1], Purchase.external_id == parsed[2])  # type: ignore[arg-type]
    ).one()
    items = session.scalars(
        select(PurchaseItem).where(PurchaseItem.purchase_id == purchase.id).order_by(PurchaseItem.id)  # type: ignore[arg-type]
    ).all()
    customer = _address_of(session, purchase.customer_id)
    return IngestedPurchase(
        purchase, list(items), customer, bool(stored.inserted), coupons.outcome_of(session, purchase)
    )


def ingest_event(session: Session, row: dict[str, Any], settings: Settings | None = None) -> IngestedEvent:
    """Records one interest event. A known (brand, external id) is kept as is: with the same body it is a
    duplicate (`created` false), with another body a Conflict naming the fields that differ."""
    conn = session.connection()
    try:
        parsed = parse_event(row, BrandDirectory(conn), Bounds.of(settings))
    except BadRow as exc:
        raise InvalidInput(f"invalid event: {exc}") from None
    stored = store_events(conn, [parsed], CustomerDirectory())
    _refuse_conflict(session, stored)
    session.commit()
    event = session.scalars(
        select(InterestEvent).where(InterestEvent.brand_id == parsed[1], InterestEvent.external_id == parsed[2])  # type: ignore[arg-type]
    ).one()
    if stored.cart_abandons and settings is not None:
        triggers.cart_abandoned(settings, session.get_bind())  # type: ignore[arg-type]
    return IngestedEvent(event, _address_of(session, event.customer_id), bool(stored.inserted))


def ingest_refund(session: Session, row: dict[str, Any], settings: Settings | None = None) -> IngestedRefund:
    """Records one refund of (part of) a purchase. A known (brand, external id) stays as is: with the same body
    it is a duplicate (`created` false), with another body a Conflict. A refund of an unknown purchase, of more
    than is left of it, or dated before it is refused (InvalidInput) and nothing is written."""
    conn = session.connection()
    try:
        parsed = parse_refund(row, BrandDirectory(conn), Bounds.of(settings))
    except BadRow as exc:
        raise InvalidInput(f"invalid refund: {exc}") from None
    stored = store_refunds(conn, [parsed])
    _refuse_conflict(session, stored)
    if stored.refused:
        session.rollback()
        raise InvalidInput(f"invalid refund: {stored.refused[0][1]}")
    session.commit()
    refund = session.scalars(
        select(PurchaseRefund).where(PurchaseRefund.brand_id == parsed[0], PurchaseRefund.external_id == parsed[1])  # type: ignore[arg-type]
    ).one()
    purchase = session.get(Purchase, refund.purchase_id)
    assert purchase is not None, "a refund's purchase exists (foreign key)"
    return IngestedRefund(refund, purchase, _address_of(session, refund.customer_id), bool(stored.inserted))


_BULK_STEPS: dict[str, tuple[tuple[str, ...], tuple[str, ...], Callable[..., Any]]] = {
    "purchases": (PURCHASE_FIELDS, PURCHASE_REQUIRED, parse_purchase),
    "events": (EVENT_FIELDS, EVENT_REQUIRED, parse_event),
    "refunds": (REFUND_FIELDS, REFUND_REQUIRED, parse_refund),
}


def ingest_bulk(
    engine: Engine,
    resource: Resource,
    fmt: Format,
    chunks: Iterable[bytes],
    max_bytes: int,
    settings: Settings | None = None,
) -> IngestReport:
    """Ingests a streamed JSON-lines or CSV upload; good rows kept, bad lines reported, nothing held whole.

    Each batch of BATCH_ROWS good rows is one transaction: a purchase and its items are stored together or
    not at all. Should the upload break off (too large, connection lost), the good rows read so far are
    stored and stay; sending the same file again is safe, as rows already stored count as duplicates. A
    row repeating a stored external id with another body is not stored: its line is reported as a conflict.
    """
    report = IngestReport()
    customers = CustomerDirectory()
    with engine.connect() as conn:
        brands = BrandDirectory(conn)
        conn.rollback()
    bounds = Bounds.of(settings)
    fields, required, parse = _BULK_STEPS[resource]
    text = fmt == "csv"
    lines = body_lines(chunks, max_bytes)
    records = csv_records(lines, report, fields, required) if text else json_records(lines, report)

    def store(batch: list[Any]) -> Stored:
        try:
            with engine.begin() as conn:
                if resource == "purchases":
                    return store_purchases(conn, batch, customers)
                if resource == "refunds":
                    return store_refunds(conn, batch)
                return store_events(conn, batch, customers)
        except BaseException:
            customers.forget()  # ids of customers created in the rolled-back transaction are void
            raise

    writer = Writer(store, report)
    writer.start()
    batch: list[Any] = []
    numbers: list[int] = []
    try:
        for number, record in records:
            if type(record) is not dict:
                report.reject(number, f"must be a JSON object, not {show(record)}")
                continue
            try:
                batch.append(parse(record, brands, bounds, text=text))
            except BadRow as exc:
                report.reject(number, str(exc))
                continue
            numbers.append(number)
            if len(batch) >= BATCH_ROWS:
                writer.put(batch, numbers)
                batch, numbers = [], []
    except BaseException as exc:
        # Broken off (too large, connection lost): the good rows read so far are stored all the same.
        if batch and writer.error is None:
            writer.put(batch, numbers)
        writer.finish()
        if isinstance(exc, PayloadTooLarge):
            exc.message += (
                f"; stopped after line {report.lines}: the {report.accepted} new rows before it are stored"
                " (sending the file again is safe: stored rows count as duplicates)"
            )
            exc.detail.update(accepted=report.accepted, duplicates=report.duplicates, lines=report.lines)
        raise
    if batch:
        writer.put(batch, numbers)
    writer.finish()
    if writer.cart_abandons and settings is not None:
        triggers.cart_abandoned(settings, engine)  # cart_abandoned rules fire on what was stored
    return report
