"""Smart-contract wallets (ERC-1271) through the wallet page: an injected EIP-1193 provider reports a
MockERC1271Wallet as its account and signs with the wallet's owner key; the customer signs in, grants, narrows
and revokes a consent through the page (the same steps as an ethers wallet's, tests/pages/wallet_steps.py) and
the registry holds each for the contract's address; a wallet someone else owns is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import expect

from app.chain.deployment import load_deployment
from app.chain.eip712 import sign_typed_data
from app.chain.gateway import ChainGateway
from app.domain import Category, Purpose
from app.services.epochs import EpochRunner
from tests import factories
from tests.conftest import DEV_KEYS, make_brand
from tests.factories import deploy_wallet
from tests.pages import wallet_steps as steps
from tests.pages.conftest import DESKTOP, PHONE, assert_clean, shot

pytestmark = pytest.mark.chain

UNITS = 10**18
MARKETING = int(Purpose.MARKETING)

# The page sees an ordinary injected wallet (window.ethereum); every request goes to Python through one binding.
_PROVIDER = """
window.ethereum = {
  request: async ({ method, params }) => {
    const answer = await window.__walletRpc(method, params || []);
    if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
    return answer.result;
  },
  on() {},
  removeListener() {},
};
"""


class ContractWalletProvider:
    """An EIP-1193 wallet whose account is a contract wallet and whose signatures are its owner key's."""

    def __init__(self, anvil_url: str, chain_id: int, account: str, signing_key: str) -> None:
        self.chain_id, self.account, self.key = chain_id, account, signing_key
        self.node = steps.NodeLink(anvil_url)  # refuses what only the wallet may sign
        self.calls: list[str] = []

    def install(self, page) -> None:  # type: ignore[no-untyped-def]
        page.expose_function("__walletRpc", self.answer)
        page.add_init_script(_PROVIDER)

    def answer(self, method: str, params: list[Any]) -> dict[str, Any]:
        self.calls.append(method)
        try:
            return {"result": self._result(method, params)}
        except PermissionError as refused:
            return {"error": {"code": 4200, "message": str(refused)}}

    def _for_account(self, address: str) -> None:
        if address.lower() != self.account.lower():
            raise PermissionError(f"this wallet signs only for {self.account}, not {address}")

    def _result(self, method: str, params: list[Any]) -> Any:
        if method in ("eth_requestAccounts", "eth_accounts"):
            return [self.account]
        if method == "eth_chainId":
            return hex(self.chain_id)
        if method == "personal_sign":  # [message as hex of its UTF-8 bytes, account]
            self._for_account(params[1])
            return "0x" + bytes(Account.sign_message(encode_defunct(hexstr=params[0]), self.key).signature).hex()
        if method == "eth_signTypedData_v4":  # [account, the document as JSON text]
            self._for_account(params[0])
            return "0x" + sign_typed_data(self.key, json.loads(params[1])).hex()
        if method.startswith("wallet_"):
            raise PermissionError(f"{method} is not supported by this test wallet")
        reply = self.node(method, params)
        if "error" in reply:
            raise PermissionError(reply["error"].get("message", str(reply["error"])))
        return reply["result"]


@pytest.fixture(scope="module")
def vault(live, engine, w3, operator, dev_accounts):  # type: ignore[no-untyped-def]
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand, _ = make_brand(live.api, admin, dev_accounts[5], name="Vault")
    d = load_deployment(w3, live.settings.deployments_dir)
    assert d is not None
    factories.funded_brand(engine, w3, d, operator, dev_accounts[5], "Vault", 10**6 * UNITS)
    return brand


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375px", "1280px"])
def test_a_contract_wallet_signs_in_grants_narrows_revokes_and_claims_through_the_page(
    live, browser, engine, vault, w3, operator, anvil_url, dev_accounts, viewport
) -> None:
    size = f"{viewport['width']}px"
    owner_key, owner = DEV_KEYS[3], dev_accounts[3]
    wallet = deploy_wallet(w3, operator, owner.address)
    provider = ContractWalletProvider(anvil_url, w3.eth.chain_id, wallet, owner_key)
    d = load_deployment(w3, live.settings.deployments_dir)
    assert d is not None
    token, registry, distributor = factories.contracts(w3, d)
    covers = registry.functions.covers
    brand = vault["address"]

    page = steps.open_wallet(browser, live, provider.install, viewport)
    steps.sign_in(page)
    assert page.locator("#who").get_attribute("title") == wallet  # signed in as the contract, not its owner
    assert "personal_sign" in provider.calls
    me = steps.session_headers(page)
    assert live.api.get("/auth/me", headers=me).json()["address"].lower() == wallet.lower()

    steps.grant(page, "Vault", ["cart", "segment"])
    assert "eth_signTypedData_v4" in provider.calls
    assert covers(wallet, brand, MARKETING, int(Category.CART)).call()
    assert not covers(owner.address, brand, MARKETING, int(Category.CART)).call()  # not the owner's
    shot(page, f"contract-wallet-{size}-granted")

    steps.narrow(page, "Vault", drop="cart")
    expect(steps.consent_row(page, "Vault").locator(".chip")).to_have_text(["segment"])
    assert not covers(wallet, brand, MARKETING, int(Category.CART)).call()
    assert covers(wallet, brand, MARKETING, int(Category.SEGMENT)).call()
    assert [c["on_chain"]["categories"] for c in live.api.get("/consents", headers=me).json()] == [["segment"]]
    shot(page, f"contract-wallet-{size}-narrowed")

    steps.revoke(page, "Vault")
    assert not covers(wallet, brand, MARKETING, int(Category.SEGMENT)).call()
    ended = live.api.get("/consents", headers=me, params={"status": "withdrawn"}).json()
    assert [c["status"] for c in ended] == ["withdrawn"]
    shot(page, f"contract-wallet-{size}-revoked")

    # A contract account sends no transaction of its own here: it claims through the relayer.
    who = factories.customer(engine, wallet)
    now = datetime.now(UTC).replace(microsecond=0)
    factories.purchase(engine, who, vault["id"], now - timedelta(days=1), 100_000, f"cw-{size}")
    epoch = EpochRunner(live.settings, engine, ChainGateway(live.settings)).run(now - timedelta(seconds=1)).epoch
    assert epoch.status == "done"
    factories.pass_challenge_window(w3, int(epoch.finalises_at.timestamp()))
    page.reload()
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    owed = int(live.api.get("/me/claim", headers=me).json()["claimable"])
    assert owed > 0
    page.click("#claim-relayed")
    expect(page.locator("#claim-msg .notice.ok")).to_contain_text("the programme paid the gas")
    assert token.functions.balanceOf(wallet).call() == owed
    assert distributor.functions.claimed(wallet).call() == owed
    expect(page.locator("#claim-relayed")).to_have_text("Nothing to claim")
    expect(page.locator("#claim-relayed")).to_be_disabled()
    assert page.locator("#claim-own").is_hidden() or page.locator("#claim-own").is_disabled()
    shot(page, f"contract-wallet-{size}-claimed")
    assert_clean(page, live.url, f"wallet (contract wallet, {size})")
    page.context.close()


def test_a_contract_wallet_owned_by_someone_else_is_refused_sign_in(
    live, browser, w3, operator, anvil_url, dev_accounts
) -> None:
    wallet = deploy_wallet(w3, operator, dev_accounts[4].address)  # owned by a stranger to the signing key
    provider = ContractWalletProvider(anvil_url, w3.eth.chain_id, wallet, DEV_KEYS[3])

    page = steps.open_wallet(browser, live, provider.install, DESKTOP)
    page.click("#connect-injected")
    refusal = page.locator("#connect-msg .notice.error")
    expect(refusal).to_contain_text("Sign-in refused")
    expect(refusal).to_contain_text("the signature is not from the address in the SIWE message")
    assert page.locator("#signed-in").is_hidden() and page.locator("#connect").is_visible()
    shot(page, "contract-wallet-stranger-refused")
    assert_clean(page, live.url, "wallet (stranger's contract wallet)")
    page.context.close()
