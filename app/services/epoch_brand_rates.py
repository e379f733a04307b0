"""Brands' earning rules as an epoch applies them: the versions in force, each covered purchase's extra bps.

The epoch job calls `compute` after it fixed the purchases it covers (`covered`): per brand the newest
version of its rules with `effective_epoch` at most the epoch's number (`brand_rules_used`), and for each
covered purchase at such a brand whose category and customer's tier a row names, the extra bps
(`brand_extra`: purchase_id, customer_id, brand_id, category, tier, extra_bps). app/analytics/rewards.py
`earnings(extras="brand_extra")` adds won × extra_bps to the purchase's cashback (funded by the brand, so
debited from its budget and carried with its cashback when it is short). A purchase's category is its items'
category holding the most value (quantity × unit price; a tie goes to the name first in code-point order);
the customer's tier is the one graded at the previous epoch (the last tier when not graded yet), as for the
tier rate. `store` writes the versions used and the lines; `manifest` is what the epoch commits to.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import duckdb

from app.analytics.rules import ProgrammeRules
from app.models.epochs import Epoch

TEMP_TABLES = ("brand_rules_used", "brand_rule_rows", "brand_extra")


def compute(con: duckdb.DuckDBPyConnection, epoch: Epoch, rules: ProgrammeRules) -> None:
    """Creates `brand_rules_used`, `brand_rule_rows` and `brand_extra` from `covered` and the store."""
    n = epoch.number
    base_tier = rules.tiers[-1].name.replace("'", "''")
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE brand_rules_used AS
        SELECT v.brand_id, v.id AS rules_id, v.version, v.effective_epoch, lower(b.address) AS brand
        FROM (
            SELECT *, row_number() OVER (PARTITION BY brand_id ORDER BY version DESC) AS newest
            FROM store.brand_earning_rules WHERE effective_epoch <= {n}
        ) AS v JOIN store.brands AS b ON b.id = v.brand_id
        WHERE v.newest = 1"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE brand_rule_rows AS
        SELECT u.brand_id, r.category, r.tier, r.extra_bps
        FROM brand_rules_used AS u JOIN store.brand_earning_rule_rows AS r ON r.rules_id = u.rules_id"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE brand_extra AS
        WITH candidates AS (
            SELECT id, customer_id, brand_id FROM covered
            WHERE brand_id IN (SELECT DISTINCT brand_id FROM brand_rule_rows)
        ),
        item_values AS (
            SELECT i.purchase_id, i.category, sum(CAST(i.quantity AS HUGEINT) * i.unit_price) AS value
            FROM store.purchase_items AS i JOIN candidates AS c ON c.id = i.purchase_id
            WHERE i.category IS NOT NULL
            GROUP BY 1, 2
        ),
        main_category AS (
            SELECT purchase_id, category FROM (
                SELECT purchase_id, category,
                       row_number() OVER (PARTITION BY purchase_id ORDER BY value DESC, category) AS place
                FROM item_values
            ) WHERE place = 1
        ),
        tiers AS (SELECT customer_id, tier FROM store.epoch_scores WHERE epoch = {n - 1})
        SELECT c.id AS purchase_id, c.customer_id, c.brand_id, m.category, r.tier, r.extra_bps
        FROM candidates AS c
        JOIN main_category AS m ON m.purchase_id = c.id
        LEFT JOIN tiers AS t ON t.customer_id = c.customer_id
        JOIN brand_rule_rows AS r
          ON r.brand_id = c.brand_id AND r.category = m.category AND r.tier = coalesce(t.tier, '{base_tier}')"""
    )


def store(con: duckdb.DuckDBPyConnection, epoch: Epoch) -> None:
    """The versions used and the lines into the store (replacing any of a previous attempt at this epoch)."""
    n = epoch.number
    con.execute(f"DELETE FROM store.epoch_brand_rules WHERE epoch = {n}")
    con.execute(f"DELETE FROM store.epoch_brand_rate_lines WHERE epoch = {n}")
    con.execute(
        f"""INSERT INTO store.epoch_brand_rules
        SELECT {n}, brand_id, rules_id, version FROM brand_rules_used ORDER BY brand_id"""
    )
    con.execute(
        f"""INSERT INTO store.epoch_brand_rate_lines
        SELECT {n}, purchase_id, customer_id, brand_id, category, tier, extra_bps
        FROM brand_extra ORDER BY purchase_id"""
    )


def rules_document(versions: list[dict[str, Any]]) -> str:
    """The canonical JSON (sorted keys, no whitespace) of the versions used: by brand, each version's rows
    sorted by (category, tier). Its sha256 is the manifest's `brand_rates.hash`."""
    ordered = [
        v | {"rows": sorted(v["rows"], key=lambda r: (r["category"], r["tier"]))}
        for v in sorted(versions, key=lambda v: v["brand"])
    ]
    return json.dumps(ordered, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def lines_hash(lines: list[tuple[int, str, str, int]]) -> str:
    """sha256 of `purchase_id|category|tier|extra_bps` per line in purchase-id order, joined by newlines."""
    text = "\n".join(f"{p}|{c}|{t}|{x}" for p, c, t, x in sorted(lines))
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


def manifest(con: duckdb.DuckDBPyConnection, *, scale: int) -> dict[str, object]:
    """The manifest's `brand_rates`: the versions used and their hash, the lines' count and hash, the extra paid
    (before any short brand's cashback is carried: what the rates earned this epoch)."""
    used = con.execute(
        "SELECT brand_id, brand, version, effective_epoch FROM brand_rules_used ORDER BY brand"
    ).fetchall()
    rows: dict[int, list[dict[str, Any]]] = {brand_id: [] for brand_id, *_ in used}
    for brand_id, category, tier, extra in con.execute(
        "SELECT brand_id, category, tier, extra_bps FROM brand_rule_rows"
    ).fetchall():
        rows[brand_id].append({"category": category, "tier": tier, "extra_bps": int(extra)})
    versions = [
        {"brand": brand, "version": int(version), "effective_epoch": int(effective), "rows": rows[brand_id]}
        for brand_id, brand, version, effective in used
    ]
    document = rules_document(versions)
    lines = [
        (int(p), c, t, int(x))
        for p, c, t, x in con.execute("SELECT purchase_id, category, tier, extra_bps FROM brand_extra").fetchall()
    ]
    (extra_won_bps,) = con.execute(
        "SELECT CAST(coalesce(sum(CAST(c.amount AS HUGEINT) * x.extra_bps), 0) AS VARCHAR) "
        "FROM brand_extra AS x JOIN covered AS c ON c.id = x.purchase_id"
    ).fetchone() or ("0",)
    return {
        "hash": "0x" + hashlib.sha256(document.encode("utf-8")).hexdigest(),
        "versions": [{"brand": v["brand"], "version": v["version"]} for v in versions],
        "lines": len(lines),
        "lines_hash": lines_hash(lines),
        "extra": str(int(extra_won_bps) * scale),
    }


def drop(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("; ".join(f"DROP TABLE IF EXISTS {t}" for t in TEMP_TABLES))
