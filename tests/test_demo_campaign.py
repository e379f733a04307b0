"""The demo seeds a finished campaign with a real result: committed, run, evaluated and revealed, and it verifies."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app import db
from app.audit.chain import ChainReader
from app.audit.checks.campaigns import verdicts
from app.chain.campaigns import CampaignRegistryClient
from app.chain.gateway import ChainGateway
from app.demo import seed
from app.models.crm import Campaign, CampaignStatus

pytestmark = pytest.mark.chain


def test_the_demo_seeds_a_revealed_campaign_that_verifies(settings) -> None:
    credentials = seed(settings, customers=60)
    assert credentials.seeded
    engine = db.make_engine(settings.sqlalchemy_url)
    try:
        with Session(engine) as session:
            (campaign,) = session.exec(select(Campaign)).all()
        assert campaign.status == CampaignStatus.REVEALED and campaign.results is not None
        on_chain = CampaignRegistryClient(ChainGateway(settings)).campaign(campaign.campaign_key)
        assert on_chain is not None and on_chain.revealed and on_chain.results_hash == campaign.results_hash
        reader = ChainReader(ChainGateway(settings))
        (verdict,) = verdicts(engine, reader, reader.head())
        assert verdict.verified is True, [p.evidence for p in verdict.problems]
        assert verdict.members is not None and verdict.members >= 20
    finally:
        engine.dispose()
