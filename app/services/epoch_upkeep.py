"""Paid upkeep of one's own profile as an epoch's reward source: the abuse rules over the events it covers.

The epoch job calls `compute` after the offers: every upkeep event recorded up to the epoch's cut
(`id <= max_event_id`, `at <= as_of`) and not covered by the previous epoch (`NOT (id <= its max_event_id AND
at <= its as_of)`) gets a line with what it pays (`upkeep_lines`, decided by app/analytics/upkeep.py against
the events earlier epochs paid), and the paid amounts per account land in `upkeep_paid` (account, brand, pc)
with the programme's funder (UPKEEP_FUNDER) as the brand: so they are debited from the funder's budget and,
when it is short, carried like a brand's cashback (docs/epochs.md). `store` writes the lines; `manifest` is
what the epoch commits to.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

import duckdb

from app.analytics import upkeep
from app.analytics.rfm import timestamp_sql
from app.analytics.rules import UpkeepRules
from app.models.epochs import Epoch

TEMP_TABLES = ("upkeep_lines", "upkeep_paid")


def previous_cut(previous: Epoch | None) -> int:
    """The previous epoch's `upkeep.max_event_id` (0 before the first epoch, or before upkeep existed)."""
    if previous is None:
        return 0
    entry = json.loads(previous.manifest or "{}").get("upkeep") or {}
    return int(entry.get("max_event_id", 0))


def compute(
    con: duckdb.DuckDBPyConnection, epoch: Epoch, previous: Epoch | None, *, rules: UpkeepRules, funder: str
) -> int:
    """Creates `upkeep_lines` and `upkeep_paid` (needs `accounts`); returns the cut, the epoch's max_event_id."""
    (max_event_id,) = con.execute("SELECT coalesce(max(id), 0) FROM store.upkeep_events").fetchone() or (0,)
    rows = con.execute(
        f"""SELECT id, customer_id, field, kind, "at", value_hash FROM store.upkeep_events
        WHERE id <= {int(max_event_id)} AND "at" <= {timestamp_sql(epoch.as_of)}"""
    ).fetchall()
    history = [upkeep.Event(int(i), int(c), f, k, at, h) for i, c, f, k, at, h in rows]
    before = previous_cut(previous)
    earlier_as_of = previous.as_of.replace(tzinfo=None) if previous is not None else None
    covered = {e.id for e in history if earlier_as_of is None or not (e.id <= before and e.at <= earlier_as_of)}
    paid_before = {
        int(i)
        for (i,) in con.execute(
            f"SELECT event_id FROM store.epoch_upkeep_lines WHERE epoch < {epoch.number} AND reason = '{upkeep.PAID}'"
        ).fetchall()
    }
    enrolled = {int(i): at for i, at in con.execute("SELECT id, created_at FROM store.customers").fetchall()}
    decisions = upkeep.decide(history, covered, enrolled=enrolled, paid_before=paid_before, rules=rules)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE upkeep_lines (event_id BIGINT, customer_id BIGINT, field VARCHAR, "
        "kind VARCHAR, reason VARCHAR, paid HUGEINT)"
    )
    if decisions:
        con.executemany(
            "INSERT INTO upkeep_lines VALUES (?, ?, ?, ?, ?, CAST(? AS HUGEINT))",
            [[d.event.id, d.event.customer_id, d.event.field, d.event.kind, d.reason, str(d.paid)] for d in decisions],
        )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE upkeep_paid AS
        SELECT a.account, CAST(? AS VARCHAR) AS brand, CAST(sum(l.paid) AS HUGEINT) AS pc
        FROM upkeep_lines AS l JOIN accounts AS a USING (customer_id)
        GROUP BY 1 HAVING sum(l.paid) > 0""",
        [funder.lower()],
    )
    return int(max_event_id)


def store(con: duckdb.DuckDBPyConnection, epoch: Epoch) -> None:
    con.execute(
        f"""INSERT INTO store.epoch_upkeep_lines
        SELECT {epoch.number}, event_id, customer_id, field, kind, reason, CAST(paid AS VARCHAR)
        FROM upkeep_lines ORDER BY event_id"""
    )


def lines_hash(lines: Iterable[tuple[int, int, str, str, str, int]]) -> str:
    """sha256 of `event_id|customer_id|field|kind|reason|paid` per covered event in event id order, joined by
    newlines (of the empty string when none): what the epoch commits to and the audit recomputes."""
    text = "\n".join("|".join(str(v) for v in line) for line in sorted(lines))
    return "0x" + hashlib.sha256(text.encode()).hexdigest()


def manifest(con: duckdb.DuckDBPyConnection, *, funder: str, max_event_id: int) -> dict[str, object]:
    """The manifest's `upkeep` entry: whose budget pays, the cut, how many lines, their hash, the total paid."""
    rows = [
        (int(e), int(c), f, k, r, int(p))
        for e, c, f, k, r, p in con.execute(
            "SELECT event_id, customer_id, field, kind, reason, CAST(paid AS VARCHAR) FROM upkeep_lines"
        ).fetchall()
    ]
    return {
        "funder": funder.lower(),
        "max_event_id": max_event_id,
        "lines": len(rows),
        "lines_hash": lines_hash(rows),
        "paid": str(sum(r[5] for r in rows)),
    }


def drop(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("; ".join(f"DROP TABLE IF EXISTS {t}" for t in TEMP_TABLES))
