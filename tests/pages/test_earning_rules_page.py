"""Brand console's earning rules in headless Chromium at 375 and 1280 px: the programme's bounds, a new version
made in the form and shown in force from the next epoch, and a refused version named row by row (nothing saved)."""

from __future__ import annotations

import pytest

from tests.conftest import make_brand
from tests.pages.conftest import DESKTOP, PHONE, assert_clean, fits_width, new_page, overflowing, shot

pytestmark = pytest.mark.chain


def _row(page, n: int, category: str, tier: str, extra: str) -> None:
    line = page.locator("#earning-rows [data-earning-row]").nth(n)
    line.locator("[name=category]").select_option(category)
    line.locator("[name=tier]").select_option(tier)
    line.locator("[name=extra_bps]").fill(extra)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_a_brand_makes_a_version_and_sees_a_refusal_row_by_row(live, browser, dev_accounts, viewport) -> None:
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    wide = viewport is DESKTOP  # one live app for the module: a brand of its own per viewport
    _, headers = make_brand(live.api, admin, dev_accounts[7 if wide else 6], name=f"Acme {viewport['width']}")
    page = new_page(browser, viewport)
    page.goto(f"{live.url}/brand")
    page.fill("#api-key", headers["Authorization"].removeprefix("Bearer "))
    page.click("#signin-submit")
    page.wait_for_selector("body[data-loaded=true]")
    page.locator("#earning-body .empty").wait_for()
    assert "programme's tier rates apply" in page.locator("#earning-body").inner_text()
    bounds = page.locator("#earning-bounds").inner_text()
    assert "5.00 % extra" in bounds and "6.00 %" in bounds and "from epoch 1" in bounds

    page.click("#earning-box summary")
    assert page.locator("#earning-rows [data-earning-row]").count() == 0  # nothing pre-filled
    page.click("#earning-add")
    page.click("#earning-add")
    _row(page, 0, "shoes", "gold", "150")
    _row(page, 1, "bags", "vip", "90")
    assert fits_width(page), overflowing(page)
    page.click("#earning-submit")
    page.locator("#earning-msg .notice.ok").wait_for()
    assert "Version 1 saved: 2 rates, in force from epoch 1" in page.locator("#earning-msg").inner_text()
    body = page.locator("#earning-body").inner_text()
    assert "version 1" in body and "+1.50 %" in body and "+0.90 %" in body
    assert page.locator("#earning-submit").inner_text() == "Save as version 2"
    assert page.locator("#earning-rows [data-earning-row]").count() == 2  # the newest version, to edit
    shot(page, f"brand-earning-{viewport['width']}")

    # Out of the bounds: each offending row named, nothing stored.
    _row(page, 0, "shoes", "gold", "900")
    page.locator("#earning-rows [data-earning-row]").nth(1).locator("[name=tier]").select_option("gold")
    page.locator("#earning-rows [data-earning-row]").nth(1).locator("[name=category]").select_option("shoes")
    page.click("#earning-submit")
    page.locator("#earning-msg .notice.error").wait_for()
    refusal = page.locator("#earning-msg").inner_text()
    assert "Not saved" in refusal and "row 1: extra_bps must be 1..500, got 900" in refusal
    assert "row 2: duplicates rows[0] (shoes, gold)" in refusal
    assert live.api.get("/brands/me/earning-rules", headers=headers).json()["current"]["version"] == 1
    assert fits_width(page), overflowing(page)
    shot(page, f"brand-earning-refused-{viewport['width']}")
    assert_clean(page, live.url, "brand console (earning rules)")
    page.context.close()
