"""Benchmark: assign and evaluate one campaign over 1,000,000 customers and 10,000,000 purchases; deliver
100,000 targeted offers with their on-chain access records.

Part `evaluate`: prints, as medians of --runs, the seconds to assign every customer to test or holdout
(keccak of the salt and address, as the contract computes it) and to evaluate the campaign (per-member
outcomes in DuckDB, then z-test, Welch, CUPED, SRM), beside baselines measured in the same run: a bare
loop over the same addresses, the bare scan of the campaign brand's purchases, and the same outcomes in
plain pandas. Peak RSS of this process at the end. Goals: ≤ 5 s each, peak RSS ≤ 1.5 GiB.

Part `deliver`: on its own anvil, --deliveries customers consent to a brand (set-up, not measured), then a
campaign's offer reaches all of them through the service (`deliver_in_batches`: consent check on the
mirror, one recordAccess batch of 1,000 per call by the recorder, Delivery rows), against a baseline in the
same run: bare recordAccess batches of the same customers and prices sent straight by the recorder. Wall
time, gas per customer, and the ratios. Not a test: figures.

    .venv/bin/python bench/campaign.py [--part evaluate|deliver|all] [--customers 1000000]
        [--purchases 10000000] [--runs 3] [--deliveries 100000]
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--purchases", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--part", choices=["evaluate", "deliver", "all"], default="all")
    parser.add_argument("--deliveries", type=int, default=100_000)
    args = parser.parse_args()
    if args.part in ("evaluate", "all"):
        evaluate_part(args)
    if args.part in ("deliver", "all"):
        deliver_part(args.deliveries)


def evaluate_part(args: argparse.Namespace) -> None:
    import duckdb
    import numpy as np
    import pandas as pd

    from app.analytics import experiments as ex
    from app.analytics.campaigns import Window, evaluate

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


PRICE = 10**15  # CASH units per access: what each customer asks
GRANT_GAS = 200_000
GRANTS_PER_BLOCK = 200  # set-up: consents mined per block


def _rpc_batch(url: str, calls: list[tuple[str, list]]) -> list:  # type: ignore[type-arg]
    """One JSON-RPC batch request (set-up only: thousands of calls per round trip)."""
    import requests

    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    answer = requests.post(url, json=body, timeout=600).json()
    errors = [a["error"] for a in answer if "error" in a]
    if errors:
        raise RuntimeError(f"{len(errors)} calls failed, e.g. {errors[0]}")
    return [a["result"] for a in sorted(answer, key=lambda a: a["id"])]


def deliver_part(n: int) -> None:
    """100,000 targeted offers, access records on chain, against bare recordAccess batches of the same customers."""
    import random
    import tempfile

    from eth_account import Account
    from eth_utils import keccak
    from sqlmodel import Session
    from web3 import Web3

    from app import db
    from app.chain.anvil import start_anvil, stop_anvil
    from app.chain.compiler import load_abis
    from app.chain.deployment import ensure_deployed
    from app.chain.gateway import ChainGateway
    from app.chain.indexer import Indexer
    from app.chain.keys import RoleKeys
    from app.chain.transactions import Sender
    from app.config import Settings
    from app.domain import ALL_CATEGORIES, Category, Purpose
    from app.models.accounts import Brand
    from app.models.crm import Campaign, Offer, Rule
    from app.services.deliveries import DELIVERY_BATCH, deliver_in_batches
    from bench.access import free_port, insert_customers

    rng = random.Random(12)
    with tempfile.TemporaryDirectory(prefix="bench-deliver-") as tmp:
        port = free_port()
        # Set-up at scale: no signatures for the consents (auto-impersonation), no fees, big blocks while granting.
        # Few states kept: anvil holds each kept block's whole state, which at 100,000 consenting customers
        # and the default 2,048 states grew past 16 GiB during the set-up.
        anvil = start_anvil(
            port, extra=["--auto-impersonate", "--base-fee", "0", "--gas-limit", "2000000000"], history_states=16
        )
        try:
            url = f"http://127.0.0.1:{port}"
            settings = Settings(environment="test", data_dir=Path(tmp), rpc_url=url, start_anvil=False)
            w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 600}))
            keys = RoleKeys.from_settings(settings)
            deployment, _ = ensure_deployed(w3, keys, settings.deployments_dir, challenge_window=5)
            db.migrate(settings)
            engine = db.make_engine(settings.sqlalchemy_url)
            abis = load_abis()
            registry = w3.eth.contract(address=deployment.registry, abi=abis["ConsentRegistry"])
            distributor = w3.eth.contract(address=deployment.distributor, abi=abis["RewardDistributor"])
            brand_key = Account.from_key(keccak(text="bench-campaign-brand"))
            ops = Sender(w3, keys.operator)
            ops.send(registry.functions.registerBrand(brand_key.address))
            budget = 4 * PRICE * n
            ops.send(distributor.functions.fund(brand_key.address, budget, b"\x01" * 32))
            Sender(w3, brand_key).send(registry.functions.setAccessLimits((budget, 2**96 - 1)))

            t = time.perf_counter()
            customers = [Web3.to_checksum_address(keccak(text=f"bench-campaign-customer-{i}")[:20]) for i in range(n)]
            path = Path(settings.sqlalchemy_url.removeprefix("sqlite:///"))
            ids = insert_customers(path, n, customers, rng)
            mask = int(Category.SEGMENT)
            w3.provider.make_request("evm_setAutomine", [False])  # type: ignore[arg-type]
            for start in range(0, n, GRANTS_PER_BLOCK):
                calls = []
                for address in customers[start : start + GRANTS_PER_BLOCK]:
                    terms = (address, brand_key.address, int(Purpose.MARKETING), ALL_CATEGORIES, 0, PRICE,
                             b"\x01" * 32, b"\x02" * 32)  # fmt: skip
                    data = registry.functions.grant(terms)._encode_transaction_data()
                    tx = {
                        "from": address,
                        "to": registry.address,
                        "data": data,
                        "gas": hex(GRANT_GAS),
                        "gasPrice": "0x0",
                    }
                    calls.append(("eth_sendTransaction", [tx]))
                _rpc_batch(url, calls)
                _rpc_batch(url, [("evm_mine", [])])
            w3.provider.make_request("evm_setAutomine", [True])  # type: ignore[arg-type]
            print(f"set-up: {n:,} consents granted on chain in {time.perf_counter() - t:.0f} s")
            with Session(engine) as session:
                brand = Brand(name="Bench", address=brand_key.address)
                session.add(brand)
                session.commit()
                session.refresh(brand)
                brand_id = brand.id
            gateway = ChainGateway(settings)
            indexer = Indexer(settings, engine=engine, gateway=gateway)
            mirrored = time.perf_counter()
            indexer.catch_up()
            print(f"set-up: {n:,} consents mirrored by the indexer in {time.perf_counter() - mirrored:.0f} s")
            print(f"set-up: {n:,} customers consenting on chain and mirrored in {time.perf_counter() - t:.0f} s")

            with Session(engine, expire_on_commit=False) as session:
                now = datetime.now(UTC)
                offer = Offer(brand_id=brand_id, name="Bench offer", kind="message", terms="t", body="b",
                              valid_from=now - timedelta(days=1), valid_until=now + timedelta(days=30))  # fmt: skip
                session.add(offer)
                session.commit()
                rule = Rule(brand_id=brand_id, offer_id=offer.id, name="Bench rule", audience="{}",
                            purpose=int(Purpose.MARKETING), categories=mask, channel="inbox",
                            trigger="date_window")  # fmt: skip
                session.add(rule)
                session.commit()
                campaign = Campaign(brand_id=brand_id, offer_id=offer.id, rule_id=rule.id, name="Bench",
                                    holdout_bps=1, metric="conversion", starts_at=now, ends_at=now + timedelta(days=1),
                                    campaign_key="0x" + "00" * 31 + "01", salt="0x" + "11" * 32, params_hash="",
                                    commitment="")  # fmt: skip
                session.add(campaign)
                session.commit()

                # Baseline: the same batches as bare recordAccess calls by the recorder, nothing else.
                recorder = Sender(w3, keys.recorder)
                t = time.perf_counter()
                bare_gas = 0
                for start in range(0, n, DELIVERY_BATCH):
                    chunk = customers[start : start + DELIVERY_BATCH]
                    sent = recorder.send(
                        registry.functions.recordAccess(
                            brand_key.address,
                            int(Purpose.MARKETING),
                            mask,
                            chunk,
                            [PRICE] * len(chunk),
                            keccak(text=f"bare-{start}"),
                        )  # fmt: skip
                    )
                    bare_gas += sent.gas_used
                bare_s = time.perf_counter() - t
                indexer.catch_up()  # the baseline's accesses mirrored before deliver is timed (set-up, not measured)
                indexer.close()

                t = time.perf_counter()
                report = deliver_in_batches(session, settings, gateway, rule=rule, offer=offer, customer_ids=ids,
                                            campaign=campaign)  # fmt: skip
                service_s = time.perf_counter() - t
            engine.dispose()
        finally:
            stop_anvil(anvil)

    delivered = len(report.delivered)
    assert delivered == n, f"{delivered} delivered of {n}; not covered {len(report.not_covered)}"
    batches = -(-n // DELIVERY_BATCH)
    print(f"\ndelivery of {n:,} targeted offers, access recorded on chain ({batches} batches of {DELIVERY_BATCH:,})")
    print(f"{'figure':<52}{'wall s':>10}{'gas / customer':>16}{'offers / s':>12}")
    print(f"{'baseline: bare recordAccess batches':<52}{bare_s:>10.1f}{bare_gas / n:>16,.0f}{n / bare_s:>12,.0f}")
    print(f"{'deliver (consent check, recordAccess, Delivery rows)':<52}{service_s:>10.1f}"
          f"{report.gas_used / n:>16,.0f}{n / service_s:>12,.0f}")  # fmt: skip
    print(f"{'ratio deliver / baseline':<52}{service_s / bare_s:>10.2f}{report.gas_used / bare_gas:>16.3f}")
    print(f"paid to customers for the accesses: {report.cost:,} CASH units ({report.cost // n:,} each)")


if __name__ == "__main__":
    main()
