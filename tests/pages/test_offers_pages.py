"""The offers on the pages, in headless Chromium against a live server: the wallet's inbox with "why am I
seeing this" and redeem, and the brand console's offers section with its validation messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from app.models.crm import Delivery
from tests import factories
from tests.conftest import make_brand
from tests.pages.conftest import DESKTOP, PHONE, assert_clean, fits_width, new_page, overflowing, shot

pytestmark = pytest.mark.chain


def test_wallet_inbox_shows_why_and_redeems(live, browser, engine, dev_accounts):
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    _, headers = make_brand(live.api, admin, dev_accounts[5], name="Inbox Brand")
    wallet = new_page(browser, PHONE)
    wallet.goto(f"{live.url}/wallet")
    wallet.wait_for_selector("body[data-ready=true]")
    address = wallet.locator("#dev-address").inner_text().strip()
    customer = factories.customer(engine, address)
    why = {"source": "rule:7", "trigger": "behaviour", "event": "tier_up", "purpose": "marketing",
           "categories": ["segment"], "consent": {"receipt_id": "r-42", "receipt_hash": "0x" + "cd" * 32},
           "values": {"tier": "gold"}}  # fmt: skip
    for n, kind in enumerate(("gift", "coupon")):
        offer = live.api.post("/brands/me/offers", json=factories.offer_body(kind), headers=headers).json()
        with Session(engine) as session:
            session.add(Delivery(offer_id=offer["id"], customer_id=customer, source="rule:7", channel="inbox",
                                 why=json.dumps(why), consent_receipt_id="r-42",
                                 delivered_at=datetime.now(UTC) - timedelta(hours=2 - n)))  # fmt: skip
            session.commit()
    wallet.click("#connect-dev")
    wallet.wait_for_selector("body[data-loaded=true]")
    items = wallet.locator("#inbox-body .inbox-item")
    assert items.count() == 2 and items.nth(0).get_attribute("data-kind") == "coupon"  # newest first
    assert "2 unread offers of 2" in wallet.locator("#inbox-unread").inner_text()
    gift = wallet.locator("#inbox-body .inbox-item[data-kind=gift]")
    assert "One per customer while the budget lasts." in gift.inner_text()
    gift.locator(".why-toggle").click()
    gift.locator(".why:not([hidden])").wait_for()
    text = gift.locator(".why").inner_text()
    assert "consent for marketing" in text and "segment" in text and "r-42" in text and "gold" in text
    wallet.locator("#inbox-body .inbox-item[data-kind=gift]:not(.unread)").wait_for()  # read once opened
    gift.locator("button.redeem").click()
    gift.locator(".inbox-msg .notice.ok").wait_for()
    assert "redeemed" in gift.locator(".inbox-msg").inner_text()
    gift.locator("button.redeem").click()  # once only: the refusal is explained, not a failure
    gift.locator(".inbox-msg .notice.error").wait_for()
    assert "as often as it allows" in gift.locator(".inbox-msg").inner_text()
    coupon = wallet.locator("#inbox-body .inbox-item[data-kind=coupon]")
    coupon.locator("button.redeem").click()
    coupon.locator(".coupon-code").wait_for()
    assert coupon.locator(".coupon-code").inner_text() == "SPRING-10"
    assert fits_width(wallet), overflowing(wallet)
    shot(wallet, "offers-wallet-inbox-375")
    assert_clean(wallet, live.url, "wallet")
    wallet.context.close()


def test_brand_console_creates_offers_with_messages_by_field_and_lists_budget_spent(
    live, browser, engine, w3, deployment_of, operator, dev_accounts
):
    from app.models.offer_payouts import EpochOfferLine

    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand, headers = make_brand(live.api, admin, dev_accounts[6], name="Console Brand")
    factories.fund_budget(w3, deployment_of(live.settings), operator, brand["address"], 1_000 * 10**18)
    console = new_page(browser, DESKTOP)
    console.on("dialog", lambda d: d.accept())
    console.goto(f"{live.url}/brand")
    console.fill("#api-key", headers["Authorization"].removeprefix("Bearer "))
    console.click("#signin-submit")
    console.wait_for_selector("body[data-loaded=true]")
    assert "No offers yet" in console.locator("#offers-body").inner_text()
    console.click("#offer-box summary")
    assert console.locator("#offer-coupon_code").is_hidden()  # extra cashback takes bps and a budget only
    console.fill("#offer-name", "Spring 5%")
    console.fill("#offer-valid_from", "2026-01-01")
    console.fill("#offer-valid_until", "2099-01-01")
    console.fill("#offer-bps", "500")
    console.fill("#offer-budget", "5,000")  # above the 1,000 CASH on chain
    console.click("#offer-submit")
    problems = console.locator("#offer-form .field-problem")
    problems.first.wait_for()
    by_field = dict(
        zip(problems.evaluate_all("ps => ps.map(p => p.dataset.field)"), problems.all_inner_texts(), strict=True)
    )
    assert set(by_field) == {"budget", "terms"}, by_field
    assert "an offer over budget" in by_field["budget"] and "terms" in by_field["terms"]
    assert "not created" in console.locator("#offer-msg").inner_text()
    console.fill("#offer-budget", "800")
    console.fill("#offer-terms", "5% extra on every purchase until the budget runs out.")
    console.click("#offer-submit")
    console.wait_for_selector("#offer-msg .notice.ok")
    assert console.locator("#offer-form .field-problem").count() == 0
    row = console.locator("#offers-body tr[data-kind=cashback_bps]")
    assert "800.00" in row.inner_text() and row.locator(".spent").inner_text() == "0.00"
    # What the epochs paid shows as spent.
    offer_id = int(row.get_attribute("data-offer"))
    with Session(engine) as session:
        session.add(EpochOfferLine(epoch=1, offer_id=offer_id, purchase_id=1, customer_id=1, owed=3 * 10**18,
                                   paid=125 * 10**17))  # fmt: skip
        session.commit()
    console.select_option("#offer-kind", "coupon")
    assert console.locator("#offer-coupon_code").is_visible() and console.locator("#offer-bps").is_hidden()
    console.fill("#offer-name", "Coupon")
    console.fill("#offer-valid_from", "2026-01-01")
    console.fill("#offer-valid_until", "2099-01-01")
    console.fill("#offer-coupon_code", "bad code!")
    console.fill("#offer-discount", "10% off")
    console.fill("#offer-terms", "Once.")
    console.click("#offer-submit")
    console.locator("#offer-form .field-problem[data-field=coupon_code]").wait_for()
    console.fill("#offer-coupon_code", "spring-10")
    console.click("#offer-submit")
    console.wait_for_selector("#offers-body tr[data-kind=coupon]")
    assert console.locator("#offers-body tr[data-kind=cashback_bps] .spent").inner_text() == "12.50"
    console.locator("#offers-body tr[data-kind=coupon] button.end").click()
    console.wait_for_selector("#offers-body tr[data-kind=coupon] >> text=ended")
    shot(console, "offers-brand-console-1280")
    assert_clean(console, live.url, "brand")
    console.context.close()
