"""The auditor's verifier: re-derives the ledger from the chain's events and the records each epoch commits to."""

from __future__ import annotations

import hashlib
import json
import tempfile
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from eth_utils import event_abi_to_log_topic, keccak
from sqlalchemy import Engine, select
from sqlmodel import Session
from web3 import Web3

from app import db
from app.analytics.rfm import rfm_sql, utc_naive
from app.analytics.rules import ProgrammeRules, default_rules, rules_hash
from app.chain.gateway import ChainGateway
from app.chain.indexer import (
    Indexer,
    decode_claim,
    decode_debits,
    decode_epoch,
    mirror_dump,
    with_published_debits,
)
from app.chain.merkle import build_tree
from app.config import Settings
from app.models.accounts import Brand, Customer
from app.models.epochs import Epoch, EpochReward, EpochScore
from app.models.mirror import MIRROR_TABLES, IndexerCursor
from app.models.purchases import Purchase
from app.services import audit_voids
from app.services.audit_confirmations import check_confirmations
from app.services.audit_campaigns import check_campaigns
from app.services.audit_proofs import check_proof_files
from app.services.audit_settlement import carry_shortfalls, live_publications
from app.services.reward_trees import leaves_for

REPORT_VERSION = 1
LOG_CHUNK_BLOCKS = 10_000
HASH_CHUNK_ROWS = 65_536  # purchases per chunk of the committed purchases_hash (app/services/epochs.py)
DEPLOYMENT_SEED = 0  # CASH reaches the distributor only from the vault, at finalisation (docs/contracts.md)
MAX_BALANCE_CALLS = 10_000  # token holders whose balanceOf is asked at the audited block
MAX_EVIDENCE = 10  # examples listed per discrepancy
ZERO_ADDRESS = "0x" + "00" * 20
_CONTRACTS = ("CashbackToken", "ConsentRegistry", "RewardDistributor")
_EPOCH_US = datetime(1970, 1, 1)

OK, FAILED = "ok", "failed"


# -- the report's parts ---------------------------------------------------------------------------


@dataclass
class Discrepancy:
    """One thing that does not hold, with the record it concerns and the evidence."""

    check: str
    record: Any
    expected: Any
    found: Any
    evidence: str
    epoch: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"check": self.check}
        if self.epoch is not None:
            out["epoch"] = self.epoch
        out |= {
            "record": _jsonable(self.record),
            "expected": _jsonable(self.expected),
            "found": _jsonable(self.found),
            "evidence": self.evidence,
        }
        return out


@dataclass
class CheckResult:
    """One of the checks: its verdict, its figures and what failed."""

    name: str
    title: str
    summary: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def status(self) -> str:
        return OK if not self.discrepancies else FAILED

    def fail(self, record: Any, expected: Any, found: Any, evidence: str, *, epoch: int | None = None) -> None:
        self.discrepancies.append(Discrepancy(self.name, record, expected, found, evidence, epoch))

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.name,
            "title": self.title,
            "status": self.status,
            "summary": self.summary,
            "figures": _jsonable(self.figures),
            "discrepancies": [d.to_dict() for d in self.discrepancies],
        }


# -- reading the chain ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainEvent:
    """A decoded event of one of the programme's contracts, where the chain put it."""

    contract: str
    name: str
    args: dict[str, Any]
    block: int
    log_index: int
    tx_hash: str


class ChainReader:
    """Reads the contracts' events from the deployment block with eth_getLogs, and state at one block."""

    def __init__(self, gateway: ChainGateway):
        self.gateway = gateway
        self.w3 = gateway.w3
        self.deployment = gateway.deployment
        self._times: dict[int, int] = {}

    def head(self) -> int:
        latest = int(self.gateway.guard(lambda: self.w3.eth.block_number))
        return max(latest - max(self.gateway.settings.confirmations, 0), self.deployment.block)

    def events(self, to_block: int) -> list[ChainEvent]:
        decoders: dict[tuple[str, bytes], tuple[str, Any]] = {}
        for name in _CONTRACTS:
            bound = self.gateway.contract(name)  # type: ignore[arg-type]
            for item in bound.abi:
                if item.get("type") == "event" and not item.get("anonymous") and "name" in item:
                    topic = bytes(event_abi_to_log_topic(item))  # type: ignore[arg-type]
                    decoders[(bound.address.lower(), topic)] = (
                        name,
                        getattr(bound.events, str(item["name"]))(),  # type: ignore[typeddict-item]
                    )
        addresses = [
            Web3.to_checksum_address(a)
            for a in (self.deployment.token, self.deployment.registry, self.deployment.distributor)
        ]
        logs: list[Any] = []
        for start in range(self.deployment.block, to_block + 1, LOG_CHUNK_BLOCKS):
            end = min(start + LOG_CHUNK_BLOCKS - 1, to_block)
            query = {"fromBlock": start, "toBlock": end, "address": addresses}
            logs.extend(self.gateway.guard(lambda q=query: self.w3.eth.get_logs(q)))  # type: ignore[misc]
        out = []
        for entry in sorted(logs, key=lambda e: (int(e["blockNumber"]), int(e["logIndex"]))):
            topics = entry["topics"]
            found = decoders.get((str(entry["address"]).lower(), bytes(topics[0]))) if topics else None
            if found is None:
                continue
            contract, event = found
            processed = event.process_log(entry)
            out.append(
                ChainEvent(
                    contract=contract,
                    name=str(processed["event"]),
                    args=with_published_debits(
                        self.w3,
                        self.gateway.distributor,
                        str(processed["event"]),
                        dict(processed["args"]),
                        entry["transactionHash"],
                    ),
                    block=int(entry["blockNumber"]),
                    log_index=int(entry["logIndex"]),
                    tx_hash=Web3.to_hex(entry["transactionHash"]).lower(),
                )
            )
        return out

    def block_time(self, number: int) -> int:
        if number not in self._times:
            block = self.gateway.guard(lambda: self.w3.eth.get_block(number))
            self._times[number] = int(block["timestamp"])
        return self._times[number]

    def call(self, contract: str, function: str, *args: Any, block: int) -> Any:
        fn = getattr(self.gateway.contract(contract).functions, function)(*args)  # type: ignore[arg-type]
        return self.gateway.call(fn, block=block)


# -- off-chain records ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseRecord:
    id: int
    customer_id: int
    brand_id: int
    customer: str  # lower-case address
    brand: str  # lower-case address
    amount: int  # won
    purchased_at: datetime  # naive UTC


def load_purchases(engine: Engine) -> list[PurchaseRecord]:
    """Every purchase with its customer's and brand's address, in id order (the shape epochs commit to)."""
    query = (
        select(  # type: ignore[call-overload]
            Purchase.id,
            Purchase.customer_id,
            Purchase.brand_id,
            Customer.address,
            Brand.address,
            Purchase.amount,
            Purchase.purchased_at,
        )
        .join(Customer, Customer.id == Purchase.customer_id)  # type: ignore[arg-type]
        .join(Brand, Brand.id == Purchase.brand_id)  # type: ignore[arg-type]
        .order_by(Purchase.id)  # type: ignore[arg-type]
    )
    with Session(engine) as session:
        return [
            PurchaseRecord(int(i), int(c), int(b), ca.lower(), ba.lower(), int(a), utc_naive(t))
            for i, c, b, ca, ba, a, t in session.execute(query).all()
        ]


def epoch_us(moment: datetime) -> int:
    """Microseconds since 1970-01-01 of a naive UTC datetime (DuckDB's epoch_us)."""
    return (moment - _EPOCH_US) // timedelta(microseconds=1)


def purchases_hash(purchases: Iterable[PurchaseRecord]) -> str:
    """The committed purchases_hash, written independently of the epoch job's DuckDB query.

    One line per purchase, `id|customer_id|brand_id|amount|epoch_us(purchased_at)`; per chunk of
    65,536 ids, sha256 of its lines joined by newlines in id order; then sha256 of the chunks' hex
    digests concatenated in chunk order. All hex lower-case; 0x-prefixed (docs/epochs.md).
    """
    chunks: dict[int, list[str]] = defaultdict(list)
    for p in sorted(purchases, key=lambda p: p.id):
        chunks[p.id // HASH_CHUNK_ROWS].append(
            f"{p.id}|{p.customer_id}|{p.brand_id}|{p.amount}|{epoch_us(p.purchased_at)}"
        )
    digests = [hashlib.sha256("\n".join(chunks[c]).encode()).hexdigest() for c in sorted(chunks)]
    return "0x" + hashlib.sha256("".join(digests).encode()).hexdigest()


def covered_purchases(
    purchases: Iterable[PurchaseRecord],
    *,
    max_purchase_id: int,
    as_of: datetime,
    previous_max_purchase_id: int,
    previous_as_of: datetime | None,
) -> list[PurchaseRecord]:
    """Purchases an epoch covers: up to its id and time, minus those an earlier epoch covered."""
    out = []
    for p in purchases:
        if p.id > max_purchase_id or p.purchased_at > as_of:
            continue
        if previous_as_of is not None and p.id <= previous_max_purchase_id and p.purchased_at <= previous_as_of:
            continue
        out.append(p)
    return out


def tier_rates(
    purchases: list[PurchaseRecord], *, max_purchase_id: int, as_of: datetime, scheme: str, rules: ProgrammeRules
) -> dict[int, int]:
    """customer_id -> cashback bps of the tier graded at `as_of` over the purchases up to `max_purchase_id`.

    Scored with app/analytics/rfm.py's SQL in a private in-memory DuckDB, never from epoch_scores.
    """
    rows = [p for p in purchases if p.id <= max_purchase_id]
    if not rows:
        return {}
    frame = pd.DataFrame(
        {
            "customer_id": [p.customer_id for p in rows],
            "brand_id": [p.brand_id for p in rows],
            "purchased_at": [p.purchased_at for p in rows],
            "amount": [p.amount for p in rows],
        }
    )
    con = duckdb.connect()
    try:
        con.register("audit_source", frame)
        con.execute(
            "CREATE TEMP TABLE audit_purchases AS SELECT CAST(customer_id AS BIGINT) AS customer_id, "
            "CAST(brand_id AS BIGINT) AS brand_id, CAST(purchased_at AS TIMESTAMP) AS purchased_at, "
            "CAST(amount AS BIGINT) AS amount FROM audit_source"
        )
        sql = rfm_sql(
            "audit_purchases",
            as_of=as_of,
            window_days=rules.window_days(scheme),  # type: ignore[arg-type]
            rules=rules,
            scheme=scheme,  # type: ignore[arg-type]
        )
        return {int(c): int(b) for c, b in con.execute(f"SELECT customer_id, cashback_bps FROM ({sql})").fetchall()}
    finally:
        con.close()


def merkle_root(settings: Settings, number: int, cumulative: dict[str, int]) -> tuple[str, int]:
    """(0x root, leaf count) of epoch `number`'s salted tree over the accounts with a positive cumulative amount."""
    leaves = leaves_for(settings, number, [(a, c) for a, c in cumulative.items() if c > 0])
    return "0x" + build_tree(leaves).root.hex(), len(leaves)


def _parse_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")


# -- 1. consent coverage (a pure replay) ----------------------------------------------------------


def check_consents(result: CheckResult, events: list[ChainEvent], block_time: Callable[[int], int]) -> None:
    """Replays registry events in chain order; every AccessRecorded customer must be covered at that moment."""
    consents: dict[tuple[str, str, int], dict[str, int]] = {}
    brands: dict[str, bool] = {}
    batches = accesses = value = 0
    kinds: dict[str, int] = defaultdict(int)
    for e in events:
        if e.contract != "ConsentRegistry":
            continue
        a = e.args
        if e.name in ("BrandRegistered", "BrandDeregistered"):
            brands[a["brand"].lower()] = e.name == "BrandRegistered"
        elif e.name in ("ConsentGranted", "ConsentNarrowed", "ConsentRevoked"):
            kinds[e.name] += 1
            key = (a["customer"].lower(), a["brand"].lower(), int(a["purpose"]))
            if e.name == "ConsentGranted":
                consents[key] = {
                    "categories": int(a["categories"]),
                    "expires_at": int(a["expiresAt"]),
                    "price": int(a["price"]),
                    "granted_block": e.block,
                }
            elif e.name == "ConsentNarrowed" and key in consents:
                consents[key] |= {"categories": int(a["categories"]), "expires_at": int(a["expiresAt"])}
            elif e.name == "ConsentNarrowed":
                result.fail(_where(e), "a consent in force", None, "a narrowing of a consent never granted")
            else:  # a revoke with no consent in force is legitimate: it bars grants signed before it
                consents.pop(key, None)
        elif e.name == "AccessRecorded":
            batches += 1
            brand, purpose, categories = a["brand"].lower(), int(a["purpose"]), int(a["categories"])
            customers, prices = list(a["customers"]), [int(p) for p in a["prices"]]
            if not brands.get(brand, False):
                result.fail(
                    _where(e, brand=a["brand"]),
                    "a registered brand",
                    "not registered",
                    f"brand {a['brand']} was not registered at block {e.block}",
                )
            if categories == 0:
                result.fail(_where(e), "categories != 0", 0, "an access to no category")
            if len(customers) != len(prices) or sum(prices) != int(a["total"]):
                result.fail(
                    _where(e), str(sum(prices)), str(a["total"]), "the batch total is not the sum of its prices"
                )
            now = block_time(e.block)
            for position, (customer, price) in enumerate(zip(customers, prices, strict=False)):
                accesses += 1
                value += price
                record = _where(e, position=position, customer=customer, brand=a["brand"], purpose=purpose)
                c = consents.get((customer.lower(), brand, purpose))
                if c is None:
                    result.fail(
                        record,
                        "a consent in force",
                        None,
                        f"no consent of {customer} to {a['brand']} for purpose {purpose} at block {e.block}",
                    )
                    continue
                if c["categories"] & categories != categories:
                    result.fail(
                        record,
                        f"categories within {c['categories']:#x}",
                        f"{categories:#x}",
                        f"categories {categories:#x} asked, consent (granted at block "
                        f"{c['granted_block']}) covers only {c['categories']:#x}",
                    )
                if c["expires_at"] and c["expires_at"] <= now:
                    result.fail(
                        record,
                        f"expiry after {now}",
                        c["expires_at"],
                        f"consent expired at {c['expires_at']}, block {e.block} is at {now}",
                    )
                if price != c["price"]:
                    result.fail(
                        record,
                        str(c["price"]),
                        str(price),
                        "the price recorded differs from the consent's price at that moment",
                    )
    result.figures = {
        "access_batches": batches,
        "customer_accesses": accesses,
        "access_value": value,
        "grants": kinds["ConsentGranted"],
        "narrowings": kinds["ConsentNarrowed"],
        "revocations": kinds["ConsentRevoked"],
        "consents_in_force": len(consents),
        "brands_registered": sum(brands.values()),
    }
    result.summary = (
        f"{accesses} customer accesses in {batches} batches replayed against {sum(kinds.values())} consent "
        f"events: {len(result.discrepancies)} not covered"
    )


# -- the verifier ---------------------------------------------------------------------------------


@dataclass
class EpochFigures:
    epoch: int
    block: int
    as_of: str
    purchases: int
    accounts: int
    purchase_cashback: int
    access_earnings: int
    total: int
    reproduced: bool


class Verifier:
    """Runs the checks against one block of the chain and the store; returns the JSON report."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        gateway: ChainGateway,
        *,
        rules: ProgrammeRules | None = None,
    ):
        self.settings = settings
        self.engine = engine
        self.gateway = gateway
        self.rules = rules or default_rules()

    def run(self) -> dict[str, Any]:
        chain = ChainReader(self.gateway)
        head = chain.head()
        events = chain.events(head)
        d = chain.deployment
        vault = str(chain.call("RewardDistributor", "vault", block=head)).lower()
        self._latest_cumulative: dict[str, int] = {}
        checks = [
            self._guarded(
                "consent",
                "Every recorded access was covered by consent at its block",
                lambda c: check_consents(c, events, chain.block_time),
            ),
            self._guarded(
                "epoch_root",
                "Every epoch root reproduces from its committed records and the rules",
                lambda c: self._check_epochs(c, events),
            ),
            self._guarded(
                "proofs",
                "Every stored proof reaches its epoch's on-chain root; the tree files hold the committed leaves",
                lambda c: check_proof_files(c, self.settings, self.engine, events),
            ),
            self._guarded(
                "money",
                "Money balances: budgets, published totals, token supply, claims",
                lambda c: self._check_money(c, chain, events, head, vault),
            ),
            self._guarded(
                "mirror",
                "The mirror tables equal a fresh re-index of the chain",
                lambda c: self._check_mirror(c, chain),
            ),
            self._guarded(
                "confirmations",
                "Every consent change the store holds as in force is confirmed by the chain",
                lambda c: check_confirmations(c, self.engine, events, head),
            ),
            self._guarded(
                "campaigns",
                "Every revealed campaign opens its commitment, re-derives its arms and results, and kept its holdout",
                lambda c: check_campaigns(c, self.engine, self.gateway),
            ),
        ]
        counts: dict[str, int] = defaultdict(int)
        for e in events:
            counts[e.name] += 1
        return {
            "version": REPORT_VERSION,
            "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "ok": all(c.status == OK for c in checks),
            "chain": {
                "chain_id": self.gateway.chain_id,
                "audited_block": head,
                "deployment_block": d.block,
                "token": d.token,
                "registry": d.registry,
                "distributor": d.distributor,
                "vault": Web3.to_checksum_address(vault),
                "events": dict(sorted(counts.items())),
            },
            "rules_hash": rules_hash(self.rules),
            "discrepancies": sum(len(c.discrepancies) for c in checks),
            "checks": [c.to_dict() for c in checks],
        }

    def _guarded(self, name: str, title: str, body: Callable[[CheckResult], None]) -> CheckResult:
        # A check that cannot finish is a failed check with its reason, never a missing one.
        result = CheckResult(name, title)
        try:
            body(result)
        except Exception as exc:  # noqa: BLE001 - reported, not swallowed
            message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            result.fail(
                {"check": name},
                "the check completes",
                "it stopped",
                f"could not complete: {message} ({traceback.format_exc(limit=3).splitlines()[-1]})",
            )
        return result

    # -- 2. epoch roots ---------------------------------------------------------------------

    def _check_epochs(self, result: CheckResult, events: list[ChainEvent]) -> None:
        published = [(e, decode_epoch(e.args)) for e in live_publications(events)]
        accesses = [e for e in events if e.name == "AccessRecorded"]
        carry: dict[tuple[str, str], int] = {}  # purchase cashback a short brand could not pay yet
        with Session(self.engine) as session:
            rows = {r.number: r for r in session.scalars(select(Epoch))}
        purchases = load_purchases(self.engine)
        all_voids = audit_voids.load_voids(self.engine)
        shipped = rules_hash(self.rules)
        cumulative: dict[str, int] = {}
        previous: dict[str, Any] | None = None  # the previous epoch's manifest
        broken_since: int | None = None  # first epoch that did not reproduce (its cumulative carries on)
        figures: list[EpochFigures] = []
        deployment_block = self.gateway.deployment.block
        for expected_number, (event, (number, root, commitment, total, debits)) in enumerate(published, start=1):
            where = {"epoch": number, "block": event.block, "log_index": event.log_index, "tx_hash": event.tx_hash}
            before = len(result.discrepancies)

            def fail(record: Any, expected: Any, found: Any, evidence: str, n: int = number) -> None:
                result.fail(record, expected, found, evidence, epoch=n)

            if number != expected_number:
                fail(where, expected_number, number, "epochs are not published in order 1, 2, 3 ...")
            row = rows.get(number)
            if row is None or not row.manifest:
                fail(where, "the committed manifest", None, f"the store holds no manifest for epoch {number}")
                broken_since = broken_since or number
                previous = None
                continue
            found_commitment = "0x" + keccak(text=row.manifest).hex()
            if found_commitment != commitment:
                fail(
                    where | {"field": "commitment"},
                    commitment,
                    found_commitment,
                    "keccak256 of the stored manifest is not the commitment published on chain",
                )
            m = json.loads(row.manifest)
            if m.get("rules_hash") != shipped:
                fail(
                    where | {"field": "rules_hash"},
                    shipped,
                    m.get("rules_hash"),
                    "the epoch was computed under other rules than the shipped programme.toml: refusing to "
                    "recompute it",
                )
                broken_since = broken_since or number
                previous = m
                continue
            as_of = _parse_iso(m["as_of"])
            assert as_of is not None
            previous_as_of = _parse_iso(m["period_start"])
            self._continuity(fail, where, m, previous, deployment_block, event.block)

            # Voids the epoch applied (committed by voids_hash): those purchases are neither scored nor paid.
            applied = audit_voids.applied(all_voids, m)
            if "voids_hash" in m and audit_voids.voids_hash(applied) != m["voids_hash"]:
                fail(
                    where | {"field": "voids_hash", "voids": len(applied)},
                    m["voids_hash"],
                    audit_voids.voids_hash(applied),
                    "the purchase voids the epoch applied are not the voids the store holds",
                )
            voided = {v.purchase_id for v in applied}
            previously_voided = {v.purchase_id for v in audit_voids.applied(all_voids, previous)}
            covered = covered_purchases(
                [p for p in purchases if p.id not in voided],
                max_purchase_id=int(m["max_purchase_id"]),
                as_of=as_of,
                previous_max_purchase_id=int(m["previous_max_purchase_id"]),
                previous_as_of=previous_as_of,
            )
            recomputed_hash = purchases_hash(covered)

            # Rates: the tier graded at the previous epoch's end, rescored here from the purchases.
            rates = (
                tier_rates(
                    [p for p in purchases if p.id not in previously_voided],
                    max_purchase_id=int(previous["max_purchase_id"]),
                    as_of=_parse_iso(previous["as_of"]),  # type: ignore[arg-type]
                    scheme=previous["scheme"],
                    rules=self.rules,
                )
                if previous is not None and number > 1
                else {}
            )
            base_bps = self.rules.tiers[-1].cashback_bps
            units = self.rules.epochs.cash_units_per_won
            spend: dict[tuple[str, str, int], int] = defaultdict(int)
            for p in covered:
                spend[(p.customer, p.brand, rates.get(p.customer_id, base_bps))] += p.amount
            lines: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
            for (account, brand, bps), won in spend.items():
                lines[(account, brand)][0] += won * bps * units // 10_000
            for e in accesses:
                if int(m["from_block"]) <= e.block <= int(m["to_block"]):
                    for customer, price in zip(e.args["customers"], e.args["prices"], strict=False):
                        lines[(customer.lower(), e.args["brand"].lower())][1] += int(price)
            carry = carry_shortfalls(lines, carry, m.get("shortfalls", []), lambda *a, at=where: fail(at, *a))
            lines = {k: v for k, v in lines.items() if v[0] + v[1] > 0}  # type: ignore[assignment]
            brand_debits: dict[str, int] = defaultdict(int)
            earned: dict[str, list[int]] = defaultdict(lambda: [0, 0])
            for (account, brand), (pc, ae) in lines.items():
                brand_debits[brand] += pc + ae
                earned[account][0] += pc
                earned[account][1] += ae
            for account, (pc, ae) in earned.items():
                cumulative[account] = cumulative.get(account, 0) + pc + ae
            recomputed_root, leaves = merkle_root(self.settings, number, cumulative)
            recomputed_total = sum(brand_debits.values())
            recomputed_debits = sorted(brand_debits.items())

            if recomputed_hash != m["purchases_hash"]:
                fail(
                    where | {"field": "purchases_hash", "covered_purchases": len(covered)},
                    m["purchases_hash"],
                    recomputed_hash,
                    self._purchase_evidence(number, covered, earned),
                )
            if recomputed_root != root:
                carried = f"; cumulative amounts carry epoch {broken_since}'s discrepancy" if broken_since else ""
                fail(
                    where | {"field": "root"},
                    root,
                    recomputed_root,
                    "the Merkle root over the recomputed cumulative amounts is not the published root"
                    + carried
                    + self._reward_evidence(number, earned, rates),
                )
            if recomputed_total != total or str(recomputed_total) != m.get("total"):
                fail(
                    where | {"field": "total"},
                    str(total),
                    str(recomputed_total),
                    f"recomputed total {recomputed_total}; published {total}, manifest {m.get('total')}",
                )
            published_debits = sorted((b.lower(), a) for b, a in debits)
            manifest_debits = [(d["brand"].lower(), int(d["amount"])) for d in m.get("debits", [])]
            if recomputed_debits != published_debits or recomputed_debits != manifest_debits:
                fail(
                    where | {"field": "debits"},
                    _debits(published_debits),
                    _debits(recomputed_debits),
                    "the per-brand debits recomputed differ from the event's (or the manifest's)",
                )
            if leaves != m.get("accounts"):
                fail(
                    where | {"field": "accounts"},
                    m.get("accounts"),
                    leaves,
                    "the number of accounts with a positive cumulative amount differs from the manifest",
                )
            if row.root and row.root != root:
                fail(where | {"field": "stored root"}, root, row.root, "the store's epochs row names another root")

            reproduced = len(result.discrepancies) == before
            if not reproduced:
                broken_since = broken_since or number
            figures.append(
                EpochFigures(
                    epoch=number,
                    block=event.block,
                    as_of=m["as_of"],
                    purchases=len(covered),
                    accounts=leaves,
                    purchase_cashback=sum(v[0] for v in earned.values()),
                    access_earnings=sum(v[1] for v in earned.values()),
                    total=total,
                    reproduced=reproduced,
                )
            )
            previous = m
        unpublished = sorted(n for n in rows if n > len(published))
        self._latest_cumulative = cumulative
        result.figures = {
            "epochs": [f.__dict__ for f in figures],
            "published": len(published),
            "unpublished_in_store": unpublished,
            "rules_hash": shipped,
        }
        result.summary = (
            f"{len(published)} published epochs recomputed from the purchases, the rules and the chain's "
            f"accesses: {sum(f.reproduced for f in figures)} reproduced bit for bit"
        )

    @staticmethod
    def _continuity(
        fail: Callable[..., None],
        where: dict[str, Any],
        m: dict[str, Any],
        previous: dict[str, Any] | None,
        deployment_block: int,
        published_block: int,
    ) -> None:
        """The manifest's ranges follow the previous epoch's without gap or overlap."""
        expected_from = int(previous["to_block"]) + 1 if previous else deployment_block
        checks = [
            ("from_block", expected_from, int(m["from_block"])),
            ("period_start", previous["as_of"] if previous else None, m["period_start"]),
            (
                "previous_max_purchase_id",
                int(previous["max_purchase_id"]) if previous else 0,
                int(m["previous_max_purchase_id"]),
            ),
        ]
        for name, expected, found in checks:
            if expected != found:
                fail(
                    where | {"field": name},
                    expected,
                    found,
                    f"the manifest's {name} does not follow the previous epoch's",
                )
        if int(m["to_block"]) >= published_block:
            fail(
                where | {"field": "to_block"},
                f"< {published_block}",
                int(m["to_block"]),
                "the epoch claims accesses from blocks at or after its own publication",
            )

    def _purchase_evidence(self, number: int, covered: list[PurchaseRecord], earned: dict[str, list[int]]) -> str:
        """Which accounts' purchase cashback moved, against what the operator stored when computing."""
        with Session(self.engine) as session:
            stored = {
                r.account: r.purchase_cashback
                for r in session.scalars(select(EpochReward).where(EpochReward.epoch == number))  # type: ignore[arg-type]
            }
        moved = sorted(
            a for a in set(stored) | {a for a, v in earned.items() if v[0]} if stored.get(a, 0) != earned.get(a, [0])[0]
        )
        ids = [p.id for p in covered]
        span = f"ids {ids[0]}..{ids[-1]}" if ids else "none"
        text = (
            f"the purchases table no longer hashes to the committed purchases_hash of epoch {number} "
            f"({len(covered)} covered purchases, {span}): a covered purchase was edited, added or removed"
        )
        if moved:
            parts = []
            for account in moved[:MAX_EVIDENCE]:
                own = [p for p in covered if p.customer == account]
                listing = (
                    ", ".join(
                        f"purchase {p.id} ({p.amount} won at {p.purchased_at:%Y-%m-%d %H:%M})"
                        for p in own[:MAX_EVIDENCE]
                    )
                    or "no covered purchase now"
                )
                parts.append(
                    f"account {account}: purchase cashback from the records now {earned.get(account, [0])[0]}, "
                    f"when computed {stored.get(account, 0)} ({listing})"
                )
            text += "; " + "; ".join(parts)
        return text

    def _reward_evidence(self, number: int, earned: dict[str, list[int]], rates: dict[int, int]) -> str:
        """Accounts and tiers that differ from the operator's stored rows (evidence only, never input)."""
        with Session(self.engine) as session:
            stored = {
                r.account: r.earned
                for r in session.scalars(select(EpochReward).where(EpochReward.epoch == number))  # type: ignore[arg-type]
            }
            scores = {
                s.customer_id: s.cashback_bps
                for s in session.scalars(select(EpochScore).where(EpochScore.epoch == number - 1))  # type: ignore[arg-type]
            }
        accounts = sorted(a for a in set(stored) | set(earned) if stored.get(a, 0) != sum(earned.get(a, [0, 0])))
        tiers = sorted(c for c in set(scores) | set(rates) if scores.get(c) != rates.get(c)) if number > 1 else []
        parts = [
            f"account {a} earned {sum(earned.get(a, [0, 0]))} recomputed, {stored.get(a, 0)} stored"
            for a in accounts[:MAX_EVIDENCE]
        ] + [
            f"customer #{c} rate {rates.get(c)} bps rescored, {scores.get(c)} bps stored" for c in tiers[:MAX_EVIDENCE]
        ]
        return ("; " + "; ".join(parts)) if parts else ""

    # -- 3. money ---------------------------------------------------------------------------

    def _check_money(
        self, result: CheckResult, chain: ChainReader, events: list[ChainEvent], head: int, vault: str
    ) -> None:
        distributor = chain.deployment.distributor.lower()
        deposits: dict[str, int] = defaultdict(int)
        withdrawals: dict[str, int] = defaultdict(int)
        debits: dict[str, int] = defaultdict(int)
        totals = 0
        claims: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # account -> [sum of amounts, last cumulative]
        balances: dict[str, int] = defaultdict(int)
        mints = burns = 0
        into_distributor = from_vault_to_distributor = out_of_distributor = 0
        into_vault = 0
        funded = finalized = 0
        reserved: dict[str, int] = defaultdict(int)
        live = {(e.block, e.log_index) for e in live_publications(events)}
        for e in events:
            a = e.args
            if e.name in ("BudgetDeposited", "BudgetFunded"):
                deposits[a["brand"].lower()] += int(a["amount"])
                funded += int(a["amount"]) if e.name == "BudgetFunded" else 0
            elif e.name in ("BudgetWithdrawn", "RetiredBudgetReturned"):
                withdrawals[a["brand"].lower()] += int(a["amount"])
            elif e.name == "BudgetReserved":
                reserved[a["brand"].lower()] += int(a["amount"])
            elif e.name == "ReserveReleased":
                reserved[a["brand"].lower()] -= int(a["amount"])
            elif e.name == "EpochFinalized":
                finalized += int(a["total"])
            elif e.name == "EpochPublished" and (e.block, e.log_index) in live:  # a vetoed one restored all
                number, _, _, total, pairs = decode_epoch(a)
                if sum(amount for _, amount in pairs) != total:
                    result.fail(
                        _where(e, epoch=number),
                        str(sum(x for _, x in pairs)),
                        str(total),
                        "the event's total is not the sum of its debits",
                    )
                totals += total
                for brand, amount in pairs:
                    debits[brand.lower()] += amount
                for brand, from_reserve, _ in decode_debits(a):
                    reserved[brand.lower()] -= from_reserve
            elif e.name == "Claimed":
                account, amount, cumulative = decode_claim(a)
                c = claims[account.lower()]
                c[0] += amount
                if cumulative - amount != c[1]:
                    result.fail(
                        _where(e, account=account),
                        str(c[1] + amount),
                        str(cumulative),
                        "a claim's cumulative amount does not follow the account's earlier claims",
                    )
                c[1] = cumulative
            elif e.name == "Transfer":
                sender, recipient, amount = a["from"].lower(), a["to"].lower(), int(a["value"])
                if sender == ZERO_ADDRESS:
                    mints += amount
                else:
                    balances[sender] -= amount
                if recipient == ZERO_ADDRESS:
                    burns += amount
                else:
                    balances[recipient] += amount
                if recipient == distributor:
                    into_distributor += amount
                    if sender == vault:
                        from_vault_to_distributor += amount
                if sender == distributor:
                    out_of_distributor += amount
                if recipient == vault:
                    into_vault += amount

        # Brands: deposits = withdrawals + debits + remaining budget.
        brands_rows = []
        budgets_total = 0
        for brand in sorted(set(deposits) | set(withdrawals) | set(debits)):
            budget = int(chain.call("RewardDistributor", "budgetOf", Web3.to_checksum_address(brand), block=head))
            budgets_total += budget
            row = {
                "brand": Web3.to_checksum_address(brand),
                "deposited": deposits[brand],
                "withdrawn": withdrawals[brand],
                "debited": debits[brand],
                "remaining": budget,
            }
            brands_rows.append(row)
            if deposits[brand] != withdrawals[brand] + debits[brand] + budget:
                result.fail(
                    {"brand": row["brand"]},
                    str(deposits[brand]),
                    str(withdrawals[brand] + debits[brand] + budget),
                    f"deposits {deposits[brand]} != withdrawals {withdrawals[brand]} + debits "
                    f"{debits[brand]} + budgetOf {budget} at block {head}",
                )
            on_reserve = int(chain.call("RewardDistributor", "reservedOf", row["brand"], block=head))
            row["reserved"] = on_reserve
            if on_reserve != reserved[brand]:
                result.fail(
                    {"brand": row["brand"], "field": "reserved"},
                    str(reserved[brand]),
                    str(on_reserve),
                    "reservedOf differs from the reserves recorded accesses took minus what epochs settled",
                )
            if on_reserve > budget:
                result.fail(
                    {"brand": row["brand"], "field": "reserved"},
                    f"<= {budget}",
                    str(on_reserve),
                    "the brand's reserve exceeds its budget: recorded accesses could not all be settled",
                )

        # Published totals = claimed + claimable. The distributor holds exactly the released epoch totals
        # minus the claims, plus what reached it otherwise: the deployment's 1-unit seed and any direct
        # ERC-20 transfer (a "donation" nobody can claim). Those are counted from the Transfer events.
        distributor_balance = int(
            chain.call("CashbackToken", "balanceOf", Web3.to_checksum_address(distributor), block=head)
        )
        claimed_total = sum(c[0] for c in claims.values())
        outside = into_distributor - from_vault_to_distributor  # seed + donations
        donations = outside - DEPLOYMENT_SEED
        claimable = distributor_balance - outside
        allocated = int(chain.call("RewardDistributor", "totalAllocated", block=head))
        # Only finalised epochs reach the distributor; a pending one's total stays in the vault.
        pending = totals - finalized
        if finalized != claimed_total + claimable:
            result.fail(
                {"contract": "RewardDistributor"},
                str(finalized),
                str(claimed_total + claimable),
                f"finalised totals {finalized} != claimed {claimed_total} + claimable {claimable} "
                f"(distributor balance {distributor_balance} minus {outside} seed and donations)",
            )
        if from_vault_to_distributor != finalized:
            result.fail(
                {"contract": "BudgetVault"},
                str(finalized),
                str(from_vault_to_distributor),
                "the vault did not release exactly the finalised epoch totals to the distributor",
            )
        if out_of_distributor != claimed_total:
            result.fail(
                {"contract": "RewardDistributor"},
                str(claimed_total),
                str(out_of_distributor),
                "tokens left the distributor other than by claims",
            )
        if allocated != finalized:
            result.fail(
                {"contract": "RewardDistributor", "field": "totalAllocated"},
                str(finalized),
                str(allocated),
                "totalAllocated() differs from the sum of EpochFinalized totals",
            )
        if donations < 0:
            result.fail(
                {"contract": "RewardDistributor"},
                f">= {DEPLOYMENT_SEED}",
                str(outside),
                "the deployment seed never reached the distributor",
            )
        vault_balance = int(chain.call("CashbackToken", "balanceOf", Web3.to_checksum_address(vault), block=head))
        vault_donations = into_vault - sum(deposits.values())
        if vault_balance != budgets_total + pending + vault_donations:
            result.fail(
                {"contract": "BudgetVault"},
                str(budgets_total + pending + vault_donations),
                str(vault_balance),
                f"the vault holds {vault_balance}, budgets add up to {budgets_total} plus {pending} of a pending "
                f"epoch plus {vault_donations} transferred in directly",
            )
        # Money is only created by funding (the only mint), and all of it is somewhere: claimed, allocated
        # and unclaimed, in a pending epoch, in a budget, or withdrawn (and returned) to its brand.
        total_funded = int(chain.call("RewardDistributor", "totalFunded", block=head))
        if not total_funded == funded == mints:
            result.fail(
                {"contract": "RewardDistributor", "field": "totalFunded"},
                str(funded),
                str(total_funded),
                f"BudgetFunded events add up to {funded}, totalFunded() says {total_funded}, CASH minted {mints}",
            )
        paid_in, paid_out = sum(deposits.values()), sum(withdrawals.values())
        if paid_in != claimed_total + claimable + pending + budgets_total + paid_out:
            result.fail(
                {"contract": "RewardDistributor", "field": "funded"},
                str(paid_in),
                str(claimed_total + claimable + pending + budgets_total + paid_out),
                f"funded and deposited {paid_in} != claimed {claimed_total} + allocated unclaimed {claimable} + "
                f"pending {pending} + remaining budgets {budgets_total} + withdrawn {paid_out}",
            )

        # Token: supply = mints - burns, and every holder's balance is what the transfers leave it.
        supply = int(chain.call("CashbackToken", "totalSupply", block=head))
        if supply != mints - burns:
            result.fail(
                {"contract": "CashbackToken", "field": "totalSupply"},
                str(mints - burns),
                str(supply),
                f"totalSupply at block {head} is not mints {mints} minus burns {burns}",
            )
        holders = sorted(a for a, b in balances.items() if b != 0 or a in (distributor, vault))
        checked = 0
        for holder in holders[:MAX_BALANCE_CALLS]:
            on_chain = int(chain.call("CashbackToken", "balanceOf", Web3.to_checksum_address(holder), block=head))
            checked += 1
            if on_chain != balances[holder]:
                result.fail(
                    {"holder": Web3.to_checksum_address(holder)},
                    str(balances[holder]),
                    str(on_chain),
                    "balanceOf differs from the balance the Transfer events leave",
                )
        if sum(balances.values()) != supply:
            result.fail(
                {"contract": "CashbackToken"},
                str(supply),
                str(sum(balances.values())),
                "the holders' balances do not add up to the total supply",
            )

        # Claims: claimed(account) <= the latest cumulative amount recomputed from the records.
        latest = self._latest_cumulative
        for account, (amount_sum, last) in sorted(claims.items()):
            on_chain = int(chain.call("RewardDistributor", "claimed", Web3.to_checksum_address(account), block=head))
            record = {"account": Web3.to_checksum_address(account)}
            if on_chain != last or amount_sum != last:
                result.fail(
                    record,
                    str(last),
                    str(on_chain),
                    f"claimed() says {on_chain}; the Claimed events add up to {amount_sum}, last cumulative {last}",
                )
            if last > latest.get(account, 0):
                result.fail(
                    record,
                    f"<= {latest.get(account, 0)}",
                    str(last),
                    "claimed more than the latest cumulative amount recomputed from the records",
                )

        result.figures = {
            "brands": brands_rows,
            "deposited": sum(deposits.values()),
            "withdrawn": sum(withdrawals.values()),
            "debited": sum(debits.values()),
            "remaining_budgets": budgets_total,
            "published_totals": totals,
            "finalised_totals": finalized,
            "pending_total": pending,
            "funded": funded,
            "claimed": claimed_total,
            "claimable": claimable,
            "distributor_balance": distributor_balance,
            "deployment_seed": DEPLOYMENT_SEED,
            "donations_to_distributor": donations,
            "donations_to_vault": vault_donations,
            "token_supply": supply,
            "minted": mints,
            "burned": burns,
            "holders": len(holders),
            "holders_checked": checked,
            "claimants": len(claims),
        }
        result.summary = (
            f"{len(brands_rows)} brands, published {totals} = claimed {claimed_total} + claimable {claimable}; "
            f"supply {supply} over {len(holders)} holders ({checked} balances asked)"
        )

    # -- 4. mirror --------------------------------------------------------------------------

    def _check_mirror(self, result: CheckResult, chain: ChainReader) -> None:
        with Session(self.engine) as session:
            cursor = session.get(IndexerCursor, 1)
            stored = mirror_dump(session)
        stored_rows = sum(len(rows) for rows in stored.values())
        if cursor is None:
            if stored_rows:
                result.fail({"table": "indexer_cursor"}, "a cursor", None, "mirror rows exist without a cursor")
            result.summary = "the mirror has not been indexed yet: nothing to compare"
            result.figures = {"tables": [], "indexed_block": None}
            return
        rebuilt = self._reindex(chain, cursor.last_block)
        tables = []
        for table in stored:
            mine, theirs = _keyed(table, stored[table]), _keyed(table, rebuilt.get(table, []))
            tables.append({"table": table, "mirror": len(mine), "chain": len(theirs)})
            for key in sorted(set(mine) | set(theirs)):
                got, want = mine.get(key), theirs.get(key)
                if got == want:
                    continue
                record = {"table": table, "key": dict(key)}
                if got is None:
                    evidence = f"row {dict(key)} of {table} is on chain but missing from the mirror"
                elif want is None:
                    evidence = f"row {dict(key)} of {table} is in the mirror but not on chain"
                else:
                    columns = sorted(c for c in want if want[c] != got.get(c))
                    evidence = f"row {dict(key)} of {table} differs in {', '.join(columns)}"
                result.fail(record, want, got, evidence)
        result.figures = {"tables": tables, "indexed_block": cursor.last_block}
        result.summary = (
            f"{stored_rows} mirror rows up to block {cursor.last_block} compared with a re-index from block "
            f"{chain.deployment.block}: {len(result.discrepancies)} differ"
        )

    def _reindex(self, chain: ChainReader, to_block: int) -> dict[str, list[dict]]:
        """Indexes the chain into a scratch SQLite database, stopping at the mirror's block."""
        with tempfile.TemporaryDirectory(prefix="ledger-audit-") as scratch_dir:
            for _attempt in range(3):
                latest = int(self.gateway.guard(lambda: self.gateway.w3.eth.block_number))
                scratch = self.settings.model_copy(
                    update={
                        "database_url": f"sqlite:///{Path(scratch_dir) / f'mirror-{_attempt}.db'}",
                        "confirmations": max(latest - to_block, 0),
                    }
                )
                db.migrate(scratch)
                engine = db.make_engine(scratch.sqlalchemy_url)
                try:
                    indexer = Indexer(scratch, engine=engine, gateway=ChainGateway(scratch))
                    report = indexer.catch_up()
                    if report.to_block == to_block:  # no block arrived meanwhile
                        with Session(engine) as session:
                            return mirror_dump(session)
                finally:
                    engine.dispose()
        raise RuntimeError(f"the chain kept moving while re-indexing up to block {to_block}")


# -- helpers --------------------------------------------------------------------------------------

_KEYS = {
    model.__table__.name: tuple(c.name for c in model.__table__.primary_key.columns)  # type: ignore[attr-defined]
    for model in MIRROR_TABLES
}


def _keyed(table: str, rows: list[dict]) -> dict[tuple, dict[str, Any]]:
    names = _KEYS[table]
    out = {}
    for row in rows:
        normal = {k: _jsonable(v) for k, v in row.items()}
        out[tuple((n, normal[n]) for n in names)] = normal
    return out


def _where(e: ChainEvent, **more: Any) -> dict[str, Any]:
    return {"event": e.name, "block": e.block, "log_index": e.log_index, "tx_hash": e.tx_hash} | more


def _debits(pairs: list[tuple[str, int]]) -> list[dict[str, str]]:
    return [{"brand": Web3.to_checksum_address(b), "amount": str(a)} for b, a in pairs]


def _jsonable(value: Any) -> Any:
    """JSON-safe: amounts above 2^53 as strings, datetimes as UTC ISO, bytes as 0x-hex."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


# -- entry points and stored reports --------------------------------------------------------------


def reports_dir(settings: Settings) -> Path:
    return settings.data_dir / "audit"


def verify(
    settings: Settings,
    *,
    engine: Engine | None = None,
    gateway: ChainGateway | None = None,
    out: Path | None = None,
) -> tuple[dict[str, Any], Path]:
    """Runs the verifier and writes `<timestamp>.json` and `.html` under `out` (default data/audit)."""
    own_engine = engine is None
    engine = engine or db.make_engine(settings.sqlalchemy_url)
    try:
        report = Verifier(settings, engine, gateway or ChainGateway(settings)).run()
    finally:
        if own_engine:
            engine.dispose()
    return report, write_report(report, out or reports_dir(settings))


def write_report(report: dict[str, Any], directory: Path) -> Path:
    """Writes the JSON report and its HTML page; returns the JSON file's path."""
    from app.services.audit_report import render_html

    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = directory / f"{stamp}.json"
    for target, text in ((path, json.dumps(report, indent=2)), (path.with_suffix(".html"), render_html(report))):
        part = target.with_suffix(target.suffix + ".part")
        part.write_text(text, encoding="utf-8")
        part.replace(target)
    return path


def latest_report(directory: Path) -> tuple[dict[str, Any], Path] | None:
    """The newest stored report and its path, or None."""
    found = sorted(directory.glob("*.json")) if directory.is_dir() else []
    if not found:
        return None
    return json.loads(found[-1].read_text(encoding="utf-8")), found[-1]
