"""The life of a reward in the epoch job: refunds applied to the scoring (net amounts) and their commitment.

An epoch applies every refund recorded before it is computed (up to `max_refund_id`, committed in its
manifest with `refunds_hash`, as voids are): its RFM scores, and so the tiers the next epoch pays at, read
each purchase's amount net of the refunds made up to its `as_of` (app/analytics/rfm.net_of_refunds_sql).
The audit re-derives both apart from this module (app/audit/lifecycle.py).
"""

from __future__ import annotations

import duckdb


def latest_refund_id(con: duckdb.DuckDBPyConnection) -> int:
    """The newest refund's id: an epoch applies the refunds up to it (the same set when it is resumed)."""
    return int(con.execute("SELECT coalesce(max(id), 0) FROM store.purchase_refunds").fetchone()[0])  # type: ignore[index]


def applied_refunds_sql(max_refund_id: int) -> str:
    """The refunds an epoch applies, as a parenthesised query of (purchase_id, refunded_at, amount)."""
    return (
        "(SELECT purchase_id, CAST(refunded_at AS TIMESTAMP) AS refunded_at, amount "
        f"FROM store.purchase_refunds WHERE id <= {int(max_refund_id)})"
    )


def refunds_hash(con: duckdb.DuckDBPyConnection, max_refund_id: int) -> str:
    """sha256 over the applied refunds in id order (docs/epochs.md): one line per refund,
    `id|purchase_id|amount|refunded_at in µs since 1970`, joined by newlines (of the empty string when none)."""
    (digest,) = con.execute(  # type: ignore[misc]
        f"""SELECT sha256(coalesce(string_agg(concat_ws('|', id, purchase_id, amount,
                    epoch_us(CAST(refunded_at AS TIMESTAMP))), chr(10) ORDER BY id), ''))
        FROM store.purchase_refunds WHERE id <= {int(max_refund_id)}"""
    ).fetchone()
    return "0x" + digest
