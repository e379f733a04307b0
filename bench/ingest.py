"""Benchmark of bulk ingestion: streams seeded purchases as JSON lines into a real API process; speed and memory.

Usage: .venv/bin/python bench/ingest.py [--sizes 100000 1000000] [--runs 1] [--max-items 3]

For each size a fresh API process (uvicorn, its own temporary DATA_DIR and SQLite file) is started, one brand is
put in its database, and the rows are generated on the fly (never held in memory) and uploaded through httpx as a
streamed body. Printed per size: seconds, rows per second and the server's peak resident memory (VmHWM, checked
against psutil samples every 50 ms). Goals: the peaks of the smallest and largest size differ by less than
100 MiB (the upload is streamed, not held), and 1,000,000 rows load in under 60 s.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
ADMIN_KEY = "bench-admin-key"
BRAND_ADDRESS = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc"
CATEGORIES = ["shoes", "bags", "outerwear", "tops", "bottoms", "beauty", "home", "kids"]
STYLES = ["casual", "formal", "street", "sporty", "minimal", "vintage"]
CHUNK_LINES = 500
GOAL_SECONDS = 60.0
GOAL_PEAK_SPREAD_MIB = 100.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def purchases(n: int, seed: int, brand_id: int, max_items: int, customers: int = 50_000) -> Iterator[bytes]:
    """`n` purchases as JSON lines, in chunks of CHUNK_LINES lines; seeded, generated as they are sent."""
    rng = random.Random(seed)
    pool = [f"0x{rng.getrandbits(160):040x}" for _ in range(min(customers, n))]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    lines: list[str] = []
    for k in range(n):
        at = (start + timedelta(seconds=rng.randrange(365 * 86_400))).strftime("%Y-%m-%dT%H:%M:%SZ")
        items = []
        amount = 0
        for _ in range(rng.randint(1, max_items) if max_items else 0):
            quantity, price = rng.randint(1, 3), rng.randrange(1_000, 300_000, 100)
            amount += quantity * price
            items.append(
                f'{{"item_id":"sku-{rng.randrange(20_000)}","category":"{rng.choice(CATEGORIES)}",'
                f'"style":"{rng.choice(STYLES)}","quantity":{quantity},"unit_price":{price}}}'
            )
        if not items:
            amount = rng.randrange(1_000, 900_000, 100)
        lines.append(
            f'{{"customer":"{rng.choice(pool)}","brand":{brand_id},"external_id":"o{k:09d}",'
            f'"purchased_at":"{at}","amount":{amount},"items":[{",".join(items)}]}}\n'
        )
        if len(lines) == CHUNK_LINES:
            yield "".join(lines).encode()
            lines = []
    if lines:
        yield "".join(lines).encode()


class Server:
    """The API in its own process, with its own data folder."""

    def __init__(self, data_dir: Path):
        self.port = free_port()
        env = dict(
            os.environ,
            DATA_DIR=str(data_dir),
            ENVIRONMENT="test",
            START_ANVIL="false",
            RPC_URL="http://127.0.0.1:9",
            ADMIN_KEY=ADMIN_KEY,
            API_PORT=str(self.port),
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            cwd=REPO,
            env=env,
        )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the API process ended at start")
            try:
                httpx.get(f"{self.url}/openapi.json", timeout=2).raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("the API did not start within 60 s")

    def peak_rss(self) -> int:
        """VmHWM: the process's peak resident set size, in bytes."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return 0

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class RssSampler(threading.Thread):
    """Samples a process's RSS every 50 ms and keeps the largest."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            self.done.wait(0.05)


def add_brand(data_dir: Path) -> int:
    """Puts one brand straight into the database (registering it through the API would need the chain)."""
    with sqlite3.connect(data_dir / "ledger.db") as db:
        now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        cursor = db.execute(
            "INSERT INTO brands (name, address, created_at) VALUES (?, ?, ?)", ("Bench", BRAND_ADDRESS, now)
        )
        return int(cursor.lastrowid or 0)


def run_once(n: int, seed: int, max_items: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as folder:
        data_dir = Path(folder)
        server = Server(data_dir)
        try:
            brand_id = add_brand(data_dir)
            baseline = psutil.Process(server.process.pid).memory_info().rss
            sampler = RssSampler(server.process.pid)
            sampler.start()
            started = time.perf_counter()
            response = httpx.post(
                f"{server.url}/ingest/purchases/bulk",
                content=purchases(n, seed, brand_id, max_items),
                headers={"Content-Type": "application/x-ndjson", "Authorization": f"Bearer {ADMIN_KEY}"},
                timeout=None,
            )
            seconds = time.perf_counter() - started
            sampler.done.set()
            sampler.join()
            report = response.json()
            if response.status_code != 200 or report["accepted"] != n:
                raise RuntimeError(f"upload of {n} rows: {response.status_code} {str(report)[:500]}")
            return {
                "seconds": seconds,
                "rows_per_second": n / seconds,
                "peak_mib": max(server.peak_rss(), sampler.peak) / 2**20,
                "baseline_mib": baseline / 2**20,
                "db_mib": sum(p.stat().st_size for p in data_dir.glob("ledger.db*")) / 2**20,
            }
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=1, help="runs per size; medians are printed")
    parser.add_argument("--max-items", type=int, default=3, help="items per purchase: 1..N (0: none)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    results: dict[int, dict[str, float]] = {}
    for n in args.sizes:
        runs = [run_once(n, args.seed + r, args.max_items) for r in range(args.runs)]
        results[n] = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        r = results[n]
        print(
            f"{n:>9,} purchases: {r['seconds']:7.1f} s  {r['rows_per_second']:9,.0f} rows/s  "
            f"peak RSS {r['peak_mib']:6.1f} MiB (idle {r['baseline_mib']:.1f})  database {r['db_mib']:.0f} MiB"
            + (f"  [median of {args.runs}]" if args.runs > 1 else ""),
            flush=True,
        )

    print()
    smallest, largest = min(results), max(results)
    spread = results[largest]["peak_mib"] - results[smallest]["peak_mib"]
    verdict = "PASS" if spread < GOAL_PEAK_SPREAD_MIB else "MISS"
    print(
        f"peak RSS {largest:,} vs {smallest:,} rows: {spread:+.1f} MiB  (goal < {GOAL_PEAK_SPREAD_MIB:.0f})  {verdict}"
    )
    if 1_000_000 in results:
        seconds = results[1_000_000]["seconds"]
        verdict = "PASS" if seconds < GOAL_SECONDS else "MISS"
        print(f"1,000,000 rows in {seconds:.1f} s  (goal < {GOAL_SECONDS:.0f} s)  {verdict}")


if __name__ == "__main__":
    main()
