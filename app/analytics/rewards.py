"""An epoch's rewards as DuckDB SQL over the store: cashback at the tier rate, access prices, carries, debits.

The epoch job (app/services/epochs.py) calls these in order on one connection, each leaving temp tables
for the next: `load_purchases` (p, accounts), `cover` (covered), `earnings` (cashback, access_lines,
pc_lines), `settle` (carried, earned, debits, leaves; short and short_budgets for `store_rewards`). What
needs the chain or the rules of settlement (budgets, the uint96 ceiling) stays with the job; this module
only counts. Also the frames behaviour changes compare and the commitment's `purchases_hash`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import duckdb

from app.analytics.rfm import timestamp_sql
from app.analytics.rules import ProgrammeRules


def load_purchases(con: duckdb.DuckDBPyConnection, *, max_purchase_id: int, as_of: datetime, not_voided: str) -> None:
    """`p`: every purchase the epoch may use (ingested up to `max_purchase_id`, made up to `as_of`, passing the
    `not_voided` condition on `id`), and `accounts` (customer id → lower-case address)."""
    # One scan of the store: scores, rewards and the commitment all read this table.
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE p AS
        SELECT id, customer_id, brand_id, purchased_at, amount FROM store.purchases
        WHERE id <= {max_purchase_id} AND purchased_at <= {timestamp_sql(as_of)}
          AND {not_voided}"""
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE accounts AS SELECT id AS customer_id, lower(address) AS account "
        "FROM store.customers"
    )


def covered_by(max_purchase_id: int, as_of: datetime) -> str:
    """A condition on `p`: the purchase was covered by an epoch with this `max_purchase_id` and `as_of`."""
    return f"id <= {max_purchase_id} AND purchased_at <= {timestamp_sql(as_of)}"


def cover(con: duckdb.DuckDBPyConnection, previous: tuple[int, datetime] | None) -> None:
    """`covered`: the purchases of `p` no earlier epoch covered (`previous`: its max_purchase_id and as_of)."""
    earlier = f"WHERE NOT ({covered_by(*previous)})" if previous is not None else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE covered AS SELECT * FROM p {earlier}")


def earnings(
    con: duckdb.DuckDBPyConnection,
    *,
    epoch: int,
    from_block: int,
    to_block: int,
    rules: ProgrammeRules,
    bonuses: str | None = None,
    extras: str | None = None,
) -> list[tuple[str, int]]:
    """Each line an account earns from a brand: purchase cashback (`pc_lines`, with what the previous epoch
    carried and the `bonuses` table's (account, brand, pc) lines, e.g. monetary offers' `offer_paid`) and
    access prices (`access_lines`); returns each brand's purchase cashback owed, by brand.

    Cashback is won * bps * (cash_units_per_won / 10,000): exact (the rules require the divisor), so it is
    summed in won * bps on 64-bit integers and scaled to token units only per account and brand, where
    128-bit arithmetic is cheap. The rate is the tier's the customer earned at the previous epoch (the last
    tier's when not graded yet). `extras` names a table of (purchase_id, extra_bps): a brand's own rate on
    top of the tier's for that covered purchase (app/services/epoch_brand_rates.py), funded by the brand.
    """
    base_bps = rules.tiers[-1].cashback_bps
    scale = rules.epochs.cash_units_per_won // 10_000
    # Bonuses are purchase cashback of their brand: debited from its budget and carried with it when short.
    extra = f"\n            UNION ALL SELECT account, brand, pc FROM {bonuses}" if bonuses else ""
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE cashback AS
        WITH rates AS (SELECT customer_id, cashback_bps FROM store.epoch_scores WHERE epoch = {epoch - 1}),
        spent AS (SELECT customer_id, brand_id, sum(amount) AS won FROM covered GROUP BY 1, 2)
        SELECT s.customer_id, s.brand_id, s.won * coalesce(r.cashback_bps, {base_bps}) AS won_bps
        FROM spent s LEFT JOIN rates r USING (customer_id)"""
    )
    if extras:
        # won x (tier bps + extra bps) = the tier's line above + won x extra bps per purchase with a brand rate.
        con.execute(
            f"""INSERT INTO cashback
            SELECT c.customer_id, c.brand_id, CAST(c.amount AS HUGEINT) * x.extra_bps
            FROM covered c JOIN {extras} x ON x.purchase_id = c.id"""
        )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE access_lines AS
        SELECT lower(customer) AS account, lower(brand) AS brand, sum(CAST(price AS HUGEINT)) AS earned
        FROM store.mirror_accesses
        WHERE block_number BETWEEN {from_block} AND {to_block}
        GROUP BY 1, 2"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE pc_lines AS
        WITH lines AS (
            SELECT a.account, lower(b.address) AS brand, CAST(sum(c.won_bps) AS HUGEINT) * {scale} AS pc
            FROM cashback c JOIN accounts a USING (customer_id) JOIN store.brands b ON b.id = c.brand_id
            GROUP BY 1, 2
            UNION ALL
            SELECT lower(account), lower(brand), CAST(amount AS HUGEINT) FROM store.epoch_carries
            WHERE epoch = {epoch - 1}{extra}
        )
        SELECT account, brand, sum(pc) AS pc FROM lines GROUP BY 1, 2 HAVING sum(pc) > 0"""
    )
    owed = con.execute("SELECT brand, CAST(sum(pc) AS VARCHAR) FROM pc_lines GROUP BY 1 ORDER BY 1").fetchall()
    return [(brand, int(amount)) for brand, amount in owed]


def settle(con: duckdb.DuckDBPyConnection, *, epoch: int, short: list[tuple[str, int]]) -> None:
    """Earnings per account (`earned`), per brand (`debits`) and every account's new cumulative (`leaves`),
    the purchase cashback of each `short` brand (brand, its unreserved budget) carried instead (`carried`)."""
    con.execute("CREATE OR REPLACE TEMP TABLE short (brand VARCHAR)")
    con.execute("CREATE OR REPLACE TEMP TABLE short_budgets (brand VARCHAR, available HUGEINT)")
    if short:
        con.executemany("INSERT INTO short VALUES (?)", [[brand] for brand, _ in short])
        con.executemany("INSERT INTO short_budgets VALUES (?, ?)", [[brand, available] for brand, available in short])
    con.execute(
        "CREATE OR REPLACE TEMP TABLE carried AS SELECT account, brand, pc FROM pc_lines "
        "WHERE brand IN (SELECT brand FROM short)"
    )
    con.execute("DELETE FROM pc_lines WHERE brand IN (SELECT brand FROM short)")
    con.execute(
        """CREATE OR REPLACE TEMP TABLE earned AS
        WITH purchases AS (SELECT account, sum(pc) AS pc FROM pc_lines GROUP BY 1),
        accesses AS (SELECT account, sum(earned) AS ae FROM access_lines GROUP BY 1)
        SELECT account, coalesce(pc, 0) AS pc, coalesce(ae, 0) AS ae
        FROM purchases FULL OUTER JOIN accesses USING (account)
        WHERE coalesce(pc, 0) + coalesce(ae, 0) > 0"""
    )
    con.execute(
        """CREATE OR REPLACE TEMP TABLE debits AS
        WITH purchases AS (SELECT brand, sum(pc) AS pc FROM pc_lines GROUP BY 1),
        accesses AS (SELECT brand, sum(earned) AS ae FROM access_lines GROUP BY 1)
        SELECT brand, coalesce(pc, 0) AS pc, coalesce(ae, 0) AS ae
        FROM purchases FULL OUTER JOIN accesses USING (brand)
        WHERE coalesce(pc, 0) + coalesce(ae, 0) > 0"""
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE leaves AS
        WITH before AS (
            SELECT account, arg_max(CAST(cumulative AS HUGEINT), epoch) AS cumulative
            FROM store.epoch_rewards WHERE epoch < {epoch} GROUP BY account
        )
        SELECT account, coalesce(b.cumulative, 0) + coalesce(e.pc, 0) + coalesce(e.ae, 0) AS cumulative
        FROM before b FULL OUTER JOIN earned e USING (account)"""
    )


def debits(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int, int]]:
    """Each brand's debit as (brand, from reserve: its accesses, from budget: its purchase cashback)."""
    rows = con.execute("SELECT brand, CAST(ae AS VARCHAR), CAST(pc AS VARCHAR) FROM debits ORDER BY brand").fetchall()
    return [(brand, int(ae), int(pc)) for brand, ae, pc in rows]


def leaves(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Every account's cumulative amount (the tree's leaves), by account."""
    rows = con.execute("SELECT account, CAST(cumulative AS VARCHAR) FROM leaves ORDER BY account").fetchall()
    return [(account, int(cumulative)) for account, cumulative in rows]


def store_rewards(con: duckdb.DuckDBPyConnection, epoch: int) -> None:
    """The epoch's carries, shortfalls, debits and rewards into the store."""
    con.execute(
        f"""INSERT INTO store.epoch_carries
        SELECT {epoch}, account, brand, CAST(pc AS VARCHAR) FROM carried ORDER BY account, brand"""
    )
    con.execute(
        f"""INSERT INTO store.epoch_shortfalls
        SELECT {epoch}, c.brand, CAST(sum(c.pc) AS VARCHAR), CAST(s.available AS VARCHAR), CAST(sum(c.pc) AS VARCHAR)
        FROM carried c JOIN short_budgets s USING (brand) GROUP BY c.brand, s.available"""
    )
    con.execute("DROP TABLE carried; DROP TABLE short; DROP TABLE short_budgets")
    con.execute(
        f"""INSERT INTO store.epoch_debits
        SELECT {epoch}, brand, CAST(pc AS VARCHAR), CAST(ae AS VARCHAR), CAST(pc + ae AS VARCHAR) FROM debits"""
    )
    con.execute(
        f"""INSERT INTO store.epoch_rewards
        SELECT {epoch}, e.account, CAST(e.pc AS VARCHAR), CAST(e.ae AS VARCHAR), CAST(e.pc + e.ae AS VARCHAR),
               CAST(l.cumulative AS VARCHAR)
        FROM earned e JOIN leaves l USING (account) ORDER BY e.account"""
    )


def purchases_hash(con: duckdb.DuckDBPyConnection) -> str:
    """sha256 over the covered purchases in id order (docs/epochs.md): one line per purchase,
    `id|customer_id|brand_id|amount|purchased_at in µs since 1970`, joined by newlines in chunks of
    65,536 ids; sha256 of each chunk, then sha256 of the chunks' hex digests concatenated."""
    chunks = con.execute(
        """SELECT sha256(string_agg(concat_ws('|', id, customer_id, brand_id, amount, epoch_us(purchased_at)),
                                    chr(10) ORDER BY id))
        FROM covered GROUP BY id // 65536 ORDER BY id // 65536"""
    ).fetchall()
    return "0x" + hashlib.sha256("".join(c for (c,) in chunks).encode()).hexdigest()


# -- the frames behaviour changes compare (app/analytics/behaviour.py) ----------------------------

_POINTS = "CAST({cumulative} // 1000000000000000000 AS BIGINT)"  # whole CASH, for points thresholds

# This epoch's scored customers with what behaviour.detect_changes needs, from the job's temp tables.
CURRENT_FRAME_SQL = f"""
SELECT s.customer_id, s.tier, s.segment, s.r, s.f, s.m,
       coalesce(spend.total, 0) AS cumulative_spend,
       coalesce({_POINTS.format(cumulative="l.cumulative")}, 0) AS cumulative_points
FROM scores s
LEFT JOIN (SELECT customer_id, sum(amount) AS total FROM p GROUP BY 1) spend USING (customer_id)
JOIN accounts a USING (customer_id)
LEFT JOIN leaves l ON l.account = a.account
"""


def previous_frame_sql(number: int, purchases_filter: str) -> str:
    """The previous epoch's frame, from what it stored."""
    return f"""
SELECT s.customer_id, s.tier, s.segment, s.r, s.f, s.m,
       coalesce(spend.total, 0) AS cumulative_spend,
       coalesce(points.points, 0) AS cumulative_points
FROM store.epoch_scores s
LEFT JOIN (
    SELECT customer_id, sum(amount) AS total FROM p WHERE {purchases_filter} GROUP BY customer_id
) spend USING (customer_id)
LEFT JOIN (
    SELECT c.customer_id, {_POINTS.format(cumulative="arg_max(CAST(r.cumulative AS HUGEINT), r.epoch)")} AS points
    FROM store.epoch_rewards r JOIN accounts c ON c.account = r.account
    WHERE r.epoch <= {number}
    GROUP BY c.customer_id
) points USING (customer_id)
WHERE s.epoch = {number}
"""
