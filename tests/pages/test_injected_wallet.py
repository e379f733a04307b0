"""The wallet page with the wallet a customer really has: an EIP-1193 provider injected before the page loads,
answering from an ethers v6 Wallet (SIWE by personal_sign, consents by eth_signTypedData_v4, the claim signed
by the wallet and sent raw); sign-in, grant, narrow, revoke and claim are each checked on chain and in the API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from eth_account import Account
from playwright.sync_api import expect

from app.chain.deployment import load_deployment
from app.chain.gateway import ChainGateway
from app.chain.transactions import Sender
from app.domain import Category, Purpose
from app.pages.contract_errors import wording
from app.services.epochs import EpochRunner
from tests import factories
from tests.conftest import make_brand
from tests.pages import wallet_steps as steps
from tests.pages.conftest import DESKTOP, PHONE, assert_clean, shot

pytestmark = pytest.mark.chain

UNITS = 10**18
MARKETING = int(Purpose.MARKETING)


@pytest.fixture(scope="module")
def acme(live, engine, w3, operator, dev_accounts):  # type: ignore[no-untyped-def]
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand, _ = make_brand(live.api, admin, dev_accounts[5], name="Acme")
    d = load_deployment(w3, live.settings.deployments_dir)
    assert d is not None
    factories.funded_brand(engine, w3, d, operator, dev_accounts[5], "Acme", 10**6 * UNITS)
    return brand


def settle_cashback(live, engine, w3, brand: dict, address: str, order: str) -> None:  # type: ignore[no-untyped-def]
    """An epoch pays `address` cashback for a purchase the day before; its challenge window is passed, and
    nobody finalises it."""
    who = factories.customer(engine, address)
    now = datetime.now(UTC).replace(microsecond=0)
    factories.purchase(engine, who, brand["id"], now - timedelta(days=1), 200_000, order)
    epoch = EpochRunner(live.settings, engine, ChainGateway(live.settings)).run(now - timedelta(seconds=1)).epoch
    assert epoch.status == "done"
    factories.pass_challenge_window(w3, int(epoch.finalises_at.timestamp()))


def ethers_customer(browser, live, w3, anvil_url, viewport):  # type: ignore[no-untyped-def]
    """A new customer whose key is an ethers Wallet injected into a fresh wallet page (with gas money)."""
    customer = Account.create()
    w3.provider.make_request("anvil_setBalance", [customer.address, hex(10**18)])  # type: ignore[arg-type]
    link: list[steps.NodeLink] = []
    page = steps.open_wallet(
        browser,
        live,
        lambda p: link.append(steps.install_ethers_wallet(p, anvil_url, w3.eth.chain_id, customer.key.hex())),
        viewport,
    )
    return customer, page, link[0]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "1280px"])
def test_an_ethers_wallet_signs_in_grants_narrows_revokes_and_claims(
    live, browser, engine, acme, w3, deployment_of, anvil_url, viewport
) -> None:
    size = f"{viewport['width']}px"
    customer, page, node = ethers_customer(browser, live, w3, anvil_url, viewport)
    d = deployment_of(live.settings)
    token, registry, distributor = factories.contracts(w3, d)

    # Sign-in: SIWE signed by the ethers Wallet through personal_sign; the session is the Wallet's address.
    steps.sign_in(page)
    assert page.locator("#who").get_attribute("title") == customer.address
    assert "personal_sign" in steps.wallet_calls(page)
    me = steps.session_headers(page)
    assert live.api.get("/auth/me", headers=me).json()["address"].lower() == customer.address.lower()
    shot(page, f"injected-{size}-1-signed-in")

    # Grant: the API's typed data, signed by eth_signTypedData_v4, relayed; the registry has it.
    steps.grant(page, "Acme", ["segment", "interests", "cart"], price="2.50")
    assert "eth_signTypedData_v4" in steps.wallet_calls(page)
    covers = registry.functions.covers
    for category in (Category.SEGMENT, Category.INTERESTS, Category.CART):
        assert covers(customer.address, acme["address"], MARKETING, int(category)).call()
    listed = live.api.get("/consents", headers=me).json()
    assert [(c["brand"]["name"], c["status"]) for c in listed] == [("Acme", "active")]
    shot(page, f"injected-{size}-2-granted")

    # Narrow: cart is taken out, on chain and in the API; the rest stays.
    steps.narrow(page, "Acme", drop="cart")
    expect(steps.consent_row(page, "Acme").locator(".chip")).to_have_text(["segment", "interests"])
    assert not covers(customer.address, acme["address"], MARKETING, int(Category.CART)).call()
    assert covers(customer.address, acme["address"], MARKETING, int(Category.SEGMENT)).call()
    active = live.api.get("/consents", headers=me).json()
    assert [sorted(c["on_chain"]["categories"]) for c in active] == [["interests", "segment"]]
    shot(page, f"injected-{size}-3-narrowed")

    # Revoke: nothing covered any more; the API lists it as withdrawn.
    steps.revoke(page, "Acme")
    assert not covers(customer.address, acme["address"], MARKETING, int(Category.SEGMENT)).call()
    ended = live.api.get("/consents", headers=me, params={"status": "withdrawn"}).json()
    assert [c["status"] for c in ended] == ["withdrawn"]
    shot(page, f"injected-{size}-4-revoked")

    # Claim from the wallet itself, after an epoch paid cashback for a purchase and its window passed.
    settle_cashback(live, engine, w3, acme, customer.address, f"inj-{size}")
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    # The session resumed from the wallet's eth_accounts: no new signature asked of the customer.
    assert "eth_accounts" in steps.wallet_calls(page) and "personal_sign" not in steps.wallet_calls(page)
    owed = live.api.get("/me/claim", headers=me).json()
    claimable = int(owed["claimable"])
    assert claimable > 0
    own = page.locator("#claim-own")
    expect(own).to_be_enabled()
    own.click()
    expect(page.locator("#claim-msg .notice.ok")).to_contain_text("Claimed")
    assert token.functions.balanceOf(customer.address).call() == claimable
    assert distributor.functions.claimed(customer.address).call() == int(owed["cumulative"])
    assert live.api.get("/me/claim", headers=me).json()["claimable"] == "0"
    assert int(live.api.get("/me/balance", headers=me).json()["balance"]) == claimable
    # The customer sent it: signed by the ethers Wallet, broadcast raw; nothing was signed by the node.
    assert "eth_sendTransaction" in steps.wallet_calls(page)
    assert "eth_sendRawTransaction" in node.methods
    assert not set(node.methods) & set(steps.SIGNING_METHODS)
    assert w3.eth.get_transaction_count(customer.address) == 2  # finalizeEpoch (the window was over), then claim
    expect(page.locator("#claim-own")).to_be_disabled()
    shot(page, f"injected-{size}-5-claimed")
    assert_clean(page, live.url, f"wallet (ethers wallet, {size})")
    page.context.close()


def test_a_wallet_on_another_chain_is_told_to_switch_and_not_signed_in(live, browser, w3, anvil_url) -> None:
    customer = Account.create()
    page = steps.open_wallet(
        browser, live, lambda p: steps.install_ethers_wallet(p, anvil_url, 1, customer.key.hex()), PHONE
    )
    page.click("#connect-injected")
    expect(page.locator("#connect-msg .notice.error")).to_contain_text(
        f"Your browser wallet is on chain 1; this programme runs on chain {w3.eth.chain_id}"
    )
    assert "personal_sign" not in steps.wallet_calls(page)  # nothing signed for the wrong chain
    assert page.locator("#signed-in").is_hidden()
    shot(page, "injected-wrong-chain")
    assert_clean(page, live.url, "wallet (ethers wallet on another chain)")
    page.context.close()


def test_a_declined_signature_changes_nothing(live, browser, acme, w3, deployment_of, anvil_url) -> None:
    customer, page, _ = ethers_customer(browser, live, w3, anvil_url, PHONE)
    steps.sign_in(page)
    page.evaluate("window.__walletDeclines.add('eth_signTypedData_v4')")
    page.click("#grant-box summary")
    page.select_option("#grant-brand", label="Acme")
    page.select_option("#grant-purpose", "marketing")
    page.check("#grant-categories input[value=segment]")
    page.click("#grant-submit")
    expect(page.locator("#consent-msg .notice.error")).to_have_text(
        "You declined the request in your wallet. Nothing was changed."
    )
    _, registry, _ = factories.contracts(w3, deployment_of(live.settings))
    assert not registry.functions.covers(customer.address, acme["address"], MARKETING, int(Category.SEGMENT)).call()
    assert live.api.get("/consents", headers=steps.session_headers(page)).json() == []
    expect(page.locator("#grant-submit")).to_be_enabled()  # the choices stay: the customer may sign after all
    shot(page, "injected-declined")
    assert_clean(page, live.url, "wallet (ethers wallet, declined)")
    page.context.close()


def test_a_refusal_of_the_customers_own_transaction_is_worded_from_the_contracts_errors(
    live, browser, engine, acme, w3, deployment_of, anvil_url, role_keys
) -> None:
    """The distributor is paused while a root waits to be finalised: the wallet's finalizeEpoch reverts with
    EnforcedPause, which the page words from the table, not as "execution reverted (unknown custom error)"."""
    customer, page, _ = ethers_customer(browser, live, w3, anvil_url, DESKTOP)
    steps.sign_in(page)
    settle_cashback(live, engine, w3, acme, customer.address, "inj-paused")
    _, _, distributor = factories.contracts(w3, deployment_of(live.settings))
    pauser = Sender(w3, role_keys.pauser)
    pauser.send(distributor.functions.pause())
    try:
        page.reload()
        expect(page.locator("body")).to_have_attribute("data-loaded", "true")
        page.click("#claim-own")
        refusal = page.locator("#claim-msg .notice.error")
        expect(refusal).to_have_text(f"The blockchain refused this: {wording()['EnforcedPause']}. Nothing was changed.")
        assert token_balance(w3, deployment_of(live.settings), customer.address) == 0
        expect(page.locator("#claim-own")).to_be_enabled()  # still owed: the customer may try again later
        shot(page, "injected-claim-refused-paused")
        assert_clean(page, live.url, "wallet (ethers wallet, paused distributor)")
    finally:
        pauser.send(distributor.functions.unpause())
    page.context.close()


def token_balance(w3, d, address: str) -> int:  # type: ignore[no-untyped-def]
    token, _, _ = factories.contracts(w3, d)
    return int(token.functions.balanceOf(address).call())


def test_an_ethers_wallet_pays_a_brand_with_cash(live, browser, acme, w3, operator, dev_accounts, anvil_url) -> None:
    """Issue 13 item 6: both documents of a payment quote signed by eth_signTypedData_v4, relayed; no gas of ours."""
    customer, page, node = ethers_customer(browser, live, w3, anvil_url, DESKTOP)
    d = load_deployment(w3, live.settings.deployments_dir)
    assert d is not None
    factories.cash_holder(w3, d, operator, dev_accounts[5], customer.address, 20 * UNITS)
    steps.sign_in(page)
    page.select_option("#pay-brand", label="Acme")
    page.fill("#pay-amount", "7.25")
    page.click("#pay-submit")
    expect(page.locator("#pay-done")).to_contain_text("Paid 7.25 CASH to Acme")
    assert steps.wallet_calls(page).count("eth_signTypedData_v4") == 2  # the permit, then the Payment
    assert token_balance(w3, d, customer.address) == 20 * UNITS - 7 * UNITS - UNITS // 4
    assert w3.eth.get_transaction_count(customer.address) == 0  # relayed: the customer sent nothing
    assert not set(node.methods) & set(steps.SIGNING_METHODS)
    expect(page.locator("#payments-body tbody tr")).to_have_count(1)
    assert_clean(page, live.url, "wallet (ethers wallet, pay)")
    page.context.close()
