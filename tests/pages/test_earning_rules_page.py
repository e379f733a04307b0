"""Brand console: the earning-rules panel shows the programme's bounds and every version, saves a new one, and
lists each row a refused version breaks (the server's 422 in its words), at 375 and 1280 px in headless Chromium."""

from __future__ import annotations

import pytest

from tests.conftest import make_brand
from tests.pages.conftest import DESKTOP, PHONE, SHOTS, assert_clean, fits_width, new_page, shot

pytestmark = pytest.mark.chain


def _signed_in(browser, live, viewport: dict[str, int], api_key: str):  # type: ignore[no-untyped-def]
    page = new_page(browser, viewport)
    page.goto(f"{live.url}/brand")
    page.fill("#api-key", api_key)
    page.click("#signin-submit")
    page.wait_for_selector("body[data-loaded=true]")
    page.wait_for_selector("#earning-bounds")
    return page


def _fill_row(page, n: int, category: str, tier: str, extra: str) -> None:  # type: ignore[no-untyped-def]
    row = page.locator("#earning-rows .earning-row").nth(n)
    row.locator(".earning-category").select_option(category)
    row.locator(".earning-tier").select_option(tier)
    row.locator(".earning-extra").fill(extra)


def test_a_version_is_refused_row_by_row_then_saved_and_listed(live, browser, dev_accounts) -> None:
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    _, headers = make_brand(live.api, admin, dev_accounts[7], name="Extra")
    api_key = headers["Authorization"].removeprefix("Bearer ")

    page = _signed_in(browser, live, DESKTOP, api_key)
    bounds = page.inner_text("#earning-bounds")
    assert "1 to 500 bps" in bounds and "up to 600 bps" in bounds and "vip 300" in bounds
    assert "No earning rules yet" in page.inner_text("#earning-body")
    page.click("#earning-box summary")
    _fill_row(page, 0, "shoes", "vip", "400")  # 300 + 400 > 600
    page.click("#earning-add")
    _fill_row(page, 1, "bags", "gold", "700")  # above 500
    page.click("#earning-submit")
    page.wait_for_selector("#earning-msg .notice.error")
    problems = page.locator("#earning-msg .earning-problems li").all_inner_texts()
    assert len(problems) == 2
    assert problems[0].startswith("Row 1:") and "ceiling of 600" in problems[0]
    assert problems[1].startswith("Row 2:") and "1..500" in problems[1]
    assert "Nothing was saved" in page.inner_text("#earning-msg")
    assert live.api.get("/brands/me/earning-rules", headers=headers).json()["history"] == []
    shot(page, "brand-earning-refused")

    page.locator("#earning-rows .earning-row").nth(0).locator(".earning-extra").fill("250")
    page.locator("#earning-rows .earning-row").nth(1).locator(".earning-extra").fill("50")
    page.click("#earning-submit")
    page.wait_for_selector("#earning-msg .notice.ok")
    assert "Version 1 saved" in page.inner_text("#earning-msg")
    row = page.locator('#earning-body tr[data-version="1"]')
    row.wait_for()
    assert row.locator(".earning-status").inner_text().strip() == "pending"
    assert "shoes · vip: +250 bps" in row.inner_text() and "bags · gold: +50 bps" in row.inner_text()
    effective = live.api.get("/brands/me/earning-rules", headers=headers).json()["current"]["effective_epoch"]
    assert row.locator("td").nth(1).inner_text().strip() == str(effective)
    shot(page, "brand-earning")
    page.locator("#earning").screenshot(path=str(SHOTS / "brand-earning-panel.png"))
    assert_clean(page, live.url, "brand console (earning rules)")

    phone = _signed_in(browser, live, PHONE, api_key)
    phone.locator("#earning").scroll_into_view_if_needed()
    phone.click("#earning-box summary")
    assert phone.locator("#earning-rows .earning-row").count() == 2  # the current version's rows, to edit
    phone.locator("#earning-rows .earning-row").nth(0).locator(".earning-extra").fill("5000")
    phone.click("#earning-submit")
    phone.wait_for_selector("#earning-msg .notice.error")
    assert "Row 1:" in phone.inner_text("#earning-msg")
    assert fits_width(phone)
    phone.locator("#earning").screenshot(path=str(SHOTS / "brand-earning-phone.png"))
    assert_clean(phone, live.url, "brand console on a phone (earning rules)")
