"""Ingestion of purchases, refunds and interest events by the operator: one row at a time or streamed bulk uploads.

Three steps, one module each, and the public surface in `ingest`:
- `parse`: each row's fields checked by hand (`BadRow` names the field), against plausible `Bounds`;
- `stream`: a bulk body's lines read as they arrive (JSON lines or CSV), bad lines reported
  (`IngestReport`), nothing held whole;
- `store`: the brand and customer directories, multi-row SQL idempotent by (brand, external id), and
  the writer thread that stores one batch while the next is parsed;
- `ingest`: `ingest_purchase`, `ingest_refund`, `ingest_event`, `ingest_bulk`.

A refund names the purchase it returns (part of) by the purchase's external id at the same brand; the
refunds of a purchase never add up to more than its amount, and one that would is refused.

After rows are stored, `store.after_stored(conn, new)` is called with the rows each store step inserted
(`NewRows`: as parsed, with their new ids and customer ids; never duplicates or conflicts) inside the
step's transaction, for one row and for each bulk batch alike: the one place for what must follow a stored
purchase or event (coupon codes redeem there; cart abandons are counted there and their rules fired by
`ingest` once the rows are committed). What it writes commits with the rows, and an
exception there refuses them (one row: the request; bulk: that batch and the rest of the upload).
"""

from app.ingestion.ingest import (
    BATCH_ROWS,
    IngestedEvent,
    IngestedPurchase,
    IngestedRefund,
    ingest_bulk,
    ingest_event,
    ingest_purchase,
    ingest_refund,
)
from app.ingestion.parse import (
    EVENT_FIELDS,
    MAX_COUPON_CODE,
    MAX_INT,
    MAX_ITEMS,
    MAX_TEXT,
    PURCHASE_FIELDS,
    REFUND_FIELDS,
    BadRow,
    Bounds,
    Resource,
    no_control,
)
from app.ingestion.stream import Format, IngestReport

__all__ = [
    "BATCH_ROWS",
    "EVENT_FIELDS",
    "MAX_COUPON_CODE",
    "MAX_INT",
    "MAX_ITEMS",
    "MAX_TEXT",
    "PURCHASE_FIELDS",
    "REFUND_FIELDS",
    "BadRow",
    "Bounds",
    "Format",
    "IngestReport",
    "IngestedEvent",
    "IngestedPurchase",
    "IngestedRefund",
    "Resource",
    "ingest_bulk",
    "ingest_event",
    "ingest_purchase",
    "ingest_refund",
    "no_control",
]
