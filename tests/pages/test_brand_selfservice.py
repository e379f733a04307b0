"""Brand console self-service in Chromium: a brand applies with an injected ethers Wallet (SIWE by personal_sign),
the operator refuses or approves through the API, the brand collects its key once and signs in, reads its spending,
sets its price floor, and funds its budget with approve + deposit signed by its own wallet."""

from __future__ import annotations

import pytest
from eth_account import Account
from playwright.sync_api import expect

from app.chain.gateway import ChainGateway
from app.services.dev_cash import give_dev_cash
from tests import factories
from tests.pages import wallet_steps as steps
from tests.pages.conftest import DESKTOP, PHONE, assert_clean, fits_width, new_page, shot

pytestmark = pytest.mark.chain

UNITS = 10**18


def open_console(browser, live, w3, anvil_url, viewport):  # type: ignore[no-untyped-def]
    """A new brand's wallet (with gas money) injected into a fresh brand console, at its sign-in card."""
    wallet = Account.create()
    w3.provider.make_request("anvil_setBalance", [wallet.address, hex(10**18)])  # type: ignore[arg-type]
    page = new_page(browser, viewport)
    node = steps.install_ethers_wallet(page, anvil_url, w3.eth.chain_id, wallet.key.hex())
    page.goto(f"{live.url}/brand")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    return wallet, page, node


def apply(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.fill("#apply-name", name)
    page.click("#apply-submit")
    expect(page.locator("#apply-status .notice.info")).to_contain_text("pending")


def pending_id(live, admin: dict[str, str], address: str) -> int:
    listed = live.api.get("/brand-applications", params={"status": "pending"}, headers=admin).json()
    (mine,) = [a for a in listed if a["address"] == address]
    return int(mine["id"])


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "1280px"])
def test_a_brand_applies_collects_its_key_sets_its_floor_and_funds_its_budget(
    live, browser, w3, deployment_of, anvil_url, viewport
) -> None:
    size = f"{viewport['width']}px"
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    wallet, page, node = open_console(browser, live, w3, anvil_url, viewport)
    expect(page.locator("#apply-check")).to_be_hidden()

    # Apply: the SIWE message signed by the wallet; the status token stays in this tab.
    apply(page, f"Selfserve {size}")
    assert "personal_sign" in steps.wallet_calls(page)
    assert page.evaluate("sessionStorage.getItem('ledger.brand.application')").startswith("ap_")
    expect(page.locator("#apply-check")).to_be_visible()
    assert fits_width(page), f"brand sign-in ({size}) scrolls sideways"
    shot(page, f"brand-apply-{size}-1-pending")

    # Approved by the operator: the brand collects its key once, and signs in with it.
    number = pending_id(live, admin, wallet.address)
    assert live.api.post(f"/brand-applications/{number}/approve", headers=admin).status_code == 200
    page.click("#apply-check")
    expect(page.locator("#apply-status .notice.ok")).to_contain_text("approved")
    page.click("#apply-key")
    key = page.locator("#apply-new-key").inner_text()
    assert key.startswith("bk_")
    assert fits_width(page), f"the shown key ({size}) scrolls sideways"
    shot(page, f"brand-apply-{size}-2-key")
    page.click("#apply-enter")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    expect(page.locator("#who")).to_have_text(f"Selfserve {size}")
    headers = {"Authorization": f"Bearer {key}"}
    assert live.api.get("/brands/me", headers=headers).json()["address"] == wallet.address

    # Spending, all zero; the price floor, set in CASH and refused with words when malformed.
    expect(page.locator("#spending-body")).to_contain_text("Deposited")
    expect(page.locator("#floor-now")).to_have_text("0.00 CASH per access")
    page.fill("#floor-amount", "1.2.3")
    page.click("#floor-submit")
    expect(page.locator("#floor-msg .notice.error")).to_contain_text("is not an amount")
    page.fill("#floor-amount", "0.50")
    page.click("#floor-submit")
    expect(page.locator("#floor-msg .notice.ok")).to_contain_text("0.50 CASH")
    assert live.api.get("/brands/me/price-floor", headers=headers).json()["floor"] == str(UNITS // 2)
    page.fill("#floor-amount", "100000000000")  # above uint96 in units: the API's 422, worded
    page.click("#floor-submit")
    expect(page.locator("#floor-msg .notice.error")).to_contain_text("That price floor was refused")
    assert live.api.get("/brands/me/price-floor", headers=headers).json()["floor"] == str(UNITS // 2)

    # Fund: approve + deposit signed by the brand's own wallet, sent raw; the spending panel shows it.
    give_dev_cash(ChainGateway(live.settings), wallet.address, 5 * UNITS)
    page.click("#fund-box summary")
    page.fill("#fund-amount", "3")
    page.click("#fund-submit")
    expect(page.locator("#fund-msg .notice.ok")).to_contain_text("Deposited 3.00 CASH")
    assert "eth_sendRawTransaction" in node.methods and not set(node.methods) & set(steps.SIGNING_METHODS)
    spending = live.api.get("/brands/me/spending", headers=headers).json()
    assert spending["deposited"] == str(3 * UNITS) and spending["remaining"] == str(3 * UNITS)
    expect(page.locator("#spending-body")).to_contain_text("3.00")
    token, _, _ = factories.contracts(w3, deployment_of(live.settings))
    assert token.functions.balanceOf(wallet.address).call() == 2 * UNITS
    assert fits_width(page), f"brand console ({size}) scrolls sideways"
    shot(page, f"brand-apply-{size}-3-console")
    assert_clean(page, live.url, f"brand console self-service ({size})")
    page.context.close()


def test_a_refused_application_says_why(live, browser, w3, anvil_url) -> None:
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    wallet, page, _ = open_console(browser, live, w3, anvil_url, PHONE)
    apply(page, "Refused Co")
    number = pending_id(live, admin, wallet.address)
    refusal = {"reason": "not a retailer"}
    assert live.api.post(f"/brand-applications/{number}/refuse", json=refusal, headers=admin).status_code == 200
    page.click("#apply-check")
    expect(page.locator("#apply-status .notice.error")).to_contain_text("refused")
    expect(page.locator("#apply-status .notice.error")).to_contain_text("not a retailer")
    expect(page.locator("#apply-key")).to_have_count(0)
    assert fits_width(page)
    shot(page, "brand-apply-refused")
    assert_clean(page, live.url, "brand console (application refused)")
    page.context.close()
