"""Campaign pages in real headless Chromium against the live app: the brand plans a campaign (power figure before
the commitment), commits, starts and finishes it and reads its results with CIs as a chart; the auditor sees the
commitment and the reveal verify."""

from __future__ import annotations

import json
import random
import secrets
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, select
from web3 import Web3

from app.models.crm import CampaignMember
from tests import factories
from tests.conftest import make_brand
from tests.pages.conftest import DESKTOP, PHONE, TIMEZONE, assert_clean, fits_width, new_page, shot

pytestmark = pytest.mark.chain

LEAD = 15  # seconds from planning to the start: the page's clicks and the commitment fit in it, on a busy machine too


def _local(seconds: int) -> str:
    """What a person in the browser's zone types into a datetime-local field for that moment."""
    return datetime.fromtimestamp(seconds, ZoneInfo(TIMEZONE)).strftime("%Y-%m-%dT%H:%M:%S")


def test_brand_runs_a_campaign_and_the_auditor_sees_it_verify(live, browser, engine, dev_accounts, w3) -> None:
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand, headers = make_brand(live.api, admin, dev_accounts[6], name="Campaigner")
    api_key = headers["Authorization"].removeprefix("Bearer ")
    rng = random.Random(3)
    week_ago = datetime.now(UTC) - timedelta(days=7)
    for i in range(150):
        cid = factories.customer(engine, Web3.to_checksum_address(secrets.token_bytes(20)))
        factories.purchase(engine, cid, brand["id"], week_ago, rng.randint(1_000, 40_000), f"page-old-{i}")
    offer = factories.offer(engine, brand["id"], name="Comeback note")
    factories.rule(engine, brand["id"], offer.id, name="Everyone of Campaigner")

    page = new_page(browser, DESKTOP)
    page.goto(f"{live.url}/brand")
    page.fill("#api-key", api_key)
    page.click("#signin-submit")
    page.wait_for_selector("body[data-loaded=true]")
    assert "Everyone of Campaigner" in page.locator("#c-rule").inner_text()

    # The chain's clock judges the start: earlier tests on the shared anvil may have moved it past this machine's.
    starts = max(int(time.time()), int(w3.eth.get_block("latest")["timestamp"])) + LEAD
    page.fill("#c-name", "Spring comeback")
    page.fill("#c-holdout", "0.3")
    page.select_option("#c-metric", "conversion")
    page.fill("#c-days", "1")
    page.fill("#c-start", _local(starts))
    page.fill("#c-end", _local(starts + LEAD))
    page.click("#c-create")
    page.wait_for_selector(".campaign-mde")
    plan = page.locator("#campaign-plan").text_content() or ""
    assert "Audience now" in plan and "150" in plan and "105 / 45" in plan
    assert "pts" in page.locator(".campaign-mde").inner_text()  # the power figure, before anything is on chain
    shot(page, "brand-campaign-plan")
    (listed,) = live.api.get("/brands/me/campaigns", headers=headers).json()
    assert listed["status"] == "draft" and listed["starts_at"] == datetime.fromtimestamp(starts, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )  # the page sent the moment typed in Seoul with its zone

    page.click("#campaign-commit")
    page.wait_for_selector("#campaign-commit", state="detached")
    row = page.locator(f'#campaigns-body tr[data-campaign="{listed["id"]}"]')
    row.locator('button[data-action="start"]').wait_for()
    assert "committed" in row.inner_text()

    factories.move_chain_to(w3, starts + 1)
    row.locator('button[data-action="start"]').click()
    row.locator('button[data-action="finish"]').wait_for()
    assert "Started: 150 members" in page.locator("#campaign-msg").inner_text()
    with Session(engine) as session:
        members = session.exec(select(CampaignMember).where(CampaignMember.campaign_id == listed["id"])).all()
    for m in members:
        if rng.random() < (0.1 if m.holdout else 0.5):
            at = datetime.fromtimestamp(starts + 2, UTC)
            factories.purchase(
                engine, m.customer_id, brand["id"], at, rng.randint(5_000, 9_000), f"page-new-{m.customer_id}"
            )

    factories.move_chain_to(w3, starts + LEAD + 1)
    row.locator('button[data-action="finish"]').click()
    page.wait_for_selector("#campaign-ci-chart")
    results = live.api.get(f"/brands/me/campaigns/{listed['id']}/results", headers=headers).json()["results"]
    shown = page.locator('#campaign-results tr[data-metric="conversion"] .p-value').inner_text()
    p = results["conversion"]["p_value"]
    assert shown == ("< 0.0001" if p < 0.0001 else f"{p:.4f}")
    assert "revealed on chain" in page.locator("#campaign-results h3").inner_text()
    intervals = json.loads(page.locator("#campaign-ci-chart").get_attribute("data-intervals") or "[]")
    assert intervals[0]["label"] == "Conversion uplift (points)" and len(intervals) >= 2
    for ci in intervals:
        assert ci["low"] < ci["estimate"] < ci["high"]
    assert intervals[0]["low"] == pytest.approx(results["conversion"]["uplift_abs_ci"]["low"] * 100)
    # The chart is drawn by chart.js from those intervals: the canvas holds a chart with the floating bars.
    bars = page.evaluate("document.querySelector('#campaign-ci-chart')._chart.data.datasets[0].data")
    assert bars[0] == pytest.approx([intervals[0]["low"], intervals[0]["high"]])
    assert "Split as committed" in page.locator("#campaign-srm").inner_text()
    shot(page, "brand-campaign-results")
    assert_clean(page, live.url, "brand console (campaigns)")

    phone = new_page(browser, PHONE)
    phone.goto(f"{live.url}/brand")
    phone.fill("#api-key", api_key)
    phone.click("#signin-submit")
    phone.wait_for_selector("#campaign-ci-chart")
    phone.locator("#campaigns").scroll_into_view_if_needed()
    assert fits_width(phone)
    assert_clean(phone, live.url, "brand console on a phone (campaigns)")

    token = live.api.post("/auditors/tokens", json={"label": "pages"}, headers=admin).json()["token"]
    auditor = new_page(browser, DESKTOP)
    auditor.goto(f"{live.url}/auditor")
    auditor.fill("#token", token)
    auditor.click("#signin-submit")
    auditor.wait_for_selector("body[data-loaded=true]")
    audited = auditor.locator(f'#campaigns-audit-body tr[data-campaign-key="{listed["campaign_key"]}"]')
    text = audited.inner_text()
    assert "verifies" in text and "does not verify" not in text and "150" in text and "salt" in text
    shot(auditor, "auditor-campaigns")
    assert_clean(auditor, live.url, "auditor view (campaigns)")
