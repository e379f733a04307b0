"""Monetary offers as an epoch's reward source: offers.py's SQL over the epoch's purchases and the deliveries.

The epoch job calls `compute` after it fixed the purchases it covers (`covered`): each qualifying
(offer, purchase) line, capped by what the offer's budget still holds after earlier epochs, lands in
`offer_lines`, and the paid amounts per (account, brand) in `offer_paid`, which the job adds to the
brand's purchase-cashback lines — so they are debited from the brand's budget and carried with its
cashback when the brand is short (docs/epochs.md). `store` writes both tables; `manifest` is what the
epoch commits to. Deliveries count from `delivered_at <= as_of`; an offer ended early stops at its end.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import duckdb

from app.analytics.offers import offer_lines_sql
from app.analytics.rfm import timestamp_sql
from app.models.crm import MONETARY_KINDS
from app.models.epochs import Epoch

_KINDS = ", ".join(f"'{k.value}'" for k in sorted(MONETARY_KINDS))
TEMP_TABLES = ("offer_inputs", "offer_deliveries", "offer_paid_before", "offer_lines", "offer_paid")


def compute(con: duckdb.DuckDBPyConnection, epoch: Epoch, *, scale: int) -> None:
    """Creates `offer_lines` (LINE_COLUMNS) and `offer_paid` (account, brand, pc) from `covered` and `accounts`."""
    n = epoch.number
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE offer_inputs AS
        WITH spent AS (
            SELECT offer_id, sum(CAST(paid AS HUGEINT)) AS spent FROM store.epoch_offer_lines
            WHERE epoch < {n} GROUP BY 1
        )
        SELECT o.id AS offer_id, o.brand_id, o.kind, coalesce(o.bps, 0) AS bps,
               CAST(coalesce(o.bonus_units, '0') AS HUGEINT) AS bonus_units,
               CAST(o.budget_units AS HUGEINT) AS budget_units, o.valid_from,
               CASE WHEN o.ended_at IS NOT NULL AND o.ended_at < o.valid_until THEN o.ended_at
                    ELSE o.valid_until END AS valid_until,
               coalesce(s.spent, CAST(0 AS HUGEINT)) AS spent_before
        FROM store.offers AS o LEFT JOIN spent AS s ON s.offer_id = o.id
        WHERE o.kind IN ({_KINDS})"""
    )
    # A customer reached twice by one offer (two rules, a campaign) earns from it once, from the first.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE offer_deliveries AS
        SELECT d.offer_id, d.customer_id, min(d.delivered_at) AS delivered_at
        FROM store.deliveries AS d JOIN offer_inputs AS o ON o.offer_id = d.offer_id
        WHERE d.delivered_at <= {timestamp_sql(epoch.as_of)}
        GROUP BY 1, 2"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE offer_paid_before AS
        SELECT DISTINCT l.offer_id, l.customer_id FROM store.epoch_offer_lines AS l
        JOIN offer_inputs AS o ON o.offer_id = l.offer_id
        WHERE l.epoch < {n} AND o.kind = 'fixed_bonus'"""
    )
    sql = offer_lines_sql("offer_inputs", "offer_deliveries", "covered", "offer_paid_before", scale=scale)
    con.execute(f"CREATE OR REPLACE TEMP TABLE offer_lines AS {sql}")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE offer_paid AS
        SELECT a.account, lower(b.address) AS brand, CAST(sum(l.paid) AS HUGEINT) AS pc
        FROM offer_lines AS l JOIN accounts AS a USING (customer_id)
        JOIN offer_inputs AS o USING (offer_id) JOIN store.brands AS b ON b.id = o.brand_id
        GROUP BY 1, 2 HAVING sum(l.paid) > 0"""
    )


def store(con: duckdb.DuckDBPyConnection, epoch: Epoch) -> None:
    n = epoch.number
    con.execute(
        f"""INSERT INTO store.epoch_offer_lines
        SELECT {n}, offer_id, purchase_id, customer_id, CAST(owed AS VARCHAR), CAST(paid AS VARCHAR)
        FROM offer_lines ORDER BY offer_id, purchase_id"""
    )
    con.execute(
        f"""INSERT INTO store.epoch_offer_rewards
        SELECT {n}, account, brand, CAST(pc AS VARCHAR) FROM offer_paid ORDER BY account, brand"""
    )


def lines_hash(lines: Iterable[tuple[int, int, int, int, int]]) -> str:
    """sha256 of `offer_id|customer_id|purchase_id|owed|paid` per line, in (offer, purchase id) order, joined
    by newlines (of the empty string when none): what the epoch commits to and the audit recomputes."""
    text = "\n".join(f"{o}|{c}|{p}|{owed}|{paid}" for o, c, p, owed, paid in sorted(lines, key=lambda r: (r[0], r[2])))
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


def manifest(con: duckdb.DuckDBPyConnection) -> dict[str, object]:
    """The manifest's `offers` entry: how many lines, their hash, and what they paid in total."""
    rows = [
        (int(o), int(c), int(p), int(owed), int(paid))
        for o, c, p, owed, paid in con.execute(
            "SELECT offer_id, customer_id, purchase_id, CAST(owed AS VARCHAR), CAST(paid AS VARCHAR) FROM offer_lines"
        ).fetchall()
    ]
    return {"lines": len(rows), "lines_hash": lines_hash(rows), "paid": str(sum(r[4] for r in rows))}


def drop(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("; ".join(f"DROP TABLE IF EXISTS {t}" for t in TEMP_TABLES))
