"""Campaign routes: a brand's campaigns (create with a power plan, commit, start, finish, results), the operator's
tick, and the auditors' view of commitments and reveals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from app.api.deps import AuditorDep, ChainDep, CurrentBrand, OperatorDep, SessionDep, SettingsDep
from app.api.schemas import DocumentedRoute, Id, errors
from app.api.schemas.campaigns import (
    CampaignAudit,
    CampaignCreate,
    CampaignCreated,
    CampaignPublic,
    CampaignResults,
    CampaignStarted,
    CampaignTickPublic,
    DeliveredPublic,
    PlanPublic,
    ResultsPublic,
    plan_public,
)
from app.audit.chain import ChainReader
from app.audit.checks.campaigns import verdicts
from app.errors import NotFound
from app.models.crm import Campaign, CampaignStatus
from app.services import campaign_results
from app.services import campaigns as service

router = APIRouter(
    prefix="/brands/me/campaigns", tags=["campaigns"], route_class=DocumentedRoute, responses=errors(402, 404, 409)
)
operations = APIRouter(tags=["campaigns"], route_class=DocumentedRoute, responses=errors(402, 409))

CampaignId = Annotated[Id, Path(description="The campaign's id")]


def _public(session: SessionDep, campaign: Campaign) -> CampaignPublic:
    return CampaignPublic.of(campaign, service.arms(session, campaign))


@router.post("", status_code=201)
def create_campaign(
    *, body: CampaignCreate, session: SessionDep, settings: SettingsDep, chain: ChainDep, brand: CurrentBrand
) -> CampaignCreated:
    """Creates a draft campaign and shows its power plan; nothing is on chain until it is committed (brand)."""
    campaign = service.create(session, settings, chain, brand, body.domain())
    plan = service.plan(session, settings, chain, campaign)
    return CampaignCreated(campaign=_public(session, campaign), plan=plan_public(plan))


@router.get("")
def read_campaigns(*, session: SessionDep, brand: CurrentBrand) -> list[CampaignPublic]:
    """The brand's campaigns, newest first (brand)."""
    return [_public(session, c) for c in service.list_of(session, brand)]


@router.get("/{campaign_id}")
def read_campaign(*, campaign_id: CampaignId, session: SessionDep, brand: CurrentBrand) -> CampaignPublic:
    """One campaign (brand)."""
    return _public(session, service.get(session, brand, campaign_id))


@router.get("/{campaign_id}/plan")
def read_campaign_plan(
    *, campaign_id: CampaignId, session: SessionDep, settings: SettingsDep, chain: ChainDep, brand: CurrentBrand
) -> PlanPublic:
    """Audience size now, and the minimum detectable effect it gives at 80% power (brand)."""
    campaign = service.get(session, brand, campaign_id)
    return plan_public(service.plan(session, settings, chain, campaign))


@router.post("/{campaign_id}/commit")
def commit_campaign(
    *, campaign_id: CampaignId, session: SessionDep, chain: ChainDep, brand: CurrentBrand
) -> CampaignPublic:
    """Publishes the commitment to the parameters and the secret salt on chain, before the start (brand)."""
    campaign = service.commit(session, chain, service.get(session, brand, campaign_id))
    return _public(session, campaign)


@router.post("/{campaign_id}/start")
def start_campaign(
    *, campaign_id: CampaignId, session: SessionDep, settings: SettingsDep, chain: ChainDep, brand: CurrentBrand
) -> CampaignStarted:
    """At the start: fixes members and arms, delivers the offer to the test arm; safe to repeat (brand)."""
    started = service.start(session, settings, chain, service.get(session, brand, campaign_id))
    d = started.delivery
    delivery = (
        None
        if d is None
        else DeliveredPublic(
            delivered=len(d.delivered),
            not_covered=len(d.not_covered),
            already=len(d.already),
            cost=d.cost,
            access_request_id=d.access_request_id,
        )
    )
    return CampaignStarted(campaign=_public(session, started.campaign), delivery=delivery)


@router.post("/{campaign_id}/finish")
def finish_campaign(
    *, campaign_id: CampaignId, session: SessionDep, settings: SettingsDep, chain: ChainDep, brand: CurrentBrand
) -> CampaignResults:
    """After the end: evaluates, then reveals the salt and the results' hash on chain (brand)."""
    campaign = service.finish(session, settings, chain, service.get(session, brand, campaign_id))
    return _results(session, campaign)


@router.get("/{campaign_id}/results")
def read_campaign_results(*, campaign_id: CampaignId, session: SessionDep, brand: CurrentBrand) -> CampaignResults:
    """The results (hit ratio, uplift with 95% CIs, tests, sample ratio, CUPED, guardrails) once evaluated (brand)."""
    return _results(session, service.get(session, brand, campaign_id))


def _results(session: SessionDep, campaign: Campaign) -> CampaignResults:
    document = campaign_results.results_of(campaign)
    if document is None or campaign.results_hash is None:
        raise NotFound(f"campaign {campaign.id} has no results yet: it is evaluated after its end ({campaign.status})")
    return CampaignResults(
        campaign=_public(session, campaign),
        results=ResultsPublic.model_validate(document),
        results_hash=campaign.results_hash,
        revealed=campaign.status == CampaignStatus.REVEALED,
    )


@operations.post("/campaigns/tick")
def tick_campaigns(
    *, session: SessionDep, settings: SettingsDep, chain: ChainDep, _: OperatorDep
) -> CampaignTickPublic:
    """Starts every committed campaign whose start has come, finishes every one past its end (operator)."""
    done = service.tick(session, settings, chain)
    return CampaignTickPublic(
        started=done.started, revealed=done.revealed, failed={str(k): v for k, v in done.failed.items()}
    )


@operations.get("/audit/campaigns")
def read_campaign_audits(*, session: SessionDep, chain: ChainDep, _: AuditorDep) -> list[CampaignAudit]:
    """Every campaign committed on chain, its reveal, and whether it verifies (auditor or operator)."""
    out = []
    reader = ChainReader(chain)
    for v in verdicts(session.get_bind(), reader, reader.head()):  # type: ignore[arg-type]
        c, r = v.committed, v.revealed
        out.append(
            CampaignAudit.model_validate(
                {
                    "campaign_key": c.campaign_key,
                    "brand": c.brand,
                    "holdout_bps": c.holdout_bps,
                    "starts_at": c.starts_at,  # Unix seconds, as the chain keeps them (Timestamp zones them)
                    "ends_at": c.ends_at,
                    "committed_at": v.committed_time,
                    "commit_block": c.block,
                    "commit_tx": c.tx_hash,
                    "revealed_at": v.revealed_time,
                    "reveal_tx": r.tx_hash if r else None,
                    "params_hash": r.params_hash if r else None,
                    "salt": r.salt if r else None,
                    "results_hash": r.results_hash if r else None,
                    "members": v.members,
                    "verified": v.verified,
                    "problems": [p.evidence for p in v.problems],
                }
            )
        )
    return out
