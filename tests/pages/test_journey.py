"""End to end in headless Chromium against a live server and the real anvil: a customer signs in with the
built-in development wallet and grants a consent, a brand requests profiles in its console, the customer sees
the access and what it earned, an epoch runs, the customer claims and sees the balance change, and after a
revocation in the wallet the brand's next request returns nothing for that customer. Screenshots of every step
and of the three pages at 375 px and 1280 px go to test-output/pages/."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from app.chain.gateway import ChainGateway
from app.chain.indexer import catch_up
from app.services.epochs import EpochRunner
from tests import factories
from tests.conftest import make_brand
from tests.pages.conftest import (
    DESKTOP,
    PHONE,
    SHOTS,
    assert_clean,
    fits_width,
    new_page,
    overflowing,
    shot,
    wrapped_numbers,
)

pytestmark = pytest.mark.chain

UNITS = 10**18  # CASH smallest units per CASH (18 decimals)


def wait_loaded(page) -> None:
    page.wait_for_selector("body[data-loaded=true]")


def test_customer_brand_epoch_claim_revoke(live, browser, engine, w3, deployment_of, operator, dev_accounts):
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand_key = dev_accounts[5]
    brand, brand_headers = make_brand(live.api, admin, brand_key, name="Acme")
    api_key = brand_headers["Authorization"].removeprefix("Bearer ")
    factories.funded_brand(engine, w3, deployment_of(live.settings), operator, brand_key, "Acme", 100_000 * UNITS)

    # 1. The customer opens the wallet: no injected wallet, so the development wallet is offered.
    wallet = new_page(browser, DESKTOP)
    wallet.goto(f"{live.url}/wallet")
    wallet.wait_for_selector("body[data-ready=true]")
    assert wallet.locator("#devwallet").is_visible()
    assert "for the local stack only" in wallet.locator("#devwallet .tag").inner_text().lower()
    address = wallet.locator("#dev-address").inner_text().strip()
    assert address.startswith("0x") and len(address) == 42
    shot(wallet, "01-wallet-connect")

    wallet.click("#connect-dev")
    wait_loaded(wallet)
    assert "Nothing to claim" in wallet.locator("#claim-relayed").inner_text()
    shot(wallet, "02-wallet-signed-in")

    # A purchase the epoch will pay cashback for (ingestion is the operator's; here straight into the store).
    customer_id = factories.customer(engine, address)
    bought = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    factories.purchase(engine, customer_id, brand["id"], bought, 600_000, "p-1")

    # 2. Grant: typed data from the API, signed in the page with the dev key, relayed on chain.
    wallet.click("#grant-box summary")
    wallet.select_option("#grant-brand", label="Acme")
    wallet.select_option("#grant-purpose", "marketing")
    wallet.fill("#grant-price", "2.50")
    wallet.check("#grant-categories input[value=segment]")
    wallet.check("#grant-categories input[value=interests]")
    wallet.click("#grant-submit")
    wallet.wait_for_selector("#consent-msg .notice.ok")
    row = wallet.locator("#consents-body tr[data-brand=Acme][data-purpose=marketing]")
    assert row.count() == 1
    assert "2.50" in row.inner_text() and "active" in row.inner_text()
    shot(wallet, "03-wallet-consent-granted")

    # The receipt downloads as the exact JSON whose hash is on chain.
    with wallet.expect_download() as download:
        row.get_by_role("button", name="Receipt").click()
    assert download.value.suggested_filename.startswith("consent-receipt-")

    # 3. The brand signs in to its console, counts the audience and requests profiles.
    console = new_page(browser, DESKTOP)
    console.on("dialog", lambda d: d.accept())
    console.goto(f"{live.url}/brand")
    console.fill("#api-key", api_key)
    console.click("#signin-submit")
    wait_loaded(console)
    assert "100,000.00" in console.locator("#budget-body").inner_text()
    console.click("#count")
    console.wait_for_selector("#audience-body .stat")
    console.click("#request")
    console.wait_for_selector("#profiles-body h3")
    console.wait_for_selector("#history-body tbody tr")
    received = [
        a.lower()
        for a in console.locator("#profiles-body tr[data-address]").evaluate_all(
            "rows => rows.map(r => r.dataset.address)"
        )
    ]
    assert received == [address.lower()]
    assert "2.50" in console.locator("#profiles-body .stats").inner_text()
    # The budget panel reloads after the request: wait for its new count, not for any count.
    expect(console.locator("#budget-body")).to_contain_text("1 profile request so far, 1 customer profile received")
    shot(console, "04-brand-profiles-received")

    # 4. The customer sees who accessed what, when, what it earned, linked to its transaction.
    catch_up(live.settings, engine=engine)  # the wallet reads accesses from the mirror
    wallet.reload()
    wait_loaded(wallet)
    access_rows = wallet.locator("#accesses-body tbody tr")
    assert access_rows.count() == 1
    text = access_rows.first.inner_text()
    assert "Acme" in text and "marketing" in text and "2.50" in text
    assert access_rows.first.locator("a[href^='/pages/tx/0x']").count() == 1
    shot(wallet, "05-wallet-access-seen")

    # 5. An epoch runs (the operator's job): purchase cashback plus the paid access.
    epoch = EpochRunner(live.settings, engine, ChainGateway(live.settings)).run(
        datetime.now(UTC) - timedelta(seconds=1)
    )
    factories.pass_challenge_window(w3, int(epoch.epoch.finalises_at.timestamp()))  # the root pays after it
    wallet.reload()
    wait_loaded(wallet)
    cashback = 600_000 * 100 * UNITS // 10_000  # bronze, 1.00 %: 6,000 CASH
    expected = cashback + 250 * UNITS // 100
    rewards = wallet.locator("#rewards-body tbody tr").first.inner_text()
    assert "6,000.00" in rewards and "2.50" in rewards and "6,002.50" in rewards
    claim_button = wallet.locator("#claim-relayed")
    assert "6,002.50" in claim_button.inner_text()
    assert "bronze" in wallet.locator("#profile-body").inner_text()
    shot(wallet, "06-wallet-epoch-settled")

    # 6. Claim (relayed): the balance goes from 0 to what was earned.
    assert wallet.locator("#money-stats .stat").first.locator(".value").inner_text().startswith("0.00")
    claim_button.click()
    wallet.wait_for_selector("#claim-msg .notice.ok")
    balance = wallet.locator("#money-stats .stat").first.locator(".value").inner_text()
    assert balance.startswith("6,002.50")
    token, _, _ = factories.contracts(w3, deployment_of(live.settings))
    assert token.functions.balanceOf(address).call() == expected
    assert "Nothing to claim" in claim_button.inner_text()
    shot(wallet, "07-wallet-claimed")

    # 7. Revocation in the wallet; the brand's next request returns no data for this customer.
    wallet.on("dialog", lambda d: d.accept())
    wallet.locator("#consents-body tr[data-brand=Acme]").get_by_role("button", name="Revoke").click()
    wallet.wait_for_selector("#consent-msg .notice.ok >> text=revoked")
    assert wallet.locator("#consents-body tbody tr").count() == 0
    shot(wallet, "08-wallet-revoked")

    console.click("#request")
    console.wait_for_selector("#profiles-body .empty")
    assert console.locator("#profiles-body tr[data-address]").count() == 0
    shot(console, "09-brand-after-revocation")
    again = live.api.post(
        "/profiles", headers=brand_headers, json={"purpose": "marketing", "categories": ["segment", "interests"]}
    )
    assert again.status_code == 200, again.text
    assert all(p["address"].lower() != address.lower() for p in again.json()["profiles"])

    # 8. The auditor view over the same ledger.
    created = live.api.post("/auditors/tokens", json={"label": "pages"}, headers=admin)
    assert created.status_code == 201, created.text
    auditor = new_page(browser, DESKTOP)
    auditor.goto(f"{live.url}/auditor")
    auditor.fill("#token", created.json()["token"])
    auditor.click("#signin-submit")
    wait_loaded(auditor)
    auditor.click("#verify")
    auditor.wait_for_selector(
        "#verify-msg .notice.ok, #verify-msg .notice.warn, #verify-msg .notice.error", timeout=120_000
    )
    # The page shows the verifier's verdict and its five checks (the verdict itself is the audit's tests' business).
    assert (
        auditor.locator("#report-body .badge").first.inner_text() in ("verified: no discrepancy",)
        or "discrepanc" in auditor.locator("#report-body .badge").first.inner_text()
    )
    assert (
        auditor.locator("#report-body tbody tr").count() == 7
    )  # consent, epoch_root, proofs, money, mirror, confirmations, campaigns
    # The full report opens under the pages' policy too (a blob: page inherits it): styled, nothing refused.
    with auditor.context.expect_page() as opened:
        auditor.click("#open-report")
    report = opened.value
    report.wait_for_selector("h1")
    assert report.locator("h1").inner_text() == "Ledger audit report"
    verdict_colour = report.locator(".verdict").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert verdict_colour not in ("rgba(0, 0, 0, 0)", "transparent")  # its inline stylesheet applied, by hash
    assert report.evaluate("window.__cspViolations") == []
    report.screenshot(path=str(SHOTS / "10-auditor-full-report.png"), full_page=True)
    report.close()
    graded = auditor.locator("#grid-body .heat td[data-n='1']")
    assert graded.count() == 1  # our one graded customer
    assert ": 1 customer (" in (graded.get_attribute("title") or "")
    auditor.fill("#f-customer", address)
    auditor.click("#filters button[type=submit]")
    auditor.wait_for_selector("#ledger-body tbody tr")
    assert auditor.locator("#ledger-body tbody tr").count() == 1  # the one access
    shot(auditor, "10-auditor")

    # 9. Every page at phone and desktop widths: no sideways scrolling of the page, screenshots kept.
    for name, page in (("wallet", wallet), ("brand", console), ("auditor", auditor)):
        for label, size in (("375", PHONE), ("1280", DESKTOP)):
            page.set_viewport_size(size)
            page.wait_for_timeout(150)  # charts resize
            shot(page, f"layout-{name}-{label}")
            assert fits_width(page), f"{name} scrolls sideways at {label} px: {overflowing(page)}"
            assert wrapped_numbers(page) == [], f"{name} at {label} px"
            if name == "auditor":
                heat_map_says_it_scrolls(page, narrow=size == PHONE)
        assert_clean(page, live.url, name)
    for page in (wallet, console, auditor):
        page.context.close()


def heat_map_says_it_scrolls(page, *, narrow: bool) -> None:
    """A quintile heat map (F1..F5) is wider than a phone: the box says so and fades the hidden side, until
    scrolled to the end; on a desktop it fits and says nothing. (Waits use expect(): a string predicate would
    need eval, which the pages' policy refuses.)"""
    box = page.locator("#grid-body .scroll-box")
    cue = box.locator(".scroll-cue")
    expect(box).to_have_attribute("data-overflow", "true" if narrow else "false")
    if not narrow:
        assert box.get_attribute("data-overflow") == "false" and not cue.is_visible()
        return
    assert box.get_attribute("data-overflow") == "true" and box.get_attribute("data-more-right") == "true"
    assert cue.is_visible() and "F1 to F5" in cue.inner_text()
    box.screenshot(path=str(SHOTS / "heat-map-375.png"))
    box.locator(".scroller").evaluate("s => { s.scrollLeft = s.scrollWidth; }")
    expect(box).to_have_attribute("data-more-right", "false")
    assert box.locator("th", has_text="F5").is_visible()
    box.screenshot(path=str(SHOTS / "heat-map-375-scrolled.png"))
    box.locator(".scroller").evaluate("s => { s.scrollLeft = 0; }")
