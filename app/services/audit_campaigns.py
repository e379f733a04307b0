"""The audit of campaigns: every reveal on chain against its commitment, the stored members, deliveries and results.

For each campaign CampaignRegistry holds, read through its typed client (app/chain/campaigns.py):
- the commitment opens to the revealed parameters hash and salt, and the parameters hash is the keccak of the
  stored parameters' canonical JSON;
- the commitment was mined before the start (the commit block's time);
- every member's arm re-derives from the revealed salt (keccak(salt ‖ address) mod 10,000 < holdout bps);
- no holdout member has a delivery from the campaign;
- the results re-derive from the records: outcomes per member recounted here in plain Python over the
  purchases (not the DuckDB query the campaign job ran), judged by the same statistics
  (app/analytics/experiments.py), and their canonical JSON hashes to the revealed results hash.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select

from app.analytics import experiments as ex
from app.analytics.campaigns import CampaignResult
from app.analytics.rfm import utc_naive
from app.chain.campaigns import CampaignCommitted, CampaignRegistryClient, CampaignRevealed, commitment_of
from app.chain.gateway import ChainGateway
from app.models.accounts import Brand, Customer
from app.models.crm import Campaign, CampaignMember, CampaignStatus, Delivery
from app.models.purchases import Purchase, PurchaseVoid
from app.services.campaigns import (
    Cutoff,
    canonical_json,
    keccak_hex,
    params_hash,
    results_document,
    seconds,
    window_of,
)

if TYPE_CHECKING:
    from app.services.audit import CheckResult

MAX_LISTED = 10  # members named one by one per campaign and problem; the rest are counted


@dataclass(frozen=True)
class Problem:
    record: dict[str, Any]
    expected: Any
    found: Any
    evidence: str


@dataclass
class CampaignVerdict:
    """One campaign on chain: its commitment, its reveal if any, the stored record and what does not hold."""

    committed: CampaignCommitted
    committed_time: int
    revealed: CampaignRevealed | None = None
    revealed_time: int | None = None
    stored: Campaign | None = None
    members: int | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def verified(self) -> bool | None:
        if self.revealed is None:
            return None if not self.problems else False
        return not self.problems


def verdicts(engine: Engine, gateway: ChainGateway) -> list[CampaignVerdict]:
    """Every campaign committed on chain, checked (revealed ones in full; open ones for their commit time)."""
    client = CampaignRegistryClient(gateway)
    events = client.events()
    found: dict[str, CampaignVerdict] = {}
    for e in events:
        if isinstance(e, CampaignCommitted):
            found[e.campaign_key] = CampaignVerdict(e, client.block_time(e.block))
        elif e.campaign_key in found:
            found[e.campaign_key].revealed = e
            found[e.campaign_key].revealed_time = client.block_time(e.block)
    with Session(engine) as session:
        stored = {c.campaign_key: c for c in session.exec(select(Campaign)).all()}
        for key, verdict in found.items():
            verdict.stored = stored.get(key)
            _check(session, verdict)
    return list(found.values())


def check_campaigns(result: CheckResult, engine: Engine, gateway: ChainGateway) -> None:
    """Fills `result` (the `campaigns` check of the audit report)."""
    checked = verdicts(engine, gateway)
    with Session(engine) as session:
        on_chain = {v.committed.campaign_key for v in checked}
        for campaign in session.exec(select(Campaign).where(Campaign.status == CampaignStatus.REVEALED)).all():
            if campaign.campaign_key not in on_chain:
                result.fail(
                    {"campaign": campaign.id, "campaign_key": campaign.campaign_key},
                    "a commitment on chain",
                    None,
                    f"campaign {campaign.id} is revealed in the store but CampaignRegistry holds no commitment for it",
                )
    for verdict in checked:
        for p in verdict.problems:
            result.fail(p.record, p.expected, p.found, p.evidence)
    revealed = [v for v in checked if v.revealed is not None]
    result.figures = {
        "committed": len(checked),
        "revealed": len(revealed),
        "members_checked": sum(v.members or 0 for v in revealed),
    }
    result.summary = (
        f"{len(revealed)} revealed campaigns of {len(checked)} committed re-derived from the reveal and the records"
    )


def _check(session: Session, v: CampaignVerdict) -> None:
    c, key = v.committed, v.committed.campaign_key
    stored = v.stored
    record = {"campaign_key": key} | ({"campaign": stored.id} if stored else {})

    def fail(what: dict[str, Any], expected: Any, found: Any, evidence: str) -> None:
        v.problems.append(Problem(record | what, expected, found, evidence))

    if v.committed_time >= c.starts_at:
        fail(
            {"block": c.block},
            f"committed before {c.starts_at}",
            v.committed_time,
            f"the commitment was mined at {v.committed_time}, not before the start {c.starts_at}: the holdout could "
            "have been drawn knowing the first results",
        )
    if v.revealed is None:
        return
    r = v.revealed
    opened = "0x" + commitment_of(bytes.fromhex(r.params_hash[2:]), bytes.fromhex(r.salt[2:])).hex()
    if opened != c.commitment:
        fail({"field": "commitment"}, c.commitment, opened, "the revealed parameters hash and salt do not open it")
    if stored is None:
        fail({"field": "campaign"}, "a stored campaign", None, "revealed on chain, but the store has no such campaign")
        return
    brand = session.get(Brand, stored.brand_id)
    assert brand is not None
    stored_hash = params_hash(stored, brand.address)
    if stored_hash != r.params_hash:
        fail(
            {"field": "params_hash"},
            r.params_hash,
            stored_hash,
            "the stored parameters (offer, rule, holdout, metric, window…) are not the ones committed to",
        )
    for name, chain_value, own in (
        ("holdout_bps", c.holdout_bps, stored.holdout_bps),
        ("starts_at", c.starts_at, seconds(stored.starts_at)),
        ("ends_at", c.ends_at, seconds(stored.ends_at)),
    ):
        if chain_value != own:
            fail({"field": name}, chain_value, own, f"the stored {name} is not the one committed on chain")
    if stored.salt.lower() != r.salt:
        fail({"field": "salt"}, r.salt, stored.salt, "the stored salt is not the revealed one")
    members = _members(session, stored)
    v.members = len(members)
    salt = bytes.fromhex(r.salt[2:])
    _check_arms(fail, members, salt, c.holdout_bps)
    _check_holdout_deliveries(session, fail, stored, members)
    # The results are re-derived with the arms the revealed salt gives, not the stored ones.
    derived = [replace(m, holdout=ex.assignment_bucket(salt, m.address) < c.holdout_bps) for m in members]
    _check_results(session, fail, stored, derived, r.results_hash)


@dataclass(frozen=True)
class _Member:
    customer_id: int
    address: str
    bucket: int
    holdout: bool


def _members(session: Session, campaign: Campaign) -> list[_Member]:
    rows = session.exec(
        select(CampaignMember.customer_id, Customer.address, CampaignMember.bucket, CampaignMember.holdout)
        .join(Customer, col(Customer.id) == CampaignMember.customer_id)
        .where(CampaignMember.campaign_id == campaign.id)
        .order_by(col(CampaignMember.customer_id))
    ).all()
    return [_Member(int(i), str(a), int(b), bool(h)) for i, a, b, h in rows]


Fail = Callable[[dict[str, Any], Any, Any, str], None]


def _check_arms(fail: Fail, members: list[_Member], salt: bytes, holdout_bps: int) -> None:
    wrong = []
    for m in members:
        bucket = ex.assignment_bucket(salt, m.address)
        if bucket != m.bucket or (bucket < holdout_bps) != m.holdout:
            wrong.append((m, bucket))
    for m, bucket in wrong[:MAX_LISTED]:
        fail(
            {"customer": m.address, "customer_id": m.customer_id},
            {"bucket": bucket, "holdout": bucket < holdout_bps},
            {"bucket": m.bucket, "holdout": m.holdout},
            f"customer {m.address}: the revealed salt puts them in the "
            f"{'holdout' if bucket < holdout_bps else 'test arm'} (bucket {bucket}), the store in the "
            f"{'holdout' if m.holdout else 'test arm'}",
        )
    if len(wrong) > MAX_LISTED:
        fail({"members": len(wrong)}, 0, len(wrong), f"{len(wrong)} members in another arm; the first are listed")


def _check_holdout_deliveries(session: Session, fail: Fail, campaign: Campaign, members: list[_Member]) -> None:
    held = {m.customer_id: m for m in members if m.holdout}
    rows = session.exec(
        select(Delivery.id, Delivery.customer_id).where(
            or_(Delivery.campaign_id == campaign.id, Delivery.source == f"campaign:{campaign.id}")
        )
    ).all()
    wrong = [(int(d), int(cid)) for d, cid in rows if int(cid) in held]
    for delivery_id, cid in wrong[:MAX_LISTED]:
        fail(
            {"customer": held[cid].address, "customer_id": cid, "delivery": delivery_id},
            "no delivery from the campaign",
            f"delivery {delivery_id}",
            f"customer {held[cid].address} is in the holdout but received the campaign's offer (delivery {delivery_id})",
        )
    if len(wrong) > MAX_LISTED:
        fail({"deliveries": len(wrong)}, 0, len(wrong), f"{len(wrong)} deliveries to holdout members")


def _check_results(session: Session, fail: Fail, campaign: Campaign, members: list[_Member], revealed: str) -> None:
    if campaign.results is None:
        fail({"field": "results"}, revealed, None, "revealed on chain, but the store keeps no results")
        return
    stored = json.loads(campaign.results)
    cutoff = Cutoff(int(stored.get("purchases_through", 0)), int(stored.get("voids_through", 0)))
    stored_hash = keccak_hex(campaign.results.encode())
    if stored_hash != revealed:
        fail({"field": "results"}, revealed, stored_hash, "the stored results are not the ones whose hash was revealed")
    if sum(m.holdout for m in members) < 2 or sum(not m.holdout for m in members) < 2:
        fail({"field": "members"}, "two members per arm at least", len(members), "too few members to be judged")
        return
    derived = results_document(
        campaign, recount(session, campaign, members, cutoff), cutoff, _parse(stored.get("evaluated_at"))
    )
    derived_hash = keccak_hex(canonical_json(derived))
    if derived_hash != revealed:
        fail(
            {"field": "results_hash"},
            revealed,
            derived_hash,
            f"the results re-derived from the purchases up to id {cutoff.purchases_through} do not hash to the "
            "revealed results hash",
        )
    if derived_hash != revealed or stored_hash != revealed:
        for name in sorted(k for k in derived.keys() | stored.keys() if derived.get(k) != stored.get(k)):
            fail(
                {"field": f"results.{name}"},
                derived.get(name),
                stored.get(name),
                f"the results' {name}: re-derived from the reveal and the records (expected) against the stored "
                "results (found)",
            )


def recount(session: Session, campaign: Campaign, members: list[_Member], cutoff: Cutoff) -> CampaignResult:
    """Outcomes per member in plain Python over the purchases, then the statistics of experiments.py."""
    w = window_of(campaign)
    start, end = utc_naive(w.starts_at), utc_naive(w.ends_at)
    hit_until = min(start + timedelta(days=w.conversion_days), end)
    pre = start - (end - start)
    voided = {
        int(p)
        for p in session.exec(select(PurchaseVoid.purchase_id).where(col(PurchaseVoid.id) <= cutoff.voids_through))
    }
    index = {m.customer_id: i for i, m in enumerate(members)}
    hit = [False] * len(members)
    spend = [0] * len(members)
    pre_spend = [0] * len(members)
    for pid, cid, at, amount in session.exec(
        select(Purchase.id, Purchase.customer_id, Purchase.purchased_at, Purchase.amount).where(
            Purchase.brand_id == campaign.brand_id, col(Purchase.id) <= cutoff.purchases_through
        )
    ).all():
        i = index.get(int(cid))
        if i is None or int(pid) in voided:
            continue
        t = utc_naive(at)
        if start <= t < hit_until:
            hit[i] = True
        if start <= t < end:
            spend[i] += int(amount)
        elif pre <= t < start:
            pre_spend[i] += int(amount)
    holdout = np.array([m.holdout for m in members], dtype=bool)
    test = ~holdout
    hits = np.array(hit, dtype=bool)
    y = np.array([float(s) for s in spend])
    x = np.array([float(s) for s in pre_spend])
    n_t, n_c = int(test.sum()), int(holdout.sum())
    return CampaignResult(
        conversion=ex.conversion_test(int(hits[test].sum()), n_t, int(hits[holdout].sum()), n_c),
        spend=ex.welch_test(y[test], y[holdout]),
        spend_cuped=ex.cuped_test(y[test], y[holdout], x[test], x[holdout]),
        sample_ratio=ex.sample_ratio_check(n_t, n_c, campaign.holdout_bps),
    )


def _parse(value: Any) -> datetime:
    if not isinstance(value, str):
        return datetime.fromtimestamp(0, UTC)
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
