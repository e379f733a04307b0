"""The wallet's "Pay with CASH" and rewards catalogue in headless Chromium at 375 and 1280 px, with the
development wallet: a quote, both signatures in the page, the relayed transaction, my payments, a redeemed reward."""

from __future__ import annotations

import pytest
from eth_account import Account
from playwright.sync_api import expect

from app.chain.deployment import load_deployment
from tests import factories
from tests.conftest import make_brand
from tests.pages.conftest import DESKTOP, PHONE, assert_clean, fits_width, new_page, overflowing, shot

pytestmark = pytest.mark.chain

CASH = 10**18


@pytest.fixture(scope="module")
def shop(live, dev_accounts):  # type: ignore[no-untyped-def]
    """A brand (dev key 5) selling one reward for 5 CASH."""
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand, headers = make_brand(live.api, admin, dev_accounts[5], name="Acme")
    item = live.api.post(
        "/brands/me/rewards-catalogue",
        headers=headers,
        json={"title": "Coffee voucher", "description": "One drink", "price": str(5 * CASH)},
    )
    assert item.status_code == 201, item.text
    return brand, item.json()


def _balance(w3, live, address: str) -> int:  # type: ignore[no-untyped-def]
    d = load_deployment(w3, live.settings.deployments_dir)
    assert d is not None
    token, _, _ = factories.contracts(w3, d)
    return int(token.functions.balanceOf(address).call())


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_the_customer_pays_a_brand_and_redeems_a_reward_with_cash(
    live, browser, engine, shop, w3, operator, dev_accounts, viewport
):
    brand, item = shop
    wallet = new_page(browser, viewport)
    wallet.goto(f"{live.url}/wallet")
    wallet.wait_for_selector("body[data-ready=true]")
    me = Account.from_key(wallet.evaluate("localStorage.getItem('ledger.devWallet.key')"))
    order = f"ORDER-{viewport['width']}"
    cid = factories.customer(engine, me.address)
    factories.purchase(engine, cid, brand["id"], factories.clock.utcnow(), 45_000, order)
    d = load_deployment(w3, live.settings.deployments_dir)
    assert d is not None
    factories.cash_holder(w3, d, operator, dev_accounts[5], me.address, 100 * CASH)
    before = _balance(w3, live, brand["address"])

    wallet.click("#connect-dev")
    wallet.wait_for_selector("body[data-loaded=true]")
    wallet.locator("#payments-body .empty").wait_for()
    row = wallet.locator(f"#catalogue-body tr[data-item='{item['id']}']")
    assert "Coffee voucher" in row.inner_text() and "5.00 CASH" in row.inner_text() and "Acme" in row.inner_text()

    # A malformed amount is worded in the page and nothing is asked of the API.
    wallet.select_option("#pay-brand", label="Acme")
    wallet.fill("#pay-amount", "12,5x")
    wallet.click("#pay-submit")
    assert "is not an amount" in wallet.locator("#pay-msg .notice.error").inner_text()
    # More than I hold: the API's refusal, explained.
    wallet.fill("#pay-amount", "1000")
    wallet.click("#pay-submit")
    expect(wallet.locator("#pay-msg .notice.error")).to_contain_text("You hold 100.00 CASH, not enough")

    wallet.fill("#pay-amount", "12.50")
    wallet.fill("#pay-reference", order)
    wallet.click("#pay-submit")
    done = wallet.locator("#pay-msg #pay-done")
    done.wait_for()
    assert "Paid 12.50 CASH to Acme" in done.inner_text()
    assert done.locator("a.addr").count() == 1
    paid = wallet.locator("#payments-body tbody tr")
    assert paid.count() == 1 and order in paid.first.inner_text() and "12.50 CASH" in paid.first.inner_text()
    assert fits_width(wallet), overflowing(wallet)
    shot(wallet, f"wallet-pay-{viewport['width']}")

    row.locator("button").click()
    redeemed = wallet.locator("#catalogue-msg #pay-done")
    redeemed.wait_for()
    assert "Paid 5.00 CASH to Acme for “Coffee voucher”" in redeemed.inner_text()
    assert wallet.locator("#pay-done").count() == 1  # the earlier receipt made way for this one
    expect(wallet.locator("#payments-body tbody tr")).to_have_count(2)
    assert "Coffee voucher" in wallet.locator("#payments-body tbody tr").first.inner_text()  # newest first
    assert _balance(w3, live, me.address) == 100 * CASH - 17 * CASH - CASH // 2
    assert _balance(w3, live, brand["address"]) == before + 17 * CASH + CASH // 2
    expect(wallet.locator("#money-stats")).to_contain_text("82.50")
    assert fits_width(wallet), overflowing(wallet)
    shot(wallet, f"wallet-redeem-{viewport['width']}")
    assert_clean(wallet, live.url, "wallet")
    wallet.context.close()
