"""Injected wallets (EIP-1193) for page tests, and the wallet page's consent steps walked through them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
from playwright.sync_api import expect

from app.paths import REPO_ROOT
from tests.pages.conftest import new_page

ETHERS_BUNDLE = REPO_ROOT / "node_modules" / "ethers" / "dist" / "ethers.umd.min.js"

# What only the wallet's own key may do never reaches the node: anvil would sign with its own unlocked keys.
SIGNING_METHODS = (
    "eth_sign",
    "personal_sign",
    "eth_sendTransaction",
    "eth_signTransaction",
    "eth_signTypedData",
    "eth_signTypedData_v3",
    "eth_signTypedData_v4",
)

# A browser wallet as a page meets it: window.ethereum answers from an ethers v6 Wallet held in the page (its
# own copy of ethers, captured before the page loads its vendored one); what is not the key's business goes to
# the node through the __nodeRpc binding, as a wallet forwards read-only calls to its RPC endpoint.
_ETHERS_WALLET = """
(() => {
  const E = globalThis.ethers;
  const chainId = __CHAIN_ID__;
  const calls = (window.__walletCalls = []);
  const refuse = (code, message) => Object.assign(new Error(message), { code });
  async function node(method, params) {
    const answer = await window.__nodeRpc(method, params);
    if (answer.error) throw Object.assign(new Error(answer.error.message), answer.error);
    return answer.result;
  }
  class NodeProvider extends E.JsonRpcApiProvider {
    constructor() { super(chainId, { staticNetwork: E.Network.from(chainId), batchMaxCount: 1 }); }
    async _send(payload) {
      const out = [];
      for (const p of Array.isArray(payload) ? payload : [payload]) {
        const answer = await window.__nodeRpc(p.method, p.params || []);
        out.push(answer.error ? { id: p.id, error: answer.error } : { id: p.id, result: answer.result });
      }
      return out;
    }
  }
  const wallet = new E.Wallet(__KEY__, new NodeProvider());
  const mine = (address) => {
    if (!address || E.getAddress(address) !== wallet.address) {
      throw refuse(4100, `this wallet holds ${wallet.address}, not ${address}`);
    }
  };
  const declines = (window.__walletDeclines = new Set()); // methods the test has the customer decline
  async function answer(method, params) {
    if (declines.has(method)) throw refuse(4001, "User rejected the request.");
    switch (method) {
      case "eth_requestAccounts":
      case "eth_accounts":
        return [wallet.address.toLowerCase()]; // as extension wallets answer: lower case, not checksummed
      case "eth_chainId":
        return E.toQuantity(chainId);
      case "personal_sign": // [the message as hex of its bytes, account]
        mine(params[1]);
        return wallet.signMessage(E.getBytes(params[0]));
      case "eth_signTypedData_v4": { // [account, the document as JSON text]
        mine(params[0]);
        const doc = JSON.parse(params[1]);
        const types = { ...doc.types };
        delete types.EIP712Domain;
        return wallet.signTypedData(doc.domain, types, doc.message);
      }
      case "eth_sendTransaction": { // signed here, sent to the node raw
        const [tx] = params;
        mine(tx.from);
        const sent = await wallet.sendTransaction({
          to: tx.to,
          data: tx.data,
          value: tx.value ? BigInt(tx.value) : 0n,
          gasLimit: tx.gas ? BigInt(tx.gas) : undefined,
        });
        return sent.hash;
      }
      default:
        if (method.startsWith("wallet_") || method.startsWith("eth_sign")) {
          throw refuse(4200, `${method} is not supported`);
        }
        return node(method, params);
    }
  }
  window.ethereum = {
    request: async ({ method, params }) => {
      calls.push(method);
      return answer(method, params || []);
    },
    on() {},
    removeListener() {},
  };
})();
"""


class NodeLink:
    """The binding between an injected wallet and the node: forwards what a wallet forwards, refuses the
    signing methods, and records every method that reached the node."""

    def __init__(self, anvil_url: str) -> None:
        self.anvil_url = anvil_url
        self.methods: list[str] = []

    def __call__(self, method: str, params: list[Any]) -> dict[str, Any]:
        self.methods.append(method)
        if method in SIGNING_METHODS:
            return {"error": {"code": 4200, "message": f"{method} never reaches the node"}}
        rpc = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        reply = httpx.post(self.anvil_url, json=rpc, timeout=30).json()
        return {"error": reply["error"]} if "error" in reply else {"result": reply["result"]}


def install_ethers_wallet(page, anvil_url: str, chain_id: int, private_key: str) -> NodeLink:  # type: ignore[no-untyped-def]
    """Injects an ethers v6 Wallet holding `private_key` as the page's window.ethereum (before it loads)."""
    link = NodeLink(anvil_url)
    page.expose_function("__nodeRpc", link)
    script = _ETHERS_WALLET.replace("__CHAIN_ID__", str(chain_id)).replace("__KEY__", json.dumps(private_key))
    page.add_init_script(ETHERS_BUNDLE.read_text() + "\n" + script)
    return link


def wallet_calls(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The EIP-1193 methods the page asked of the injected wallet, in order."""
    return list(page.evaluate("window.__walletCalls"))


def open_wallet(browser, live, install: Callable[[Any], object], viewport: dict[str, int]):  # type: ignore[no-untyped-def]
    """A fresh wallet page with a wallet injected by `install(page)`, at its connect step."""
    page = new_page(browser, viewport)
    install(page)
    page.on("dialog", lambda d: d.accept())
    page.goto(f"{live.url}/wallet")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("#connect-injected")).to_be_visible()
    return page


def session_headers(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The signed-in page's own API session, for checking what the API says."""
    saved = json.loads(page.evaluate("sessionStorage.getItem('ledger.wallet.session')"))
    return {"Authorization": f"Bearer {saved['token']}"}


def sign_in(page) -> None:  # type: ignore[no-untyped-def]
    page.click("#connect-injected")
    expect(page.locator("body")).to_have_attribute("data-loaded", "true")


def consent_row(page, brand: str, purpose: str = "marketing"):  # type: ignore[no-untyped-def]
    return page.locator(f"#consents-body tr[data-brand={brand}][data-purpose={purpose}]")


def grant(page, brand: str, categories: list[str], price: str = "1.00") -> None:  # type: ignore[no-untyped-def]
    page.click("#grant-box summary")
    page.select_option("#grant-brand", label=brand)
    page.select_option("#grant-purpose", "marketing")
    page.fill("#grant-price", price)
    for name in categories:
        page.check(f"#grant-categories input[value={name}]")
    page.click("#grant-submit")
    expect(page.locator("#consent-msg .notice.ok")).to_contain_text("Consent granted and recorded on chain")
    expect(consent_row(page, brand).locator(".badge")).to_have_text("active")


def narrow(page, brand: str, drop: str) -> None:  # type: ignore[no-untyped-def]
    row = consent_row(page, brand)
    row.get_by_role("button", name="Narrow").click()
    form = page.locator("#consents-body tr.detail form")
    form.locator(f"input[value={drop}]").uncheck()
    form.get_by_role("button", name="Sign and narrow").click()
    expect(page.locator("#consent-msg .notice.ok")).to_contain_text(f"Consent for {brand} narrowed")


def revoke(page, brand: str) -> None:  # type: ignore[no-untyped-def]
    consent_row(page, brand).get_by_role("button", name="Revoke").click()
    expect(page.locator("#consent-msg .notice.ok")).to_contain_text("revoked")
    expect(consent_row(page, brand)).to_have_count(0)
