"""Benchmark: a full epoch over 10,000,000 purchases of 1,000,000 customers in the product's own store.

Prints per-step seconds and the epoch process's peak RSS, and beside them, measured in the same run:
RFM with plain pandas over the same rows (the baseline a user would write) and the gas of settling
the same epoch by one mint per customer. Not a test: it prints figures and PASS/MISS against goals.

    .venv/bin/python bench/epoch.py [--purchases 10000000] [--customers 1000000] [--brands 20]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AS_OF = datetime(2026, 7, 1, tzinfo=UTC)
SPAN_DAYS = 400  # purchases spread over this many days before AS_OF
UNITS = 10**18


def generate(settings, purchases: int, customers: int, brands: list[str]) -> float:
    """Seeded rows straight into the store's tables (DuckDB writes the SQLite file)."""
    from app import db
    from app.analytics.store import analytics

    db.migrate(settings)
    started = time.perf_counter()
    with analytics(settings) as con:
        con.execute(
            f"""INSERT INTO store.customers (id, address, created_at)
            SELECT i + 1, '0x' || lpad(lower(printf('%x', i + 4096)), 40, '0'), TIMESTAMP '2025-01-01'
            FROM range({customers}) t(i)"""
        )
        values = ", ".join(f"({i + 1}, 'Brand {i + 1}', '{a}', TIMESTAMP '2025-01-01')" for i, a in enumerate(brands))
        con.execute(f"INSERT INTO store.brands (id, name, address, created_at) VALUES {values}")
        # hash(i, seed) is DuckDB's deterministic 64-bit hash: the same rows on every run.
        con.execute(
            f"""INSERT INTO store.purchases (id, customer_id, brand_id, external_id, purchased_at, amount, currency,
                                             created_at)
            SELECT i + 1,
                   1 + hash(i, 1) % {customers},
                   1 + hash(i, 2) % {len(brands)},
                   'o' || i,
                   TIMESTAMP '{AS_OF:%Y-%m-%d}' - to_seconds(CAST(hash(i, 3) % ({SPAN_DAYS} * 86400) AS BIGINT)),
                   CAST(1000 + (hash(i, 4) % 200000) * (1 + hash(i, 5) % 5) AS BIGINT),
                   'KRW',
                   TIMESTAMP '2025-01-01'
            FROM range({purchases}) t(i)"""
        )
    return time.perf_counter() - started


def prepare_chain(settings, brands_keys) -> int:
    """Deploys, registers and funds the brands; returns the gas of one mint to a new holder."""
    from eth_account import Account
    from web3 import Web3

    from app.chain.deployment import ensure_deployed
    from app.chain.keys import RoleKeys
    from app.chain.transactions import Sender
    from tests import factories

    w3 = Web3(Web3.HTTPProvider(settings.rpc_url))
    keys = RoleKeys.from_settings(settings)
    operator = keys.operator
    d, _ = ensure_deployed(w3, keys, settings.deployments_dir, challenge_window=settings.challenge_window_seconds)
    token, registry, distributor = factories.contracts(w3, d)
    ops = Sender(w3, operator)
    for key in brands_keys:
        w3.provider.make_request("anvil_setBalance", [key.address, hex(10**20)])
        ops.send(registry.functions.registerBrand(key.address))
        budget = 10**15 * UNITS
        ops.send(distributor.functions.fund(key.address, budget, b"\x01" * 32))
    # The alternative to one root: a payment per customer. Measure a transfer to a new holder (whole tx
    # gas): a brand withdraws some budget, then pays one customer.
    payer = brands_keys[0]
    Sender(w3, payer).send(distributor.functions.withdraw(12345 * UNITS, payer.address))
    paid = Sender(w3, payer).send(token.functions.transfer(Account.create().address, 12345 * UNITS))
    return paid.gas_used


def run_epoch_child(settings_env: dict[str, str]) -> dict:
    """Runs the epoch in its own process so its peak RSS is its own (plus its analytics worker's)."""
    code = f"""
import json, resource, sys, time
sys.path.insert(0, {str(ROOT)!r})
from datetime import datetime, UTC
from app import db
from app.chain.gateway import ChainGateway
from app.config import get_settings
from app.analytics.store import stop_workers
from app.services.epochs import EpochRunner
marks = []
def progress(message):
    marks.append((message, time.perf_counter()))
settings = get_settings()
started = time.perf_counter()
outcome = EpochRunner(settings, db.get_engine(), ChainGateway(settings), progress=progress).run(
    datetime.fromisoformat({AS_OF.isoformat()!r}))
now = time.perf_counter()
ends = [t for _, t in marks[1:]] + [now]
steps = [(message, end - begin) for (message, begin), end in zip(marks, ends)]
e = outcome.epoch
stop_workers()  # the analytics ran in a worker process: its peak counts too (an upper bound: both peaks added)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({{"steps": steps, "total": now - started, "accounts": e.accounts, "tx": e.tx_hash,
                  "maxrss_kib": rss}}))
"""
    out = subprocess.run([sys.executable, "-c", code], env=settings_env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"epoch failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def pandas_baseline(settings) -> tuple[float, float, int]:
    """RFM the way a user would write it in pandas: (load seconds, compute seconds, peak RSS KiB of this process)."""
    import pandas as pd

    from app.analytics.rules import default_rules
    from app.analytics.store import analytics
    from app.audit.rederive import score_rfm_reference

    started = time.perf_counter()
    with analytics(settings) as con:
        frame = con.execute("SELECT customer_id, brand_id, purchased_at, amount FROM store.purchases").df()
    loaded = time.perf_counter()
    rules = default_rules()
    scores = score_rfm_reference(frame, as_of=AS_OF, rules=rules, scheme=rules.epochs.scheme)
    computed = time.perf_counter()
    assert isinstance(scores, pd.DataFrame | tuple)
    return loaded - started, computed - loaded, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--purchases", type=int, default=10_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--brands", type=int, default=20)
    args = parser.parse_args()

    from eth_account import Account
    from web3 import Web3

    from app.chain.anvil import start_anvil, stop_anvil
    from app.config import Settings
    from tests.conftest import free_port

    workdir = Path(tempfile.mkdtemp(prefix="bench-epoch-"))
    port = free_port()
    anvil = start_anvil(port, extra=["--gas-limit", "100000000"])
    try:
        env = {**os.environ, "DATA_DIR": str(workdir), "RPC_URL": f"http://127.0.0.1:{port}", "START_ANVIL": "false"}
        settings = Settings(data_dir=workdir, rpc_url=env["RPC_URL"], start_anvil=False)
        brand_keys = [Account.create() for _ in range(args.brands)]
        print(f"store: {settings.sqlalchemy_url}")
        seconds = generate(settings, args.purchases, args.customers, [k.address for k in brand_keys])
        size = (workdir / "ledger.db").stat().st_size / 2**20
        print(
            f"generated {args.purchases:,} purchases of {args.customers:,} customers, {args.brands} brands "
            f"in {seconds:.1f} s ({size:,.0f} MiB)"
        )
        mint_gas = prepare_chain(settings, brand_keys)

        epoch = run_epoch_child(env)
        w3 = Web3(Web3.HTTPProvider(settings.rpc_url))
        receipt = w3.eth.get_transaction_receipt(epoch["tx"])
        data = bytes(w3.eth.get_transaction(epoch["tx"])["input"])
        # Execution gas: what the contract spent, without the 21,000 base and the calldata bytes.
        publish_gas = int(receipt["gasUsed"]) - 21_000 - sum(4 if b == 0 else 16 for b in data)
        load_s, pandas_s, pandas_rss = pandas_baseline(settings)
    finally:
        stop_anvil(anvil)

    rss_gib = epoch["maxrss_kib"] / 2**20
    rfm_s = next(s for m, s in epoch["steps"] if "RFM scores" in m)
    print("\nepoch steps:")
    for message, step_seconds in epoch["steps"]:
        print(f"  {step_seconds:7.2f} s  {message}")
    print(f"\n{'figure':<48} {'measured':>16} {'goal':>14}  result")

    def row(name: str, measured: str, goal: str, ok: bool | None) -> None:
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        print(f"{name:<48} {measured:>16} {goal:>14}  {verdict}")

    row("whole epoch (open → proofs stored)", f"{epoch['total']:.1f} s", "≤ 30 s", epoch["total"] <= 30)
    row("epoch process peak RSS", f"{rss_gib:.2f} GiB", "≤ 3 GiB", rss_gib <= 3)
    row("RFM step (DuckDB over the SQLite store)", f"{rfm_s:.2f} s", "", None)
    row("RFM in plain pandas, compute only", f"{pandas_s:.2f} s", "", None)
    row("  pandas: loading the rows first", f"{load_s:.2f} s", "", None)
    row("RFM step vs pandas compute (ratio)", f"{rfm_s / pandas_s:.2f}x", "≤ 1.00x", rfm_s <= pandas_s)
    publish_goal = 80_000 + 6_000 * args.brands
    row(
        f"settlement: one publishEpoch ({args.brands} brands debited)",
        f"{publish_gas:,} gas",
        f"≤ {publish_goal:,}",
        publish_gas <= publish_goal,
    )
    row("per-customer minting instead", f"{epoch['accounts']:,} tx", "", None)
    row("  at one mint per customer (measured)", f"{mint_gas * epoch['accounts']:,} gas", "", None)
    row("  ratio mint-per-customer / one root", f"{mint_gas * epoch['accounts'] / publish_gas:,.0f}x", "", None)
    print(f"\n(pandas process peak RSS {pandas_rss / 2**20:.2f} GiB; work folder {workdir})")


if __name__ == "__main__":
    main()
