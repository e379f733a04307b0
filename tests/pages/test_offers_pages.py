"""The offers on the pages, in headless Chromium against a live server: the wallet's inbox with "why am I
seeing this" and redeem, and the brand console's offers section with its validation messages."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from app import db
from app.models.crm import Delivery
from tests import factories
from tests.conftest import make_brand
from tests.pages.conftest import DESKTOP, PHONE, assert_clean, fits_width, new_page, overflowing, shot

pytestmark = pytest.mark.chain


@pytest.fixture(scope="module")
def engine(live):
    engine = db.make_engine(live.settings.sqlalchemy_url)
    yield engine
    engine.dispose()


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
