"""Audit check: every epoch root reproduces from its committed records, the rules and the chain's accesses.

The re-derivation is the audit's own: tiers rescored in pandas (app/audit/rederive.py), earnings
recomputed line by line, the tree built by app/audit/merkle.py. Where it disagrees with the epoch
job, the discrepancy names the account (or customer), the figure and both values.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from app import clock
from app.analytics.rules import ProgrammeRules, rules_hash
from app.audit import lifecycle, merkle, records, rederive, upkeep
from app.audit.chain import ChainEvent, checksum, decode_epoch, keccak256
from app.audit.checks import brand_rates, offers, voids
from app.audit.checks.settlement import carry_shortfalls, live_publications
from app.audit.records import PurchaseRecord
from app.audit.report import CheckResult
from app.config import Settings

MAX_EVIDENCE = 10  # examples listed per discrepancy, accounts named one by one per epoch


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


def merkle_root(settings: Settings, number: int, cumulative: dict[str, int]) -> tuple[str, int]:
    """(0x root, leaf count) of epoch `number`'s salted tree over the accounts with a positive cumulative amount."""
    leaves = records.leaves_for(settings, number, cumulative)
    return "0x" + merkle.root(leaves).hex(), len(leaves)


def _naive_utc(value: str | None) -> datetime | None:
    """A manifest's RFC 3339 time as the naive UTC datetime the records compare with."""
    return None if value is None else clock.parse_rfc3339(value).replace(tzinfo=None)


def check_epoch_roots(
    result: CheckResult,
    events: list[ChainEvent],
    *,
    settings: Settings,
    engine: Engine,
    rules: ProgrammeRules,
    deployment_block: int,
) -> dict[str, int]:
    """Fills `result`; returns each account's latest cumulative amount as recomputed (the money check's bound)."""
    published = [(e, decode_epoch(e.args)) for e in live_publications(events)]
    accesses = [e for e in events if e.name == "AccessRecorded"]
    carry: dict[tuple[str, str], int] = {}  # purchase cashback a short brand could not pay yet
    rows = records.epoch_rows(engine)
    purchases = records.load_purchases(engine)
    all_voids = records.load_voids(engine)
    all_refunds = records.load_refunds(engine)
    shipped = rules_hash(rules)
    cumulative: dict[str, int] = {}
    previous: dict[str, Any] | None = None  # the previous epoch's manifest
    broken_since: int | None = None  # first epoch that did not reproduce (its cumulative carries on)
    figures: list[EpochFigures] = []
    offer_audit = offers.OfferRederivation(engine, scale=rules.epochs.cash_units_per_won // 10_000)
    upkeep_audit = upkeep.UpkeepRederivation(engine, rules)
    brand_rate_audit = brand_rates.BrandRateRederivation(engine, base_tier=rules.tiers[-1].name)
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
        found_commitment = "0x" + keccak256(row.manifest).hex()
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
                "the epoch was computed under other rules than the shipped programme.toml: refusing to recompute it",
            )
            broken_since = broken_since or number
            previous = m
            continue
        as_of = _naive_utc(m["as_of"])
        assert as_of is not None
        _continuity(fail, where, m, previous, deployment_block, event.block)

        # Voids the epoch applied (committed by voids_hash): those purchases are neither scored nor paid.
        applied = voids.applied(all_voids, m)
        _committed_hash(fail, where, m, "voids", len(applied), voids.voids_hash(applied), "purchase voids")
        voided = {v.purchase_id for v in applied}
        # Refunds the epoch applied (committed by refunds_hash): its scores are net of them.
        refunded = lifecycle.applied(all_refunds, m)
        _committed_hash(fail, where, m, "refunds", len(refunded), lifecycle.refunds_hash(refunded), "refunds")
        previously_voided = {v.purchase_id for v in voids.applied(all_voids, previous)}
        covered = covered_purchases(
            [p for p in purchases if p.id not in voided],
            max_purchase_id=int(m["max_purchase_id"]),
            as_of=as_of,
            previous_max_purchase_id=int(m["previous_max_purchase_id"]),
            previous_as_of=_naive_utc(m["period_start"]),
        )
        recomputed_hash = records.purchases_hash(covered)

        # Rates: the tier graded at the previous epoch's end, rescored here from the purchases.
        grades = (
            rederive.tier_grades(
                rederive.net_of_refunds(
                    [p for p in purchases if p.id not in previously_voided],
                    lifecycle.applied(all_refunds, previous),
                    as_of=_naive_utc(previous["as_of"]),  # type: ignore[arg-type]
                ),
                max_purchase_id=int(previous["max_purchase_id"]),
                as_of=_naive_utc(previous["as_of"]),  # type: ignore[arg-type]
                scheme=previous["scheme"],
                rules=rules,
            )
            if previous is not None and number > 1
            else {}
        )
        rates = {customer: bps for customer, (_, bps) in grades.items()}
        fail_here = lambda extra, *a, at=where: fail(at | extra, *a)  # noqa: E731
        tiers = {customer: tier for customer, (tier, _) in grades.items()}
        extra_bps = brand_rate_audit.epoch(number, m, covered, tiers, fail_here)
        in_range = [
            rederive.Access(customer.lower(), e.args["brand"].lower(), int(price))
            for e in accesses
            if int(m["from_block"]) <= e.block <= int(m["to_block"])
            for customer, price in zip(e.args["customers"], e.args["prices"], strict=False)
        ]
        lines = rederive.reward_lines(covered, in_range, rates=rates, rules=rules, extra=extra_bps)
        for key, paid in offer_audit.epoch(number, m, covered, as_of, fail_here).items():
            lines[key][0] += paid  # offer bonuses are purchase cashback of the offer's brand
        for key, paid in upkeep_audit.epoch(number, m, as_of, fail_here).items():
            lines[key][0] += paid  # paid profile upkeep is purchase cashback of the upkeep funder (docs/epochs.md)
        carry = carry_shortfalls(lines, carry, m.get("shortfalls", []), lambda *a, at=where: fail(at, *a))
        lines = {k: v for k, v in lines.items() if v[0] + v[1] > 0}
        brand_debits: dict[str, int] = defaultdict(int)
        earned: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for (account, brand), (pc, ae) in lines.items():
            brand_debits[brand] += pc + ae
            earned[account][0] += pc
            earned[account][1] += ae
        for account, (pc, ae) in earned.items():
            cumulative[account] = cumulative.get(account, 0) + pc + ae
        recomputed_root, leaves = merkle_root(settings, number, cumulative)
        recomputed_total = sum(brand_debits.values())
        recomputed_debits = sorted(brand_debits.items())

        if recomputed_hash != m["purchases_hash"]:
            fail(
                where | {"field": "purchases_hash", "covered_purchases": len(covered)},
                m["purchases_hash"],
                recomputed_hash,
                _purchase_evidence(engine, number, covered, earned),
            )
        if recomputed_root != root:
            carried = f"; cumulative amounts carry epoch {broken_since}'s discrepancy" if broken_since else ""
            fail(
                where | {"field": "root"},
                root,
                recomputed_root,
                "the Merkle root over the recomputed cumulative amounts is not the published root" + carried,
            )
        if recomputed_total != total or str(recomputed_total) != m.get("total"):
            fail(
                where | {"field": "total"},
                str(total),
                str(recomputed_total),
                f"recomputed total {recomputed_total}; published {total}, manifest {m.get('total')}",
            )
        if recomputed_root != root or recomputed_total != total:
            _disagreements(fail, where, engine, number, earned, rates, purchases)
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
    result.figures = {
        "epochs": [f.__dict__ for f in figures],
        "published": len(published),
        "unpublished_in_store": sorted(n for n in rows if n > len(published)),
        "rules_hash": shipped,
    }
    result.summary = (
        f"{len(published)} published epochs recomputed from the purchases, the rules and the chain's "
        f"accesses: {sum(f.reproduced for f in figures)} reproduced bit for bit"
    )
    return cumulative


def _committed_hash(
    fail: Callable[..., None], where: dict[str, Any], m: dict[str, Any], name: str, count: int, found: str, what: str
) -> None:
    """Fails when the manifest's `<name>_hash` (absent in older manifests) is not the hash of the rows it applied."""
    field = f"{name}_hash"
    if field in m and found != m[field]:
        fail(
            where | {"field": field, name: count},
            m[field],
            found,
            f"the {what} the epoch applied are not the {what} the store holds",
        )


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
                where | {"field": name}, expected, found, f"the manifest's {name} does not follow the previous epoch's"
            )
    if int(m["to_block"]) >= published_block:
        fail(
            where | {"field": "to_block"},
            f"< {published_block}",
            int(m["to_block"]),
            "the epoch claims accesses from blocks at or after its own publication",
        )


def _purchase_evidence(engine: Engine, number: int, covered: list[PurchaseRecord], earned: dict[str, list[int]]) -> str:
    """Which accounts' purchase cashback moved, against what the operator stored when computing."""
    stored = {a: r.purchase_cashback for a, r in records.stored_rewards(engine, number).items()}
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
                    f"purchase {p.id} ({p.amount} won at {p.purchased_at:%Y-%m-%d %H:%M})" for p in own[:MAX_EVIDENCE]
                )
                or "no covered purchase now"
            )
            parts.append(
                f"account {account}: purchase cashback from the records now {earned.get(account, [0])[0]}, "
                f"when computed {stored.get(account, 0)} ({listing})"
            )
        text += "; " + "; ".join(parts)
    return text


_FIGURES = ("purchase_cashback", "access_earnings")


def _disagreements(
    fail: Callable[..., None],
    where: dict[str, Any],
    engine: Engine,
    number: int,
    earned: dict[str, list[int]],
    rates: dict[int, int],
    purchases: list[PurchaseRecord],
) -> None:
    """One discrepancy per account and figure where the epoch job's stored rows and the re-derivation differ.

    `expected` is the epoch job's value (what it stored and published from), `found` the audit's.
    """
    stored = records.stored_rewards(engine, number)
    named = 0
    for account in sorted(set(stored) | set(earned)):
        mine = earned.get(account, [0, 0])
        theirs = stored.get(account)
        for k, figure in enumerate(_FIGURES):
            job = getattr(theirs, figure) if theirs else 0
            if job == mine[k] or named >= MAX_EVIDENCE:
                continue
            named += 1
            fail(
                where | {"field": figure, "account": checksum(account)},
                str(job),
                str(mine[k]),
                f"account {checksum(account)}: {figure} {job} by the epoch job, {mine[k]} re-derived by the audit",
            )
    if number == 1:
        return
    graded = records.stored_rates(engine, number - 1)
    addresses = {p.customer_id: p.customer for p in purchases}
    for customer in sorted(set(graded) | set(rates)):
        if graded.get(customer) == rates.get(customer) or named >= MAX_EVIDENCE:
            continue
        named += 1
        holder = checksum(addresses[customer]) if customer in addresses else None
        fail(
            where | {"field": "cashback_bps", "customer_id": customer, "account": holder},
            graded.get(customer),
            rates.get(customer),
            f"customer #{customer} ({holder}): cashback rate {graded.get(customer)} bps graded by the epoch job "
            f"in epoch {number - 1}, {rates.get(customer)} bps rescored by the audit",
        )


def _debits(pairs: list[tuple[str, int]]) -> list[dict[str, str]]:
    return [{"brand": checksum(b), "amount": str(a)} for b, a in pairs]
