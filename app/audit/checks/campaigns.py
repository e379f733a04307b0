"""Check `campaigns`: every reveal on chain against its commitment, the stored members, deliveries and results.

For each campaign CampaignRegistry holds (read through app/audit/chain.py):
- the commitment was mined before the start (the commit block's time);
- once revealed: keccak256(abi.encode(paramsHash, salt)) is the commitment, and paramsHash is the keccak of
  the stored parameters' canonical JSON (app/services/campaign_params.py, the format both sides read);
- every member's bucket and arm re-derive from the revealed salt: keccak256(salt ‖ address) mod 10,000 <
  holdout bps, computed here;
- no holdout member has a delivery from the campaign;
- the stored results hash to the revealed results hash, and re-derive from the records: outcomes per member
  recounted here in plain Python over the purchases up to the evaluation's cut-off ids (not the campaign
  job's DuckDB query), tested here with scipy and statsmodels called directly (not app/analytics/experiments.py),
  each figure within 1e-9 of the stored one.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import sha3  # safe-pysha3: keccak-256 computed here, not by the chain libraries
from scipy import stats
from sqlalchemy import Engine, or_
from sqlmodel import Session, col, select
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from app.audit.chain import CampaignCommitted, CampaignRevealed, ChainReader
from app.audit.checks import Fail
from app.audit.records import naive_utc
from app.audit.report import CheckResult
from app.models.accounts import Brand, Customer
from app.models.crm import Campaign, CampaignMember, CampaignStatus, Delivery
from app.models.purchases import Purchase, PurchaseVoid
from app.services.campaign_params import keccak_hex, params_hash, seconds

MAX_LISTED = 10  # members named one by one per campaign and problem; the rest are counted
BPS = 10_000
TOLERANCE = 1e-9  # relative, per re-derived figure (floats of the same data by another path)


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
        """Null while not revealed and nothing is wrong yet; then whether every check holds."""
        if self.revealed is None and not self.problems:
            return None
        return not self.problems


def verdicts(engine: Engine, chain: ChainReader, to_block: int) -> list[CampaignVerdict]:
    """Every campaign committed on chain up to `to_block`, checked (revealed ones in full)."""
    found: dict[str, CampaignVerdict] = {}
    for e in chain.campaign_events(to_block):
        if isinstance(e, CampaignCommitted):
            found[e.campaign_key] = CampaignVerdict(e, chain.block_time(e.block))
        elif e.campaign_key in found:
            found[e.campaign_key].revealed = e
            found[e.campaign_key].revealed_time = chain.block_time(e.block)
    with Session(engine, expire_on_commit=False) as session:
        stored = {c.campaign_key: c for c in session.exec(select(Campaign)).all()}
        for key, verdict in found.items():
            verdict.stored = stored.get(key)
            _check(session, verdict)
    return list(found.values())


def check_campaigns(result: CheckResult, engine: Engine, chain: ChainReader, head: int) -> None:
    """Fills `result` (the `campaigns` check of the audit report)."""
    checked = verdicts(engine, chain, head)
    on_chain = {v.committed.campaign_key for v in checked}
    with Session(engine) as session:
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
    c, stored = v.committed, v.stored
    record = {"campaign_key": c.campaign_key} | ({"campaign": stored.id} if stored else {})

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
    opened = keccak_hex(bytes.fromhex(r.params_hash[2:]) + bytes.fromhex(r.salt[2:]))  # abi.encode of two bytes32
    if opened != c.commitment:
        fail({"field": "commitment"}, c.commitment, opened, "the revealed parameters hash and salt do not open it")
    if stored is None:
        fail({"field": "campaign"}, "a stored campaign", None, "revealed on chain, but the store has no such campaign")
        return
    brand = session.get(Brand, stored.brand_id)
    assert brand is not None
    own = params_hash(stored, brand.address)
    if own != r.params_hash:
        fail(
            {"field": "params_hash"},
            r.params_hash,
            own,
            "the stored parameters (offer, rule, holdout, metric, window…) are not the ones committed to",
        )
    for name, on_chain, kept in (
        ("holdout_bps", c.holdout_bps, stored.holdout_bps),
        ("starts_at", c.starts_at, seconds(stored.starts_at)),
        ("ends_at", c.ends_at, seconds(stored.ends_at)),
    ):
        if on_chain != kept:
            fail({"field": name}, on_chain, kept, f"the stored {name} is not the one committed on chain")
    if stored.salt.lower() != r.salt:
        fail({"field": "salt"}, r.salt, stored.salt, "the stored salt is not the revealed one")
    members = _members(session, stored)
    v.members = len(members)
    salt = bytes.fromhex(r.salt[2:])
    derived = {m.customer_id: bucket_of(salt, m.address) < c.holdout_bps for m in members}
    _check_arms(fail, members, salt, c.holdout_bps)
    _check_holdout_deliveries(session, fail, stored, members)
    # The results are re-derived with the arms the revealed salt gives, not the stored ones.
    _check_results(session, fail, stored, [(m.customer_id, derived[m.customer_id]) for m in members], r.results_hash)


def bucket_of(salt: bytes, address: str) -> int:
    """keccak256(salt ‖ address) mod 10,000: the contract's bucketOf, recomputed from the revealed salt."""
    return int.from_bytes(sha3.keccak_256(salt + bytes.fromhex(address.removeprefix("0x"))).digest(), "big") % BPS


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


def _arm(holdout: bool) -> str:
    return "holdout" if holdout else "test arm"


def _check_arms(fail: Fail, members: list[_Member], salt: bytes, holdout_bps: int) -> None:
    wrong = [(m, b) for m in members if (b := bucket_of(salt, m.address)) != m.bucket or (b < holdout_bps) != m.holdout]
    for m, bucket in wrong[:MAX_LISTED]:
        fail(
            {"customer": m.address, "customer_id": m.customer_id},
            {"bucket": bucket, "holdout": bucket < holdout_bps},
            {"bucket": m.bucket, "holdout": m.holdout},
            f"customer {m.address}: the revealed salt puts them in the {_arm(bucket < holdout_bps)} (bucket "
            f"{bucket}), the store in the {_arm(m.holdout)}",
        )
    if len(wrong) > MAX_LISTED:
        fail({"members": len(wrong)}, 0, len(wrong), f"{len(wrong)} members in another arm; the first are listed")


def _check_holdout_deliveries(session: Session, fail: Fail, campaign: Campaign, members: list[_Member]) -> None:
    held = {m.customer_id: m for m in members if m.holdout}
    rows = session.exec(
        select(Delivery.id, Delivery.customer_id).where(
            or_(col(Delivery.campaign_id) == campaign.id, col(Delivery.source) == f"campaign:{campaign.id}")
        )
    ).all()
    wrong = [(int(d), int(cid)) for d, cid in rows if int(cid) in held]  # type: ignore[arg-type]
    for delivery_id, cid in wrong[:MAX_LISTED]:
        fail(
            {"customer": held[cid].address, "customer_id": cid, "delivery": delivery_id},
            "no delivery from the campaign",
            f"delivery {delivery_id}",
            f"customer {held[cid].address} is in the holdout but got the campaign's offer (delivery {delivery_id})",
        )
    if len(wrong) > MAX_LISTED:
        fail({"deliveries": len(wrong)}, 0, len(wrong), f"{len(wrong)} deliveries to holdout members")


# -- results ------------------------------------------------------------------------------------------------


def _check_results(
    session: Session, fail: Fail, campaign: Campaign, members: list[tuple[int, bool]], revealed: str
) -> None:
    if campaign.results is None:
        fail({"field": "results"}, revealed, None, "revealed on chain, but the store keeps no results")
        return
    stored_hash = keccak_hex(campaign.results.encode())
    if stored_hash != revealed:
        fail({"field": "results"}, revealed, stored_hash, "the stored results are not the ones whose hash was revealed")
    stored = json.loads(campaign.results)
    n_c = sum(h for _, h in members)
    if n_c < 2 or len(members) - n_c < 2:
        fail({"field": "members"}, "two members per arm at least", len(members), "too few members to be judged")
        return
    figures = rederive(session, campaign, members, int(stored["purchases_through"]), int(stored["voids_through"]))
    for name, expected in figures.items():
        found = _at(stored, name)
        if not _same(expected, found):
            fail(
                {"field": f"results.{name}"},
                expected,
                found,
                f"the results' {name}: {expected} re-derived from the reveal and the purchases up to id "
                f"{stored['purchases_through']}, {found} stored (and revealed)",
            )


def rederive(
    session: Session, campaign: Campaign, members: list[tuple[int, bool]], purchases_through: int, voids_through: int
) -> dict[str, Any]:
    """The results' figures from the records, by path `a.b.c` of the stored document."""
    start, end = naive_utc(_aware(campaign.starts_at)), naive_utc(_aware(campaign.ends_at))
    hit_until = min(start + timedelta(days=campaign.conversion_days), end)
    pre = start - (end - start)
    voided = {
        int(p) for p in session.exec(select(PurchaseVoid.purchase_id).where(col(PurchaseVoid.id) <= voids_through))
    }
    index = {cid: i for i, (cid, _) in enumerate(members)}
    hit = np.zeros(len(members), dtype=bool)
    spend = [0] * len(members)
    pre_spend = [0] * len(members)
    for pid, cid, at, amount in session.exec(
        select(Purchase.id, Purchase.customer_id, Purchase.purchased_at, Purchase.amount).where(
            Purchase.brand_id == campaign.brand_id, col(Purchase.id) <= purchases_through
        )
    ).all():
        i = index.get(int(cid))
        if i is None or int(pid) in voided:  # type: ignore[arg-type]
            continue
        t = naive_utc(_aware(at))
        if start <= t < hit_until:
            hit[i] = True
        if start <= t < end:
            spend[i] += int(amount)
        elif pre <= t < start:
            pre_spend[i] += int(amount)
    holdout = np.array([h for _, h in members], dtype=bool)
    test = ~holdout
    n_t, n_c = int(test.sum()), int(holdout.sum())
    h_t, h_c = int(hit[test].sum()), int(hit[holdout].sum())
    out: dict[str, Any] = {
        "members.test": n_t,
        "members.holdout": n_c,
        "conversion.test_hits": h_t,
        "conversion.holdout_hits": h_c,
        "conversion.test_rate": h_t / n_t,
        "conversion.holdout_rate": h_c / n_c,
        "conversion.uplift_abs": h_t / n_t - h_c / n_c,
    }
    low, high = confint_proportions_2indep(h_t, n_t, h_c, n_c, method="wald", compare="diff", alpha=0.05)
    out |= {"conversion.uplift_abs_ci.low": float(low), "conversion.uplift_abs_ci.high": float(high)}
    if 0 < h_t + h_c < n_t + n_c:
        z, p = proportions_ztest([h_t, h_c], [n_t, n_c])
        out |= {"conversion.z": float(z), "conversion.p_value": float(p)}
    y = np.array([float(s) for s in spend])
    x = np.array([float(s) for s in pre_spend])
    out |= _welch("spend", y[test], y[holdout])
    var_x = float(x.var(ddof=1))
    theta = 0.0 if var_x == 0 else float(np.cov(x, y, ddof=1)[0, 1]) / var_x
    adjusted = y - theta * (x - x.mean())
    cuped = _welch("spend_cuped", adjusted[test], adjusted[holdout])
    out |= {k: v for k, v in cuped.items() if not k.endswith(("test_mean", "holdout_mean"))}
    total = n_t + n_c
    share = campaign.holdout_bps / BPS
    out["sample_ratio.p_value"] = float(stats.chisquare([n_t, n_c], f_exp=[total * (1 - share), total * share]).pvalue)
    return out


def _welch(prefix: str, a: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    out: dict[str, Any] = {
        f"{prefix}.test_mean": float(a.mean()),
        f"{prefix}.holdout_mean": float(b.mean()),
        f"{prefix}.uplift_abs": float(a.mean()) - float(b.mean()),
    }
    if a.var(ddof=1) + b.var(ddof=1) > 0:
        res = stats.ttest_ind(a, b, equal_var=False)
        low, high = res.confidence_interval(0.95)
        out |= {
            f"{prefix}.t": float(res.statistic),
            f"{prefix}.df": float(res.df),
            f"{prefix}.p_value": float(res.pvalue),
            f"{prefix}.uplift_abs_ci.low": float(low),
            f"{prefix}.uplift_abs_ci.high": float(high),
        }
    return out


def _at(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _same(expected: Any, found: Any) -> bool:
    if isinstance(expected, int) and not isinstance(expected, bool):
        return found == expected
    if not isinstance(found, int | float) or isinstance(found, bool):
        return False
    return math.isclose(float(expected), float(found), rel_tol=TOLERANCE, abs_tol=1e-12)


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
