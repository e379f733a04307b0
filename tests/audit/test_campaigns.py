"""The campaigns audit: a revealed campaign verifies; a moved member, an edited result and a delivery to a
holdout member are each named."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session, select

from app.audit.chain import ChainReader
from app.audit.checks.campaigns import check_campaigns, verdicts
from app.audit.report import CheckResult
from app.chain.gateway import ChainGateway
from app.models.accounts import Customer
from app.models.crm import Campaign, CampaignMember, Delivery
from tests import factories

pytestmark = pytest.mark.chain


@pytest.fixture()
def revealed(engine, settings, w3, deployment_of, operator, dev_accounts) -> Campaign:
    brand_id = factories.funded_brand(engine, w3, deployment_of(settings), operator, dev_accounts[5], "Acme", 10**24)
    return factories.finished_campaign(engine, settings, brand_id, customers=80)


def _audit(engine, settings) -> CheckResult:
    result = CheckResult("campaigns", "campaigns")
    reader = ChainReader(ChainGateway(settings))
    check_campaigns(result, engine, reader, reader.head())
    return result


def test_an_honest_campaign_verifies(engine, settings, revealed) -> None:
    result = _audit(engine, settings)
    assert result.status == "ok", [d.evidence for d in result.discrepancies]
    assert result.figures == {"committed": 1, "revealed": 1, "members_checked": 80}
    reader = ChainReader(ChainGateway(settings))
    (verdict,) = verdicts(engine, reader, reader.head())
    assert verdict.verified is True and verdict.committed_time < verdict.committed.starts_at


def test_a_moved_member_is_named(engine, settings, revealed) -> None:
    with Session(engine) as session:
        member = session.exec(
            select(CampaignMember).where(CampaignMember.campaign_id == revealed.id, CampaignMember.holdout)
        ).first()
        assert member is not None
        member.holdout = False  # into the test arm, after the fact
        session.add(member)
        session.commit()
        address = session.get(Customer, member.customer_id).address  # type: ignore[union-attr]
        bucket = member.bucket
    result = _audit(engine, settings)
    moved = [d for d in result.discrepancies if d.record.get("customer") == address]
    assert moved and "the revealed salt puts them in the holdout" in moved[0].evidence
    assert moved[0].found == {"bucket": bucket, "holdout": False}


def test_an_edited_result_is_named(engine, settings, revealed) -> None:
    with Session(engine) as session:
        campaign = session.get(Campaign, revealed.id)
        assert campaign is not None and campaign.results is not None
        document = json.loads(campaign.results)
        document["conversion"]["test_hits"] += 5  # a better story than the data tells
        campaign.results = json.dumps(document, sort_keys=True, separators=(",", ":"))
        session.add(campaign)
        session.commit()
    result = _audit(engine, settings)
    fields = {d.record.get("field") for d in result.discrepancies}
    # The stored results no longer hash to the revealed hash, and the figure differs from the re-derivation.
    assert fields == {"results", "results.conversion.test_hits"}
    named = next(d for d in result.discrepancies if d.record.get("field") == "results.conversion.test_hits")
    assert named.found == named.expected + 5


def test_a_delivery_to_a_holdout_member_is_named(engine, settings, revealed) -> None:
    with Session(engine) as session:
        member = session.exec(
            select(CampaignMember).where(CampaignMember.campaign_id == revealed.id, CampaignMember.holdout)
        ).first()
        assert member is not None
        leak = Delivery(
            offer_id=revealed.offer_id,
            customer_id=member.customer_id,
            rule_id=revealed.rule_id,
            campaign_id=revealed.id,
            source=f"campaign:{revealed.id}",
            channel="inbox",
            why="{}",
        )
        session.add(leak)
        session.commit()
        leak_id, held = leak.id, member.customer_id
    result = _audit(engine, settings)
    (named,) = [d for d in result.discrepancies if d.record.get("delivery") == leak_id]
    assert named.record["customer_id"] == held and "is in the holdout" in named.evidence
