"""Brand console: the Customer-Offer-Channel map renders the rules' audiences × offers × channels with reach and
results, in real headless Chromium against the live app."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests import factories
from tests.conftest import make_brand
from tests.pages.conftest import DESKTOP, PHONE, assert_clean, fits_width, new_page, shot

pytestmark = pytest.mark.chain


def test_the_console_shows_the_map_with_reach_and_results(live, browser, engine, dev_accounts) -> None:
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand, headers = make_brand(live.api, admin, dev_accounts[5], name="Acme")
    api_key = headers["Authorization"].removeprefix("Bearer ")
    now = datetime.now(UTC)
    buyers = [factories.customer(engine, a.address) for a in dev_accounts[:3]]
    for n, who in enumerate(buyers):
        factories.purchase(engine, who, brand["id"], now - timedelta(days=40), 10_000, f"before-{n}")
    offer = factories.offer(engine, brand["id"], name="Spring voucher")
    window = {
        "kind": "date_window",
        "window_start": (now - timedelta(days=1)).isoformat(),
        "window_end": (now + timedelta(days=1)).isoformat(),
    }
    body = {"name": "Everyone", "offer_id": offer.id, "audience": {"everyone": True}, "trigger": window}
    assert live.api.post("/brands/me/rules", json=body, headers=headers).status_code == 201
    quiet = {"name": "Gone quiet", "offer_id": offer.id, "channel": "email",
             "trigger": {"kind": "behaviour", "event": "high_value_gone_quiet"}}  # fmt: skip
    assert live.api.post("/brands/me/rules", json=quiet, headers=headers).status_code == 201
    assert live.api.post("/crm/tick", headers=admin).json()["fired"][0]["delivered"] == 3
    factories.purchase(engine, buyers[0], brand["id"], now + timedelta(hours=1), 30_000, "after-0")

    page = new_page(browser, DESKTOP)
    page.goto(f"{live.url}/brand")
    page.fill("#api-key", api_key)
    page.click("#signin-submit")
    page.wait_for_selector("body[data-loaded=true]")
    cell = page.locator('#coc-body td.coc-cell[data-audience="everyone"][data-channel="inbox"]')
    assert cell.locator(".coc-customers").inner_text() == "3 customers"
    assert "3 deliveries" in cell.inner_text()
    assert cell.locator(".coc-conversions").inner_text() == "1 conversion (33.3 %)"
    assert cell.locator(".coc-redemptions").inner_text() == "0 redemptions"
    quiet_row = page.locator('#coc-body tr[data-audience="on high_value_gone_quiet"]')
    assert "0 customers" in quiet_row.locator('td.coc-cell[data-channel="email"]').inner_text()
    headers_text = page.locator("#coc-body thead").text_content() or ""
    assert "Spring voucher · inbox" in headers_text and "Spring voucher · email" in headers_text
    shot(page, "brand-coc-map")
    assert_clean(page, live.url, "brand console (C-O-C map)")

    phone = new_page(browser, PHONE)
    phone.goto(f"{live.url}/brand")
    phone.fill("#api-key", api_key)
    phone.click("#signin-submit")
    phone.wait_for_selector("body[data-loaded=true]")
    phone.locator("#coc").scroll_into_view_if_needed()
    assert fits_width(phone)
    assert_clean(phone, live.url, "brand console on a phone (C-O-C map)")


def test_a_rule_is_made_in_the_console_shows_what_it_reads_and_is_paused(live, browser, engine, dev_accounts) -> None:
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    _, headers = make_brand(live.api, admin, dev_accounts[6], name="Bold")
    api_key = headers["Authorization"].removeprefix("Bearer ")
    me = live.api.get("/brands/me", headers=headers).json()
    factories.offer(engine, me["id"], name="Come back")

    page = new_page(browser, DESKTOP)
    page.goto(f"{live.url}/brand")
    page.fill("#api-key", api_key)
    page.click("#signin-submit")
    page.wait_for_selector("body[data-loaded=true]")
    page.click("#rule-box summary")
    page.fill("#rule-name", "Quiet champions")
    page.select_option("#rule-offer", label="Come back (message)")
    page.select_option("#rule-audience-kind", "rfm")
    page.fill("#rule-audience-value", "1,9,9")
    page.select_option("#rule-channel", "email")
    page.select_option("#rule-trigger", "behaviour")
    page.select_option("#rule-event", "high_value_gone_quiet")
    page.click("#rule-submit")
    page.wait_for_selector("#rule-msg .notice.error")
    assert "RFM cell" in page.inner_text("#rule-msg")  # the server's refusal, said in its words
    page.fill("#rule-audience-value", "1,3,3")
    page.click("#rule-submit")
    page.wait_for_selector("#rules-body tr[data-rule]")
    row = page.locator("#rules-body tr[data-rule]")
    assert row.locator(".rule-reads").inner_text().split() == ["contact", "segment"]
    assert "on high_value_gone_quiet" in row.inner_text() and "rfm 1,3,3" in row.inner_text()
    page.wait_for_selector('#coc-body tr[data-audience="rfm 1,3,3 · on high_value_gone_quiet"]')
    row.get_by_role("button", name="Pause").click()
    page.wait_for_selector("#rules-body tr[data-rule] .badge")
    assert page.locator("#rules-body tr[data-rule] .rule-status").inner_text().strip() == "paused"
    shot(page, "brand-rules")
    assert_clean(page, live.url, "brand console (rules)")
