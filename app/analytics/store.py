"""DuckDB over the product's own store: the SQLite file attached in place, with the views analytics read."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import duckdb_extension_sqlite_scanner

from app.config import Settings

# Views every analytics job reads, in the column shapes app/analytics/* expect. Timestamps in the
# store are UTC (SQLModel writes them so); DuckDB reads them as TIMESTAMP.
VIEWS = {
    "purchases_v": """
        SELECT p.id, p.customer_id, p.brand_id, p.purchased_at, p.amount,
               c.address AS customer, b.address AS brand
        FROM store.purchases p
        JOIN store.customers c ON c.id = p.customer_id
        JOIN store.brands b ON b.id = p.brand_id""",
    "interest_events_v": """
        SELECT customer_id, brand_id, kind, category, style, occurred_at FROM store.interest_events""",
    "purchase_items_v": """
        SELECT p.customer_id, p.purchased_at, i.category, i.style, i.quantity
        FROM store.purchase_items i JOIN store.purchases p ON p.id = i.purchase_id""",
}


def _sqlite_extension() -> str:
    # The extension ships as a wheel of the same version as duckdb: loaded from disk, never downloaded.
    root = pathlib.Path(duckdb_extension_sqlite_scanner.__file__).parent
    return str(next(root.rglob("sqlite_scanner.duckdb_extension")))


def sqlite_path(settings: Settings) -> str:
    url = settings.sqlalchemy_url
    if not url.startswith("sqlite:///"):
        raise NotImplementedError(
            "the analytics read the store through DuckDB's SQLite scanner; for PostgreSQL, load the "
            "postgres_scanner extension the same way (see docs/analytics.md)"
        )
    return url.removeprefix("sqlite:///")


@contextmanager
def analytics(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection with the store attached as `store` and the analytics views defined.

    Always attached read-write: a read-only SQLite handle fails ("attempt to write a readonly
    database") when it meets the rollback journal of a write the API is making at that moment.
    """
    # Bounded memory: DuckDB spills to disk (under DATA_DIR) beyond the limit instead of growing the
    # process; no insertion-order bookkeeping (every query that needs an order says ORDER BY).
    spill = settings.data_dir / "tmp" / "duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        config={
            "threads": settings.analytics_threads,
            "memory_limit": settings.analytics_memory,
            "temp_directory": str(spill),
            "preserve_insertion_order": False,
        }
    )
    try:
        con.execute(f"LOAD '{_sqlite_extension()}'")
        con.execute(f"ATTACH '{sqlite_path(settings)}' AS store (TYPE sqlite)")
        for name, sql in VIEWS.items():
            con.execute(f"CREATE TEMP VIEW {name} AS {sql}")
        yield con
    finally:
        con.close()
