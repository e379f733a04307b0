"""Net amounts for scoring: the epoch job's SQL (rfm.net_of_refunds_sql) and the audit's pandas-free twin
(rederive.net_of_refunds) agree on random purchases and refunds, and both leave out a purchase refunded in full."""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from app.analytics.rfm import net_of_refunds_sql
from app.audit.records import PurchaseRecord, RefundRecord
from app.audit.rederive import net_of_refunds

T0 = datetime(2026, 1, 1)
AS_OF = T0 + timedelta(days=30)


def sql_net(purchases: list[PurchaseRecord], refunds: list[RefundRecord]) -> list[tuple[int, int]]:
    con = duckdb.connect()
    p = pd.DataFrame(
        {
            "id": pd.Series([x.id for x in purchases], dtype="int64"),
            "customer_id": pd.Series([x.customer_id for x in purchases], dtype="int64"),
            "brand_id": pd.Series([x.brand_id for x in purchases], dtype="int64"),
            "purchased_at": pd.Series([x.purchased_at for x in purchases], dtype="datetime64[us]"),
            "amount": pd.Series([x.amount for x in purchases], dtype="int64"),
        }
    )
    r = pd.DataFrame(
        {
            "purchase_id": pd.Series([x.purchase_id for x in refunds], dtype="int64"),
            "refunded_at": pd.Series([x.refunded_at for x in refunds], dtype="datetime64[us]"),
            "amount": pd.Series([x.amount for x in refunds], dtype="int64"),
        }
    )
    con.register("purchases", p)
    con.register("refunds", r)
    rows = con.sql(f"{net_of_refunds_sql('purchases', 'refunds', as_of=AS_OF)} ORDER BY id").fetchall()
    return [(int(row[0]), int(row[4])) for row in rows]


def record(n: int, amount: int) -> PurchaseRecord:
    return PurchaseRecord(n, n % 3, 1, f"0x{n:040x}", "0x" + "b" * 40, amount, T0 + timedelta(days=n % 20))


def test_partial_full_and_late_refunds() -> None:
    purchases = [record(1, 100), record(2, 50), record(3, 0), record(4, 70)]
    refunds = [
        RefundRecord(1, 1, 30, T0 + timedelta(days=2)),
        RefundRecord(2, 2, 50, T0 + timedelta(days=3)),  # in full: left out
        RefundRecord(3, 4, 70, AS_OF + timedelta(seconds=1)),  # after as_of: not applied
    ]
    expected = [(1, 70), (3, 0), (4, 70)]
    assert sql_net(purchases, refunds) == expected
    assert [(p.id, p.amount) for p in net_of_refunds(purchases, refunds, as_of=AS_OF)] == expected


@settings(max_examples=60, deadline=None)
@given(
    amounts=st.lists(st.integers(min_value=0, max_value=10**10), min_size=1, max_size=12),
    cuts=st.lists(st.tuples(st.integers(0, 11), st.integers(1, 10**10), st.integers(0, 40)), max_size=20),
)
def test_sql_and_audit_agree(amounts: list[int], cuts: list[tuple[int, int, int]]) -> None:
    purchases = [record(n + 1, a) for n, a in enumerate(amounts)]
    left = {p.id: p.amount for p in purchases}
    refunds = []
    for k, (index, amount, day) in enumerate(cuts):
        pid = index % len(purchases) + 1
        amount = min(amount, left[pid])
        if amount == 0:
            continue
        left[pid] -= amount
        refunds.append(RefundRecord(k + 1, pid, amount, T0 + timedelta(days=day)))
    audit = [(p.id, p.amount) for p in net_of_refunds(purchases, refunds, as_of=AS_OF)]
    assert sql_net(purchases, refunds) == audit
