"""Campaigns through the API on a real anvil and SQLite: create with a plan, commit before the start, start,
deliver to the test arm only, finish with real statistics, reveal on chain, audit; and every refusal a 422."""

from __future__ import annotations

import json
import random
import secrets
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select
from statsmodels.stats.proportion import proportions_ztest
from web3 import Web3

from app import db
from app.analytics import experiments as ex
from app.chain.campaigns import CampaignRegistryClient
from app.chain.gateway import ChainGateway
from app.domain import Category, Purpose
from app.models.crm import CampaignMember, Delivery
from app.services import deliveries as delivery_service
from app.services.campaign_params import canonical_json, keccak_hex
from tests import factories
from tests.conftest import make_brand

pytestmark = pytest.mark.chain

BUDGET = 10**24
LEAD = 6  # seconds from creation to the start: enough to commit, short enough to wait for


@pytest.fixture()
def engine(settings, client):  # `client` first: its start-up applies the migrations
    engine = db.make_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def brand(client, admin_headers, engine, w3, settings, deployment_of, operator, dev_accounts):
    created, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    factories.funded_brand(engine, w3, deployment_of(settings), operator, dev_accounts[5], "Acme", BUDGET)
    return created, headers


def _chain_time(w3: Web3) -> int:
    return max(int(w3.eth.get_block("pending")["timestamp"]), int(time.time()))


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _body(offer_id: int, rule_id: int, starts: int, /, **changes: object) -> dict:
    return {
        "name": "Spring",
        "offer_id": offer_id,
        "rule_id": rule_id,
        "holdout_share": 0.3,
        "metric": "conversion",
        "conversion_days": 1,
        "guardrails": ["spend"],
        "starts_at": _iso(starts),
        "ends_at": _iso(starts + LEAD),
    } | changes


def _customers(engine, brand_id: int, n: int, seed: int) -> list[int]:
    """n customers of the brand (a purchase a week ago, and spend in the pre-period for CUPED)."""
    rng = random.Random(seed)
    ids = []
    week_ago = datetime.now(UTC) - timedelta(days=7)
    for i in range(n):
        cid = factories.customer(engine, Web3.to_checksum_address(secrets.token_bytes(20)))
        factories.purchase(engine, cid, brand_id, week_ago, rng.randint(1_000, 50_000), f"old-{seed}-{i}")
        ids.append(cid)
    return ids


def test_a_campaign_runs_from_commitment_to_audited_reveal(
    client, brand, engine, settings, w3, auditor_headers, admin_headers
) -> None:
    created_brand, headers = brand
    brand_id = created_brand["id"]
    offer = factories.offer(engine, brand_id).id
    rule = factories.rule(engine, brand_id, offer).id
    _customers(engine, brand_id, 300, seed=7)
    starts = _chain_time(w3) + LEAD

    made = client.post("/brands/me/campaigns", json=_body(offer, rule, starts), headers=headers)
    assert made.status_code == 201, made.text
    campaign, plan = made.json()["campaign"], made.json()["plan"]
    assert campaign["status"] == "draft" and campaign["holdout_bps"] == 3_000 and campaign["salt"] is None
    assert plan["audience"] == 300 and plan["holdout_n"] == 90 and plan["test_n"] == 210
    expected = ex.conversion_power_plan(210, 90, plan["baseline"])
    assert plan["mde_abs"] == pytest.approx(expected.mde_abs, rel=1e-12) and 0 < plan["mde_abs"] < 1
    cid = campaign["id"]

    committed = client.post(f"/brands/me/campaigns/{cid}/commit", headers=headers)
    assert committed.status_code == 200, committed.text
    assert committed.json()["status"] == "committed"
    chain = CampaignRegistryClient(ChainGateway(settings))
    on_chain = chain.campaign(campaign["campaign_key"])
    assert on_chain is not None and on_chain.commitment == campaign["commitment"] and not on_chain.revealed
    assert on_chain.committed_at < starts
    again = client.post(f"/brands/me/campaigns/{cid}/commit", headers=headers)
    assert again.status_code == 409

    early = client.post(f"/brands/me/campaigns/{cid}/start", headers=headers)
    assert early.status_code == 409 and "starts at" in early.json()["message"]
    factories.move_chain_to(w3, starts)
    started = client.post(f"/brands/me/campaigns/{cid}/start", headers=headers)
    assert started.status_code == 200, started.text
    arms = started.json()["campaign"]["members"]
    assert arms["test"] + arms["holdout"] == 300 and started.json()["delivery"]["delivered"] == arms["test"]
    repeat = client.post(f"/brands/me/campaigns/{cid}/start", headers=headers)
    assert repeat.status_code == 200 and repeat.json()["delivery"]["already"] == arms["test"]

    with Session(engine) as session:
        members = session.exec(select(CampaignMember).where(CampaignMember.campaign_id == cid)).all()
        delivered = {d.customer_id for d in session.exec(select(Delivery).where(Delivery.campaign_id == cid)).all()}
    holdout = {m.customer_id for m in members if m.holdout}
    assert delivered == {m.customer_id for m in members} - holdout and not delivered & holdout
    # Seeded outcomes: the test arm converts at 45%, the holdout at 10%, inside the campaign's window.
    rng = random.Random(11)
    hits = {True: 0, False: 0}
    for m in members:
        if rng.random() < (0.10 if m.holdout else 0.45):
            hits[m.holdout] += 1
            at = datetime.fromtimestamp(starts + 1, UTC)
            factories.purchase(engine, m.customer_id, brand_id, at, rng.randint(5_000, 9_000), f"new-{m.customer_id}")
    too_early = client.post(f"/brands/me/campaigns/{cid}/finish", headers=headers)
    assert too_early.status_code == 409
    assert client.get(f"/brands/me/campaigns/{cid}/results", headers=headers).status_code == 404

    factories.move_chain_to(w3, starts + LEAD)
    finished = client.post(f"/brands/me/campaigns/{cid}/finish", headers=headers)
    assert finished.status_code == 200, finished.text
    body = finished.json()
    results = body["results"]
    assert body["revealed"] and body["campaign"]["salt"] is not None
    conversion = results["conversion"]
    n_c, n_t = len(holdout), 300 - len(holdout)
    assert (conversion["test_hits"], conversion["holdout_hits"]) == (hits[False], hits[True])
    _, p = proportions_ztest([hits[False], hits[True]], [n_t, n_c])
    # The service's figures are experiments.py's, on the same counts: exactly, not approximately.
    same = ex.conversion_test(hits[False], n_t, hits[True], n_c)
    assert (conversion["p_value"], conversion["z"]) == (same.p_value, same.z)
    assert conversion["uplift_abs_ci"] == {"low": same.uplift_abs_ci.low, "high": same.uplift_abs_ci.high}
    assert conversion["p_value"] == pytest.approx(float(p), abs=1e-12) and conversion["significant"]
    assert conversion["uplift_abs_ci"]["low"] < conversion["uplift_abs"] < conversion["uplift_abs_ci"]["high"]
    assert results["sample_ratio"]["mismatch"] is False and results["guardrails"][0]["metric"] == "spend"
    # Every member's arm re-derives from the revealed salt.
    salt = bytes.fromhex(body["campaign"]["salt"][2:])
    with Session(engine) as session:
        for m in members:
            address = session.exec(
                select(factories.Customer.address).where(factories.Customer.id == m.customer_id)
            ).one()
            assert ex.in_holdout(salt, address, 3_000) == m.holdout
    revealed = chain.campaign(campaign["campaign_key"])
    assert revealed is not None and revealed.revealed and revealed.salt == body["campaign"]["salt"]
    stored = client.get(f"/brands/me/campaigns/{cid}/results", headers=headers).json()
    assert stored["results_hash"] == revealed.results_hash == body["results_hash"]

    audited = client.post("/audit/verify", headers=auditor_headers).json()
    check = next(c for c in audited["checks"] if c["check"] == "campaigns")
    assert check["status"] == "ok", check and check["figures"]["members_checked"] == 300
    listed = client.get("/audit/campaigns", headers=auditor_headers)
    assert listed.status_code == 200
    (seen,) = [a for a in listed.json() if a["campaign_key"] == campaign["campaign_key"]]
    assert seen["verified"] is True and seen["members"] == 300 and seen["problems"] == []
    assert keccak_hex(canonical_json(json.loads(json.dumps(results)))) != ""  # the document is plain JSON


def test_a_data_reading_campaign_reaches_only_covered_test_members(
    client, brand, engine, settings, w3, deployment_of, relayer, dev_accounts, monkeypatch
) -> None:
    # One access batch per customer here: a large arm is delivered in batches that each fit in a block.
    monkeypatch.setattr(delivery_service, "DELIVERY_BATCH", 1)
    created_brand, headers = brand
    brand_id = created_brand["id"]
    offer = factories.offer(engine, brand_id).id
    mask = int(Category.SEGMENT)
    rule = factories.rule(engine, brand_id, offer, categories=mask, audience="{}").id
    d = deployment_of(settings)
    consenting = dev_accounts[:4]
    for account in consenting:
        factories.customer(engine, account.address)
        factories.grant_by_signature(w3, d, relayer, account, dev_accounts[5].address, int(Purpose.MARKETING), mask, 7)
    factories.customer(engine, dev_accounts[4].address)  # known, not consenting: never a member
    starts = _chain_time(w3) + LEAD
    made = client.post("/brands/me/campaigns", json=_body(offer, rule, starts, holdout_share=0.1), headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["plan"]["audience"] == 4 and made.json()["plan"]["access_cost"] == "25"
    cid = made.json()["campaign"]["id"]
    assert client.post(f"/brands/me/campaigns/{cid}/commit", headers=headers).status_code == 200
    factories.move_chain_to(w3, starts)
    started = client.post(f"/brands/me/campaigns/{cid}/start", headers=headers)
    assert started.status_code == 200, started.text
    with Session(engine) as session:
        members = session.exec(select(CampaignMember).where(CampaignMember.campaign_id == cid)).all()
        deliveries = session.exec(select(Delivery).where(Delivery.campaign_id == cid)).all()
    assert len(members) == 4
    test_arm = {m.customer_id for m in members if not m.holdout}
    assert {x.customer_id for x in deliveries} == test_arm
    assert all(x.access_request_id and x.price == 7 for x in deliveries)
    assert len({x.access_request_id for x in deliveries}) == len(deliveries)  # one recordAccess per batch
    delivery = started.json()["delivery"]
    if test_arm:
        assert delivery["cost"] == str(7 * len(test_arm)) and delivery["access_request_id"]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"holdout_share": 0}, "holdout_share must be in (0, 0.5]"),
        ({"holdout_share": 0.51}, "holdout_share must be in (0, 0.5]"),
        ({"holdout_share": -0.1}, "holdout_share must be in (0, 0.5]"),
        ({"holdout_share": 0.00001}, "under one basis point"),
        ({"ends_at": "START-1"}, "must be after starts_at"),
        ({"starts_at": "PAST"}, "is not in the future"),
        ({"metric": "clicks"}, "metric must be one of"),
        ({"guardrails": ["conversion"]}, "is the primary metric"),
        ({"guardrails": ["refunds"]}, "unknown guardrail"),
        ({"offer_id": "OTHER_OFFER"}, "is not one of this brand's offers"),
        ({"rule_id": "OTHER_RULE"}, "is not one of this brand's rules"),
        ({"offer_id": "RICH_OFFER"}, "over budget"),
        ({"offer_id": "LATE_OFFER"}, "cannot be delivered at the campaign's start"),
        ({"conversion_days": 0}, "conversion_days must be between"),
    ],
)
def test_bad_campaigns_are_refused_with_what_is_wrong(
    client, brand, engine, admin_headers, dev_accounts, w3, changes, message
) -> None:
    created_brand, headers = brand
    brand_id = created_brand["id"]
    other, _ = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    offer = factories.offer(engine, brand_id).id
    rule = factories.rule(engine, brand_id, offer).id
    now = _chain_time(w3)
    starts = now + 3600
    named = {
        "OTHER_OFFER": factories.offer(engine, other["id"]).id,
        "OTHER_RULE": factories.rule(engine, other["id"], factories.offer(engine, other["id"]).id).id,
        "RICH_OFFER": factories.offer(engine, brand_id, kind="fixed_bonus", bonus_units=10, budget_units=BUDGET + 1).id,
        "LATE_OFFER": factories.offer(
            engine,
            brand_id,
            valid_from=datetime.fromtimestamp(starts + 60, UTC),
            valid_until=datetime(2100, 1, 1, tzinfo=UTC),
        ).id,
        "START-1": _iso(starts - 1),
        "PAST": _iso(now - 60),
    }
    body = _body(offer, rule, starts, **{k: named.get(v, v) if isinstance(v, str) else v for k, v in changes.items()})
    refused = client.post("/brands/me/campaigns", json=body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert message in refused.json()["message"]
    assert client.get("/brands/me/campaigns", headers=headers).json() == []  # nothing half-written


def test_a_campaign_is_its_brands_only(client, brand, engine, admin_headers, dev_accounts, w3) -> None:
    created_brand, headers = brand
    offer = factories.offer(engine, created_brand["id"]).id
    rule = factories.rule(engine, created_brand["id"], offer).id
    made = client.post("/brands/me/campaigns", json=_body(offer, rule, _chain_time(w3) + 3600), headers=headers)
    assert made.status_code == 201, made.text
    _, other = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    cid = made.json()["campaign"]["id"]
    for path in ("", "/plan", "/results"):
        assert client.get(f"/brands/me/campaigns/{cid}{path}", headers=other).status_code == 404
    assert client.post(f"/brands/me/campaigns/{cid}/commit", headers=other).status_code == 404
    assert client.get("/brands/me/campaigns", headers=other).json() == []
