"""Campaigns: an offer to a rule's audience against a holdout committed on chain before the start, revealed after.

The life of a campaign (docs/campaigns.md, docs/crm.md):
1. `create` — a draft: parameters checked (422 naming what is wrong), a fresh secret salt, the parameters'
   hash and the commitment keccak256(abi.encode(paramsHash, salt)); `plan` gives the audience size now and
   the power / minimum detectable effect for it.
2. `commit` — the commitment goes on chain before the start (CampaignRegistry refuses it later).
3. `start` — at the start: the members are the rule's audience under consent now, each one's arm fixed by
   keccak(salt ‖ address) mod 10,000 < holdout bps; the test arm gets the offer through `deliver`, the
   holdout nothing.
4. `finish` — after the end: outcomes per member from the purchases recorded so far (DuckDB,
   app/analytics/campaigns.py), judged by app/analytics/experiments.py; the results' canonical JSON and its
   hash are stored, then the salt and that hash are revealed on chain.
Times are judged by the chain's clock (the contract's), which is what the commitment is checked against.
"""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.analytics import experiments as ex
from app.chain.campaigns import CampaignRegistryClient, commitment_of
from app.chain.gateway import ChainGateway
from app.chain.indexer import catch_up
from app.config import Settings
from app.errors import Conflict, InvalidInput, NotFound
from app.models.accounts import Brand
from app.models.crm import (
    MONETARY_KINDS,
    Campaign,
    CampaignMember,
    CampaignMetric,
    CampaignStatus,
    Offer,
    Rule,
)
from app.models.purchases import Purchase
from app.services import rules
from app.services.access import budget_on_chain
from app.services.audience import Scope, addresses_of, chain_now, chunks, consenting
from app.services.campaign_params import canonical_json, keccak_hex, params_hash, seconds
from app.services.campaign_results import evaluate_campaign, window_of
from app.services.deliveries import DeliveryReport, deliver_in_batches

GUARDRAILS = (CampaignMetric.CONVERSION.value, CampaignMetric.SPEND.value)
"""Metrics a campaign may guard: harmed when the test arm is significantly worse (the CI's top below 0)."""
FALLBACK_BASELINE = 0.05  # conversion assumed for the plan when the audience's history says nothing


# -- parameters, hashes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignDraft:
    """What a brand asks for; checked by `create`."""

    name: str
    offer_id: int
    rule_id: int
    holdout_share: float
    metric: str
    starts_at: datetime
    ends_at: datetime
    conversion_days: int = 14
    guardrails: tuple[str, ...] = ()


# -- reading ---------------------------------------------------------------------------------------------------


def get(session: Session, brand: Brand, campaign_id: int) -> Campaign:
    found = session.get(Campaign, campaign_id)
    if found is None or found.brand_id != brand.id:
        raise NotFound(f"no campaign {campaign_id} of this brand")
    return found


def list_of(session: Session, brand: Brand) -> list[Campaign]:
    return list(session.exec(select(Campaign).where(Campaign.brand_id == brand.id).order_by(col(Campaign.id).desc())))


@dataclass(frozen=True)
class Arms:
    test: int
    holdout: int


def arms(session: Session, campaign: Campaign) -> Arms | None:
    """Members per arm, or None before the start assigned them."""
    rows = session.exec(
        select(CampaignMember.holdout, func.count())
        .where(CampaignMember.campaign_id == campaign.id)
        .group_by(col(CampaignMember.holdout))
    ).all()
    if not rows:
        return None
    counts = {bool(h): int(n) for h, n in rows}
    return Arms(counts.get(False, 0), counts.get(True, 0))


# -- 1. create and plan ------------------------------------------------------------------------------------------


def chain_clock(chain: ChainGateway) -> int:
    """The time of the block a transaction sent now goes into (the contract's block.timestamp)."""
    pending = chain.guard(lambda: chain.w3.eth.get_block("pending"))
    return max(int(pending["timestamp"]), chain_now(chain).timestamp)


def holdout_bps_of(share: float) -> int:
    if not (isinstance(share, int | float) and math.isfinite(share) and 0 < share <= 0.5):
        raise InvalidInput(f"holdout_share must be in (0, 0.5]; got {share!r}")
    bps = round(share * ex.BPS)
    if bps == 0:
        raise InvalidInput(f"holdout_share {share!r} is under one basis point (0.0001)")
    return bps


def create(session: Session, settings: Settings, chain: ChainGateway, brand: Brand, draft: CampaignDraft) -> Campaign:
    """A draft campaign with its salt, parameters hash and commitment; nothing is on chain yet."""
    bps = holdout_bps_of(draft.holdout_share)
    if draft.metric not in {m.value for m in CampaignMetric}:
        raise InvalidInput(f"metric must be one of {', '.join(m.value for m in CampaignMetric)}; got {draft.metric!r}")
    unknown = [g for g in draft.guardrails if g not in GUARDRAILS]
    if unknown:
        raise InvalidInput(f"unknown guardrail metric {unknown[0]!r}; known: {', '.join(GUARDRAILS)}")
    if draft.metric in draft.guardrails:
        raise InvalidInput(f"{draft.metric!r} is the primary metric; a guardrail is another metric")
    if len(set(draft.guardrails)) != len(draft.guardrails):
        raise InvalidInput("a guardrail metric is listed twice")
    starts, ends = clock.as_utc(draft.starts_at), clock.as_utc(draft.ends_at)
    if ends <= starts:
        raise InvalidInput(f"ends_at ({_hms(ends)}) must be after starts_at ({_hms(starts)})")
    now = chain_clock(chain)
    if seconds(starts) <= now:
        raise InvalidInput(
            f"starts_at ({_hms(starts)}) is not in the future (the chain's clock reads "
            f"{clock.rfc3339(clock.from_unix(now), digits=0)}): the holdout must be committed before the start"
        )
    if not 1 <= draft.conversion_days <= 366:
        raise InvalidInput(f"conversion_days must be between 1 and 366; got {draft.conversion_days}")
    offer = session.get(Offer, draft.offer_id)
    if offer is None or offer.brand_id != brand.id:
        raise InvalidInput(f"offer {draft.offer_id} is not one of this brand's offers")
    rule = session.get(Rule, draft.rule_id)
    if rule is None or rule.brand_id != brand.id:
        raise InvalidInput(f"rule {draft.rule_id} is not one of this brand's rules")
    if not clock.as_utc(offer.valid_from) <= starts < clock.as_utc(offer.valid_until):
        raise InvalidInput(
            f"offer {offer.id} is valid from {_hms(offer.valid_from)} until {_hms(offer.valid_until)}: it cannot be "
            f"delivered at the campaign's start ({_hms(starts)})"
        )
    budget, reserved = budget_on_chain(chain, brand)
    available = max(budget - reserved, 0)
    if offer.kind in MONETARY_KINDS and offer.budget_units > available:
        raise InvalidInput(
            f"offer {offer.id} is over budget: its cap is {offer.budget_units} CASH units, the brand's budget has "
            f"{available} available ({budget} minus {reserved} reserved); lower the cap or ask the operator to fund it",
            cap=str(offer.budget_units),
            available=str(available),
        )
    campaign = Campaign(
        brand_id=brand.id,  # type: ignore[arg-type]
        offer_id=offer.id,  # type: ignore[arg-type]
        rule_id=rule.id,  # type: ignore[arg-type]
        name=draft.name,
        holdout_bps=bps,
        metric=draft.metric,
        conversion_days=draft.conversion_days,
        guardrails=json.dumps(list(draft.guardrails)),
        starts_at=starts,
        ends_at=ends,
        campaign_key="0x" + secrets.token_hex(32),
        salt="0x" + secrets.token_hex(32),  # secret until the reveal: never in a response before it
        params_hash="",
        commitment="",
        status=CampaignStatus.DRAFT,
    )
    campaign.params_hash = params_hash(campaign, brand.address)
    campaign.commitment = "0x" + commitment_of(_b(campaign.params_hash), _b(campaign.salt)).hex()
    session.add(campaign)
    session.commit()
    session.refresh(campaign)
    return campaign


@dataclass(frozen=True)
class Plan:
    """What the campaign can detect with its audience as it is now (80% power, alpha 5%)."""

    audience: int
    test_n: int
    holdout_n: int
    metric: str
    baseline: float  # conversion rate, or spend per customer in won
    baseline_assumed: bool  # no history to read it from: FALLBACK_BASELINE
    mde_abs: float | None  # None: too few customers for a plan
    mde_rel: float | None
    power: float
    access_cost: int  # what recording the test arm's access costs at today's prices (CASH units)


def plan(session: Session, settings: Settings, chain: ChainGateway, campaign: Campaign) -> Plan:
    """The audience size now, the arms it gives, and the minimum detectable effect of the primary metric."""
    rule = session.get(Rule, campaign.rule_id)
    assert rule is not None
    members, prices = audience_now(session, settings, chain, rule)
    size = len(members)
    holdout_n = round(size * campaign.holdout_bps / ex.BPS)
    test_n = size - holdout_n
    access_cost = round(sum(prices.values()) * (1 - campaign.holdout_bps / ex.BPS))
    window = window_of(campaign)
    length = min(timedelta(days=campaign.conversion_days), window.ends_at - window.starts_at)
    baseline, assumed, spread = _baseline(session, campaign, members, length, window.ends_at - window.starts_at)
    mde_abs: float | None = None
    mde_rel: float | None = None
    power = 0.8
    if test_n >= 2 and holdout_n >= 2:
        if campaign.metric == CampaignMetric.CONVERSION:
            made = ex.conversion_power_plan(test_n, holdout_n, baseline)
            mde_abs, power = made.mde_abs, made.power_at_mde
        elif spread > 0:
            mde_abs = ex.mean_mde(test_n, holdout_n, spread)
        if mde_abs is not None and baseline > 0:
            mde_rel = mde_abs / baseline
    return Plan(size, test_n, holdout_n, campaign.metric, baseline, assumed, mde_abs, mde_rel, power, access_cost)


def _baseline(
    session: Session, campaign: Campaign, members: list[int], conversion: timedelta, length: timedelta
) -> tuple[float, bool, float]:
    """From the audience's purchases at the brand just before now: (rate or mean, assumed?, spend's std)."""
    if not members:
        return (FALLBACK_BASELINE, True, 0.0) if campaign.metric == CampaignMetric.CONVERSION else (0.0, True, 0.0)
    now = clock.utcnow()
    since = now - max(conversion, length)
    bought: dict[int, list[tuple[datetime, int]]] = {}
    for chunk in chunks(members):
        for cid, at, amount in session.exec(
            select(Purchase.customer_id, Purchase.purchased_at, Purchase.amount).where(
                Purchase.brand_id == campaign.brand_id,
                col(Purchase.customer_id).in_(chunk),
                col(Purchase.purchased_at) >= since,
            )
        ).all():
            bought.setdefault(int(cid), []).append((clock.as_utc(at), int(amount)))
    if campaign.metric == CampaignMetric.CONVERSION:
        hits = sum(1 for cid in members if any(at >= now - conversion for at, _ in bought.get(cid, [])))
        rate = hits / len(members)
        if 0 < rate < 1:
            return rate, False, 0.0
        return FALLBACK_BASELINE, True, 0.0
    spend = [float(sum(a for at, a in bought.get(cid, []) if at >= now - length)) for cid in members]
    mean = sum(spend) / len(spend)
    var = sum((s - mean) ** 2 for s in spend) / max(len(spend) - 1, 1)
    return mean, False, math.sqrt(var)


# -- the audience ----------------------------------------------------------------------------------------------


def audience_now(
    session: Session, settings: Settings, chain: ChainGateway, rule: Rule
) -> tuple[list[int], dict[int, int]]:
    """The rule's audience as it is now (app/services/rules.py's `targets`, under consent at the chain's time,
    the mirror brought up first): customer ids, sorted, and each one's access price (none when no data is read)."""
    now = chain_now(chain).timestamp
    if rule.categories:
        catch_up(settings, engine=session.get_bind(), gateway=chain)  # type: ignore[arg-type]
    chosen = rules.targets(session, settings, rule, now=now).customer_ids
    if not rule.categories:
        return sorted(chosen), {}
    brand = session.get(Brand, rule.brand_id)
    assert brand is not None
    prices = {c.customer_id: c.price for c in consenting(session, brand, Scope(rule.purpose, rule.categories), now)}
    return sorted(chosen), {cid: prices[cid] for cid in chosen if cid in prices}


# -- 2. commit -------------------------------------------------------------------------------------------------


def commit(session: Session, chain: ChainGateway, campaign: Campaign) -> Campaign:
    """Publishes the commitment on chain (before the start: the contract refuses it later)."""
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(f"campaign {campaign.id} is already committed (transaction {campaign.commit_tx})")
    brand = session.get(Brand, campaign.brand_id)
    assert brand is not None
    sent = CampaignRegistryClient(chain).commit(
        campaign.campaign_key,
        brand.address,
        campaign.commitment,
        campaign.holdout_bps,
        seconds(campaign.starts_at),
        seconds(campaign.ends_at),
    )
    campaign.commit_tx = sent.tx_hash
    campaign.status = CampaignStatus.COMMITTED
    session.add(campaign)
    session.commit()
    session.refresh(campaign)
    return campaign


# -- 3. start --------------------------------------------------------------------------------------------------


@dataclass
class StartReport:
    campaign: Campaign
    members: int
    holdout: int
    delivery: DeliveryReport | None = None


def start(session: Session, settings: Settings, chain: ChainGateway, campaign: Campaign) -> StartReport:
    """Fixes the members and their arms (once), then delivers the offer to the test arm (idempotent)."""
    if campaign.status == CampaignStatus.DRAFT:
        raise Conflict(f"campaign {campaign.id} is not committed on chain: commit it before its start")
    if campaign.status == CampaignStatus.REVEALED:
        raise Conflict(f"campaign {campaign.id} has ended and is revealed")
    now = chain_clock(chain)
    if now < seconds(campaign.starts_at):
        raise Conflict(
            f"campaign {campaign.id} starts at {_hms(campaign.starts_at)}; the chain's clock reads "
            f"{clock.rfc3339(clock.from_unix(now), digits=0)}"
        )
    if now >= seconds(campaign.ends_at):
        raise Conflict(f"campaign {campaign.id} ended at {_hms(campaign.ends_at)} before it was started")
    rule, offer = session.get(Rule, campaign.rule_id), session.get(Offer, campaign.offer_id)
    assert rule is not None and offer is not None
    if arms(session, campaign) is None:
        ids, _ = audience_now(session, settings, chain, rule)
        salt = _b(campaign.salt)
        addresses = addresses_of(session, ids)
        members = [
            CampaignMember(
                campaign_id=campaign.id,  # type: ignore[arg-type]
                customer_id=cid,
                bucket=(bucket := ex.assignment_bucket(salt, addresses[cid])),
                holdout=bucket < campaign.holdout_bps,
            )
            for cid in ids
        ]
        session.add_all(members)
        campaign.status = CampaignStatus.RUNNING
        session.add(campaign)
        session.commit()
        session.refresh(campaign)
    test_ids = [
        int(i)
        for i in session.exec(
            select(CampaignMember.customer_id).where(
                CampaignMember.campaign_id == campaign.id, col(CampaignMember.holdout).is_(False)
            )
        ).all()
    ]
    counted = arms(session, campaign) or Arms(0, 0)
    report = StartReport(campaign, counted.test + counted.holdout, counted.holdout)
    if test_ids:
        report.delivery = deliver_in_batches(
            session, settings, chain, rule=rule, offer=offer, customer_ids=test_ids, campaign=campaign
        )
    return report


# -- 4. finish: evaluate and reveal ------------------------------------------------------------------------------


def finish(session: Session, settings: Settings, chain: ChainGateway, campaign: Campaign) -> Campaign:
    """After the end: evaluates (once; the stored results are what is revealed) and reveals salt and results hash."""
    if campaign.status == CampaignStatus.REVEALED:
        raise Conflict(f"campaign {campaign.id} is already revealed (transaction {campaign.reveal_tx})")
    if campaign.status == CampaignStatus.DRAFT:
        raise Conflict(f"campaign {campaign.id} was never committed on chain")
    now = chain_clock(chain)
    if now < seconds(campaign.ends_at):
        raise Conflict(
            f"campaign {campaign.id} ends at {_hms(campaign.ends_at)}; the chain's clock reads "
            f"{clock.rfc3339(clock.from_unix(now), digits=0)}"
        )
    if campaign.results is None:
        counted = arms(session, campaign)
        if counted is None:
            raise Conflict(f"campaign {campaign.id} was never started: it has no members to evaluate")
        if counted.test < 2 or counted.holdout < 2:
            raise Conflict(
                f"campaign {campaign.id} has {counted.test} test and {counted.holdout} holdout members: each arm "
                "needs at least two to be judged"
            )
        document = evaluate_campaign(session, settings, campaign)
        campaign.results = canonical_json(document).decode()
        campaign.results_hash = keccak_hex(canonical_json(document))
        session.add(campaign)
        session.commit()  # before the reveal: a retry reveals these very results
        session.refresh(campaign)
    assert campaign.results_hash is not None
    sent = CampaignRegistryClient(chain).reveal(
        campaign.campaign_key, campaign.params_hash, campaign.salt, campaign.results_hash
    )
    campaign.reveal_tx = sent.tx_hash
    campaign.status = CampaignStatus.REVEALED
    session.add(campaign)
    session.commit()
    session.refresh(campaign)
    return campaign


# -- the operator's tick -----------------------------------------------------------------------------------------


@dataclass
class TickReport:
    started: list[int] = field(default_factory=list)
    revealed: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)


def tick(session: Session, settings: Settings, chain: ChainGateway) -> TickReport:
    """Starts every committed campaign whose start has come and finishes every one past its end."""
    report = TickReport()
    now = chain_clock(chain)
    due = session.exec(
        select(Campaign).where(col(Campaign.status).in_([CampaignStatus.COMMITTED, CampaignStatus.RUNNING]))
    ).all()
    for campaign in due:
        assert campaign.id is not None
        try:
            if now >= seconds(campaign.ends_at):
                if arms(session, campaign) is not None:
                    finish(session, settings, chain, campaign)
                    report.revealed.append(campaign.id)
            elif now >= seconds(campaign.starts_at) and campaign.status == CampaignStatus.COMMITTED:
                start(session, settings, chain, campaign)
                report.started.append(campaign.id)
        except (Conflict, InvalidInput) as exc:
            session.rollback()
            report.failed[campaign.id] = exc.message
    return report


def _hms(moment: datetime) -> str:
    return clock.rfc3339(moment, digits=0)


def _b(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))
