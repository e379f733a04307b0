"""Benchmark: latency of a profile query returning 1,000 of 1,000,000 customers, on-chain record included, and its gas.

Runs its own anvil on a free port and the API in process (FastAPI's TestClient: the full request path,
validation, auth, services, chain and database, without a socket). Seeded: the same customers, consents
and queries every run.

    .venv/bin/python bench/access.py                      # 1,000,000 customers, 1,200 consenting, 20 queries
    .venv/bin/python bench/access.py --customers 100000   # a quicker look
"""

from __future__ import annotations

import argparse
import random
import socket
import sqlite3
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from eth_account import Account
from eth_utils import keccak
from fastapi.testclient import TestClient
from web3 import Web3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import db  # noqa: E402
from app.chain.anvil import start_anvil, stop_anvil  # noqa: E402
from app.chain.compiler import load_abis  # noqa: E402
from app.chain.deployment import ensure_deployed  # noqa: E402
from app.chain.keys import RoleKeys  # noqa: E402
from app.chain.transactions import Sender  # noqa: E402
from app.config import Settings  # noqa: E402
from app.domain import ALL_CATEGORIES, Purpose  # noqa: E402
from app.main import create_app  # noqa: E402

PRICE = 10**15  # CASH smallest units per access
CATEGORIES = ["contact", "purchases", "segment"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stamp(moment: datetime) -> str:
    """A timestamp as SQLModel writes it to SQLite."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def insert_customers(path: Path, total: int, consenting: list[str], rng: random.Random) -> list[int]:
    """`total` customers straight into SQLite (the consenting ones at random places); returns their ids."""
    slots = set(rng.sample(range(total), len(consenting)))
    queue = iter(consenting)
    now = stamp(datetime.now(UTC))
    con = sqlite3.connect(path)
    ids: list[int] = []
    rows = []
    for i in range(total):
        if i in slots:
            address = next(queue)
            ids.append(i + 1)
        else:
            address = "0x" + rng.randbytes(20).hex()
        rows.append(
            (i + 1, address, now, f"Person {i}", f"p{i}@example.com", f"010-{i:08d}", 1950 + i % 50, "x", "Seoul")
        )
    con.executemany(
        "INSERT INTO customers (id, address, created_at, name, email, phone, birth_year, gender, region) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    con.commit()
    con.close()
    return ids


def insert_purchases(path: Path, customer_ids: list[int], brand_id: int, rng: random.Random) -> None:
    con = sqlite3.connect(path)
    now = datetime.now(UTC)
    rows = [
        (cid, brand_id, f"o-{cid}-{k}", stamp(now - timedelta(days=rng.randint(1, 300))), rng.randint(1, 500) * 1000,
         "KRW", stamp(now))
        for cid in customer_ids
        for k in range(rng.randint(1, 4))
    ]  # fmt: skip
    con.executemany(
        "INSERT INTO purchases (customer_id, brand_id, external_id, purchased_at, amount, currency, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    con.commit()
    con.close()


def grant_all(w3: Web3, registry, brand: str, keys: list) -> None:  # type: ignore[no-untyped-def]
    """Each consenting customer grants with their own key, in direct transactions sent concurrently."""
    chain_id = w3.eth.chain_id
    base_fee = int(w3.eth.get_block("latest")["baseFeePerGas"])
    for account in keys:
        w3.provider.make_request("anvil_setBalance", [account.address, hex(10**18)])

    def send(account) -> bytes:  # type: ignore[no-untyped-def]
        terms = (account.address, brand, int(Purpose.MARKETING), ALL_CATEGORIES, 0, PRICE, b"\x01" * 32, b"\x02" * 32)
        tx = registry.functions.grant(terms).build_transaction(
            {"from": account.address, "chainId": chain_id, "nonce": 0, "gas": 200_000,
             "maxFeePerGas": 4 * base_fee + 10**9, "maxPriorityFeePerGas": 10**9}
        )  # fmt: skip
        return bytes(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))

    with ThreadPoolExecutor(max_workers=8) as pool:
        hashes = list(pool.map(send, keys))
    for tx_hash in hashes:
        assert w3.eth.wait_for_transaction_receipt(tx_hash, timeout=120)["status"] == 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--consenting", type=int, default=1_200)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--limit", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="bench-access-") as tmp:
        port = free_port()
        anvil = start_anvil(port)
        try:
            url = f"http://127.0.0.1:{port}"
            settings = Settings(environment="test", data_dir=Path(tmp), rpc_url=url, start_anvil=False)
            w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
            keys = RoleKeys.from_settings(settings)
            operator = keys.operator
            deployment, _ = ensure_deployed(w3, keys, settings.deployments_dir, challenge_window=5)
            db.migrate(settings)
            abis = load_abis()
            registry = w3.eth.contract(address=deployment.registry, abi=abis["ConsentRegistry"])
            distributor = w3.eth.contract(address=deployment.distributor, abi=abis["RewardDistributor"])
            brand_key = Account.from_key(keccak(text=f"bench-brand-{args.seed}"))
            w3.provider.make_request("anvil_setBalance", [brand_key.address, hex(10**20)])

            with TestClient(create_app(settings)) as client:
                admin = {"Authorization": f"Bearer {settings.admin_key.get_secret_value()}"}
                brand = client.post("/brands", json={"name": "Bench", "address": brand_key.address}, headers=admin)
                assert brand.status_code == 201, brand.text
                key = client.post(f"/brands/{brand.json()['id']}/keys", json={"label": "bench"}, headers=admin)
                headers = {"Authorization": f"Bearer {key.json()['key']}"}
                budget = PRICE * args.limit * (args.queries + 1)
                Sender(w3, operator).send(distributor.functions.fund(brand_key.address, budget, b"\x01" * 32))
                Sender(w3, brand_key).send(registry.functions.setAccessLimits((budget, 2**96 - 1)))

                t = time.perf_counter()
                keys = [
                    Account.from_key(keccak(text=f"bench-customer-{args.seed}-{i}")) for i in range(args.consenting)
                ]
                db_path = Path(settings.sqlalchemy_url.removeprefix("sqlite:///"))
                ids = insert_customers(db_path, args.customers, [k.address for k in keys], rng)
                insert_purchases(db_path, ids, brand.json()["id"], rng)
                took = time.perf_counter() - t
                print(f"{args.customers:,} customers ({args.consenting:,} consenting) inserted in {took:.1f} s")
                t = time.perf_counter()
                grant_all(w3, registry, brand_key.address, keys)
                print(f"{args.consenting:,} consents granted on chain in {time.perf_counter() - t:.1f} s")

                body = {"purpose": "marketing", "categories": CATEGORIES, "limit": args.limit}
                t = time.perf_counter()
                warm = client.post("/profiles", json=body, headers=headers)
                assert warm.status_code == 200, warm.text
                print(f"warm-up query (indexes the {args.consenting:,} grants first): {time.perf_counter() - t:.2f} s")

                latencies, gas = [], []
                for _ in range(args.queries):
                    t = time.perf_counter()
                    answer = client.post("/profiles", json=body, headers=headers)
                    latencies.append(time.perf_counter() - t)
                    assert answer.status_code == 200, answer.text
                    result = answer.json()
                    assert result["customers"] == args.limit, result["customers"]
                    receipt = w3.eth.get_transaction_receipt(result["tx_hash"])
                    gas.append(int(receipt["gasUsed"]))
        finally:
            stop_anvil(anvil)

    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms)
    p99 = (
        ms[min(len(ms) - 1, max(0, round(0.99 * len(ms)) - 1))]
        if len(ms) < 100
        else statistics.quantiles(ms, n=100)[98]
    )
    per_customer = statistics.mean(gas) / args.limit
    print()
    print(f"profile query, {args.limit:,} profiles of {args.customers:,} customers, on-chain record included")
    print(f"  queries            {len(ms)}")
    print(f"  latency p50        {p50:8.1f} ms")
    print(f"  latency p99        {p99:8.1f} ms   (of {len(ms)} queries: the slowest)")
    print(f"  latency min / max  {ms[0]:8.1f} / {ms[-1]:.1f} ms")
    print(f"  gas per batch      {statistics.mean(gas):,.0f}")
    print(f"  gas per customer   {per_customer:,.0f}   (batch gas / customers, base cost included)")
    print(f"total run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
