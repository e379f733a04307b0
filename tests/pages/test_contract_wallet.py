"""Smart-contract wallets (ERC-1271) through the wallet page: an injected EIP-1193 provider reports a
MockERC1271Wallet as its account and signs with the wallet's owner key; the customer signs in and grants a
consent through the page, the registry has it for the contract's address; a wallet someone else owns is refused."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_defunct
from playwright.sync_api import expect

from app.chain.compiler import load_abis
from app.chain.deployment import load_deployment
from app.chain.eip712 import sign_typed_data
from app.domain import Category, Purpose
from tests.conftest import DEV_KEYS, make_brand
from tests.factories import deploy_wallet
from tests.pages.conftest import assert_clean, new_page, shot

pytestmark = pytest.mark.chain

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
# What a wallet signs or sends for its account is never forwarded to the node: anvil would sign with its own keys.
_REFUSED = ("eth_sign", "eth_sendTransaction", "eth_signTransaction", "eth_signTypedData", "eth_signTypedData_v3")


class ContractWalletProvider:
    """An EIP-1193 wallet whose account is a contract wallet and whose signatures are its owner key's."""

    def __init__(self, anvil_url: str, chain_id: int, account: str, signing_key: str) -> None:
        self.anvil_url, self.chain_id, self.account, self.key = anvil_url, chain_id, account, signing_key
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
        if method in _REFUSED or method.startswith("wallet_"):
            raise PermissionError(f"{method} is not supported by this test wallet")
        rpc = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        reply = httpx.post(self.anvil_url, json=rpc, timeout=30).json()
        if "error" in reply:
            raise PermissionError(reply["error"].get("message", str(reply["error"])))
        return reply["result"]


def _open_wallet(browser, live, provider: ContractWalletProvider):  # type: ignore[no-untyped-def]
    page = new_page(browser)
    provider.install(page)
    page.goto(f"{live.url}/wallet")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#connect-injected")).to_be_visible()
    return page


def test_a_contract_wallet_signs_in_and_grants_a_consent_through_the_page(
    live, browser, w3, operator, anvil_url, dev_accounts
) -> None:
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand, _ = make_brand(live.api, admin, dev_accounts[5], name="Vault")
    owner_key, owner = DEV_KEYS[3], dev_accounts[3]
    wallet = deploy_wallet(w3, operator, owner.address)
    provider = ContractWalletProvider(anvil_url, w3.eth.chain_id, wallet, owner_key)

    page = _open_wallet(browser, live, provider)
    page.click("#connect-injected")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")
    assert page.locator("#who").get_attribute("title") == wallet  # signed in as the contract, not its owner
    assert "personal_sign" in provider.calls

    page.click("#grant-box summary")
    page.check("#grant-categories input[value=cart]")
    page.select_option("#grant-brand", label="Vault")
    page.select_option("#grant-purpose", "marketing")
    page.click("#grant-submit")
    expect(page.locator("#consent-msg .notice.ok")).to_contain_text("Consent granted and recorded on chain")
    assert "eth_signTypedData_v4" in provider.calls
    row = page.locator("#consents-body tr[data-brand=Vault][data-purpose=marketing]")
    expect(row.locator(".badge")).to_have_text("active")
    assert row.locator(".chip").all_inner_texts() == ["cart"]

    deployment = load_deployment(w3, live.settings.deployments_dir)
    assert deployment is not None
    registry = w3.eth.contract(address=deployment.registry, abi=load_abis()["ConsentRegistry"])
    marketing, cart = int(Purpose.MARKETING), int(Category.CART)
    assert registry.functions.covers(wallet, brand["address"], marketing, cart).call()
    assert not registry.functions.covers(owner.address, brand["address"], marketing, cart).call()  # not the owner's
    shot(page, "contract-wallet-granted")
    assert_clean(page, live.url, "wallet (contract wallet)")
    page.context.close()


def test_a_contract_wallet_owned_by_someone_else_is_refused_sign_in(
    live, browser, w3, operator, anvil_url, dev_accounts
) -> None:
    wallet = deploy_wallet(w3, operator, dev_accounts[4].address)  # owned by a stranger to the signing key
    provider = ContractWalletProvider(anvil_url, w3.eth.chain_id, wallet, DEV_KEYS[3])

    page = _open_wallet(browser, live, provider)
    page.click("#connect-injected")
    refusal = page.locator("#connect-msg .notice.error")
    expect(refusal).to_contain_text("Sign-in refused")
    expect(refusal).to_contain_text("the signature is not from the address in the SIWE message")
    assert page.locator("#signed-in").is_hidden() and page.locator("#connect").is_visible()
    shot(page, "contract-wallet-stranger-refused")
    assert_clean(page, live.url, "wallet (stranger's contract wallet)")
    page.context.close()
