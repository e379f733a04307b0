"""Monetary offers as an epoch reward source: extra cashback and fixed bonuses, exact, capped by each offer's budget.

Inputs are relations the epoch job (or a test) provides:
- `offers`: offer_id, brand_id, kind ('cashback_bps' | 'fixed_bonus'), bps, bonus_units, budget_units,
  valid_from, valid_until (timestamps, UTC naive), spent_before (units paid by earlier epochs);
- `deliveries`: offer_id, customer_id, delivered_at — only customers the offer reached (and, for a
  rule that reads data, whose consent covered it at delivery) ever earn from it;
- `purchases`: id, customer_id, brand_id, purchased_at, amount (won) — the purchases this epoch covers;
- `paid_before`: offer_id, customer_id — customers a fixed bonus was already paid to.

A purchase qualifies for an offer when it is at the offer's brand, by a delivered customer, at or
after the delivery and inside [valid_from, valid_until). Extra cashback pays amount × bps × scale on
every qualifying purchase; a fixed bonus pays bonus_units once per customer, on the first qualifying
purchase. The budget is spent in the order (purchased_at, purchase id): lines are paid in full while
the remaining budget lasts, the line that crosses it gets what is left, later lines nothing.
"""

from __future__ import annotations

from app.analytics.rfm import quote_relation

OFFER_COLUMNS = (
    "offer_id",
    "brand_id",
    "kind",
    "bps",
    "bonus_units",
    "budget_units",
    "valid_from",
    "valid_until",
    "spent_before",
)
DELIVERY_COLUMNS = ("offer_id", "customer_id", "delivered_at")
PURCHASE_COLUMNS = ("id", "customer_id", "brand_id", "purchased_at", "amount")
PAID_COLUMNS = ("offer_id", "customer_id")
LINE_COLUMNS = ["offer_id", "customer_id", "purchase_id", "owed", "paid"]
KINDS = ("cashback_bps", "fixed_bonus")


def offer_lines_sql(offers: str, deliveries: str, purchases: str, paid_before: str, *, scale: int) -> str:
    """One row per qualifying (offer, purchase): what the offer owes for it and what its budget pays.

    `scale` is token units per won-basis-point (cash_units_per_won / 10,000), so extra cashback is
    exact in HUGEINT; columns LINE_COLUMNS, ordered by offer, purchased_at, purchase id.
    """
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive integer, got {scale!r}")
    o, d, p, b = (quote_relation(r) for r in (offers, deliveries, purchases, paid_before))
    return f"""WITH qualifying AS (
    SELECT o.offer_id, o.kind, p.customer_id, p.id AS purchase_id, p.purchased_at,
           CASE o.kind
               WHEN 'cashback_bps' THEN CAST(p.amount AS HUGEINT) * o.bps * {scale}
               ELSE CAST(o.bonus_units AS HUGEINT)
           END AS owed,
           row_number() OVER (PARTITION BY o.offer_id, p.customer_id ORDER BY p.purchased_at, p.id) AS nth
    FROM {o} AS o
    JOIN {d} AS d ON d.offer_id = o.offer_id
    JOIN {p} AS p ON p.customer_id = d.customer_id AND p.brand_id = o.brand_id
    WHERE p.purchased_at >= d.delivered_at AND p.purchased_at >= o.valid_from AND p.purchased_at < o.valid_until
      AND o.kind IN ('cashback_bps', 'fixed_bonus')
),
lines AS (
    SELECT q.* FROM qualifying AS q
    WHERE q.kind = 'cashback_bps'
       OR (q.nth = 1 AND NOT EXISTS (
               SELECT 1 FROM {b} AS x WHERE x.offer_id = q.offer_id AND x.customer_id = q.customer_id))
),
running AS (
    SELECT l.*, o.budget_units - o.spent_before AS remaining,
           sum(l.owed) OVER (PARTITION BY l.offer_id ORDER BY l.purchased_at, l.purchase_id
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS through
    FROM lines AS l JOIN {o} AS o USING (offer_id)
)
SELECT offer_id, customer_id, purchase_id, owed,
       CAST(greatest(0, least(owed, remaining - (through - owed))) AS HUGEINT) AS paid
FROM running
ORDER BY offer_id, purchased_at, purchase_id"""
