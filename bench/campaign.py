"""Benchmark: assign and evaluate one campaign over 1,000,000 customers and 10,000,000 purchases.

Prints, as medians of --runs, the seconds to assign every customer to test or holdout (keccak of the
salt and address, as the contract computes it) and to evaluate the campaign (per-member outcomes in
DuckDB, then z-test, Welch, CUPED, SRM), beside baselines measured in the same run: a bare loop over
the same addresses, the bare scan of the campaign brand's purchases, and the same outcomes in plain
pandas. Peak RSS of this process at the end. Not a test: figures and PASS/MISS against the goals
(≤ 5 s each, peak RSS ≤ 1.5 GiB).

    .venv/bin/python bench/campaign.py [--customers 1000000] [--purchases 10000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

START = datetime(2026, 5, 1, tzinfo=UTC)
BRANDS = 20


def median_seconds(action, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    import duckdb
    import numpy as np
    import pandas as pd

    from app.analytics import experiments as ex
    from app.analytics.campaigns import Window, evaluate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--purchases", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    con = duckdb.connect(config={"threads": 2, "memory_limit": "1GB"})
    started = time.perf_counter()
    con.execute(
        f"""CREATE TABLE purchases AS
        SELECT 1 + hash(i, 1) % {args.customers} AS customer_id, 1 + hash(i, 2) % {BRANDS} AS brand_id,
               TIMESTAMP '2026-06-01' - to_seconds(CAST(hash(i, 3) % (60 * 86400) AS BIGINT)) AS purchased_at,
               CAST(1000 + (hash(i, 4) % 200000) AS BIGINT) AS amount
        FROM range({args.purchases}) t(i)"""
    )
    addresses = [f"0x{i + 4096:040x}" for i in range(1, args.customers + 1)]
    took = time.perf_counter() - started
    print(f"generated {args.purchases:,} purchases of {args.customers:,} customers in {took:.1f} s")

    salt = b"\x5a" * 32
    window = Window(
        brand_id=1, starts_at=START, ends_at=START + timedelta(days=14), conversion_days=7, holdout_bps=1_000
    )

    bare_loop, _ = median_seconds(lambda: [bytes.fromhex(a[2:]) for a in addresses], args.runs)
    assign_s, holdout = median_seconds(
        lambda: np.fromiter((ex.in_holdout(salt, a, 1_000) for a in addresses), bool), args.runs
    )
    con.register("members_df", pd.DataFrame({"customer_id": np.arange(1, args.customers + 1), "holdout": holdout}))
    con.execute("CREATE TABLE members AS SELECT * FROM members_df")
    con.unregister("members_df")

    scan_s, _ = median_seconds(
        lambda: con.sql("SELECT count(*), sum(amount) FROM purchases WHERE brand_id = 1").fetchall(), args.runs
    )
    evaluate_s, result = median_seconds(lambda: evaluate(con, "purchases", "members", window), args.runs)

    def pandas_outcomes():
        frame = con.sql("SELECT * FROM purchases WHERE brand_id = 1").df()
        start = pd.Timestamp(START.replace(tzinfo=None))
        inside = frame[(frame.purchased_at >= start) & (frame.purchased_at < start + pd.Timedelta(days=14))]
        return inside.groupby("customer_id")["amount"].sum()

    pandas_s, _ = median_seconds(pandas_outcomes, args.runs)
    peak_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    def row(name: str, seconds: float, ratio: float, goal: str = "") -> None:
        print(f"{name:<44}{seconds:>10.2f}{ratio:>10.1f}  {goal}")

    print(f"\n{'figure':<44}{'median s':>10}{'ratio':>10}  goal")
    row("bare loop over the addresses", bare_loop, 1)
    row("assign (keccak per customer)", assign_s, assign_s / bare_loop, f"≤ 5 s {verdict(assign_s <= 5)}")
    row("bare scan of the brand purchases", scan_s, 1)
    row("pandas: load + filter + group (baseline)", pandas_s, pandas_s / scan_s)
    row("evaluate (DuckDB outcomes + statistics)", evaluate_s, evaluate_s / scan_s, f"≤ 5 s {verdict(evaluate_s <= 5)}")
    print(f"{'peak RSS (GiB)':<44}{peak_gib:>10.2f}{'':>10}  ≤ 1.5 GiB {verdict(peak_gib <= 1.5)}")
    c = result.conversion
    srm = result.sample_ratio.p_value
    print(f"\nresult: test {c.test_rate:.4f} vs holdout {c.holdout_rate:.4f}, p = {c.p_value:.3f}, SRM p = {srm:.3f}")


if __name__ == "__main__":
    main()
