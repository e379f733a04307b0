"""At 375 px: a large amount stays on one line (its unit may wrap, never its digits), in the brand console and
in the wallet; and nothing on the pages breaks the page's width."""

from __future__ import annotations

import pytest

from app.chain.transactions import Sender
from tests import factories
from tests.conftest import make_brand
from tests.pages.conftest import PHONE, assert_clean, fits_width, new_page, overflowing, shot, wrapped_numbers

pytestmark = pytest.mark.chain

UNITS = 10**18
BUDGET = 1_234_567_890 * UNITS  # "1,234,567,890.00": wider than half a phone's card


def test_large_amounts_stay_on_one_line(live, browser, engine, w3, deployment_of, operator, dev_accounts):
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand_key = dev_accounts[5]
    _, brand_headers = make_brand(live.api, admin, brand_key, name="Bigspender")
    factories.funded_brand(engine, w3, deployment_of(live.settings), operator, brand_key, "Bigspender", BUDGET)

    console = new_page(browser, PHONE)
    console.goto(f"{live.url}/brand")
    console.fill("#api-key", brand_headers["Authorization"].removeprefix("Bearer "))
    console.click("#signin-submit")
    console.wait_for_selector("body[data-loaded=true]")
    assert "1,234,567,890.00" in console.locator("#budget-body").inner_text()
    shot(console, "amounts-brand-375")
    assert wrapped_numbers(console) == []
    assert fits_width(console), overflowing(console)
    assert_clean(console, live.url, "brand")

    wallet = new_page(browser, PHONE)
    wallet.goto(f"{live.url}/wallet")
    wallet.wait_for_selector("body[data-ready=true]")
    address = wallet.locator("#dev-address").inner_text().strip()
    # CASH is minted only into budgets: a second brand is funded and withdraws to the customer's wallet.
    payer, balance = dev_accounts[6], 987_654_321_123 * UNITS // 1000
    factories.funded_brand(engine, w3, deployment_of(live.settings), operator, payer, "Payer", balance)
    _, _, distributor = factories.contracts(w3, deployment_of(live.settings))
    Sender(w3, payer).send(distributor.functions.withdraw(balance, address))
    wallet.click("#connect-dev")
    wallet.wait_for_selector("body[data-loaded=true]")
    assert "987,654,321.12" in wallet.locator("#money-stats").inner_text()
    shot(wallet, "amounts-wallet-375")
    assert wrapped_numbers(wallet) == []
    assert fits_width(wallet), overflowing(wallet)
    assert_clean(wallet, live.url, "wallet")
    for page in (console, wallet):
        page.context.close()
