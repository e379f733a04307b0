"""Contract refusals in words: every custom error of every deployed contract has one wording, no wording names an
error no contract defines, the pages take the list from the ABIs the server runs, and a real revert reads well."""

from __future__ import annotations

import re

import pytest

from app.api.routes.pages import STATIC_DIR
from app.chain import eip712
from app.chain.compiler import DEPLOYABLES, load_abis
from app.pages.contract_errors import WORDING_FILE, custom_errors, wording
from tests.conftest import make_brand, sign_in
from tests.factories import signed_grant
from tests.pages.conftest import PHONE, assert_clean, new_page, shot

# Worded by the old common.js although no contract defines them.
NEVER_DEFINED = ("ConsentExpired", "NotCovered", "InvalidNonce")


def test_every_custom_error_has_a_wording_and_every_wording_an_error():
    abis = load_abis()
    assert set(abis) == set(DEPLOYABLES) and "CampaignRegistry" in abis  # every deployed contract is read
    errors = custom_errors()
    # Spot checks that the list really is the ABIs' (the contracts' own, inherited OpenZeppelin ones, the
    # campaign registry's).
    assert {"NotANarrowing", "CommitmentMismatch", "TransferToProtocol", "ERC20InsufficientBalance"} <= set(errors)
    assert errors["CommitmentMismatch"] == ["CampaignRegistry"]
    table = wording()
    assert sorted(set(errors) - set(table)) == [], f"errors without a wording in {WORDING_FILE.name}"
    assert sorted(set(table) - set(errors)) == [], f"wordings in {WORDING_FILE.name} for errors no contract defines"
    for name, text in table.items():
        # Each ends "The blockchain refused this: …": a clause, never empty, never the bare error name.
        assert text and text == text.strip() and not text.endswith(".") and name not in text, name


def test_no_page_script_words_a_contract_error_itself():
    names = [*custom_errors(), *NEVER_DEFINED]
    pattern = re.compile(r"\b(" + "|".join(names) + r")\b")
    found = {f.name: pattern.findall(f.read_text()) for f in sorted(STATIC_DIR.glob("*.js"))}
    assert {f: n for f, n in found.items() if n} == {}  # the one table is contract_errors.json


@pytest.mark.chain
def test_pages_load_the_abis_list_with_its_wording(live, browser):
    page = new_page(browser, PHONE)
    page.goto(f"{live.url}/wallet")
    page.wait_for_selector("body[data-ready=true]")
    served = page.evaluate(
        """async () => {
            const m = await import('/static/pages/contract-errors.js');
            const c = await import('/static/pages/common.js');
            const said = c.explain(new c.ApiError(409, 'chain_refused', 'refused', {error: 'NotANarrowing'}));
            return {errors: m.CONTRACT_ERRORS, said};
        }"""
    )
    table = wording()
    assert {n: e["wording"] for n, e in served["errors"].items()} == {n: table[n] for n in custom_errors()}
    assert served["errors"]["NotDistributor"]["contracts"] == ["CashbackToken", "BudgetVault"]
    # Selectors for the reverts of the customer's own transactions: OpenZeppelin's, as its docs list them.
    assert served["errors"]["EnforcedPause"]["selector"] == "0xd93c0665"
    assert served["errors"]["ERC20InsufficientBalance"]["selector"] == "0xe450d38c"
    assert served["said"] == f"The blockchain refused this: {table['NotANarrowing']}. Nothing was changed."
    assert_clean(page, live.url, "wallet")
    page.context.close()


@pytest.mark.chain
def test_a_real_revert_is_worded_from_the_table(live, browser, dev_accounts):
    """Two narrowings signed against the same consent: each is a narrowing when asked for, but the one the page
    sends lands after the other took a kind of data away, so the registry reverts with NotANarrowing."""
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand, _ = make_brand(live.api, admin, dev_accounts[5], name="Narrowed")
    customer = dev_accounts[7]
    headers = sign_in(live.api, customer)
    _, body = signed_grant(
        live.api, headers, customer, brand["id"], purpose="analytics", categories=["segment", "interests", "cart"]
    )
    assert live.api.post("/consents", headers=headers, json=body).status_code == 200

    wallet = new_page(browser, PHONE)
    wallet.goto(f"{live.url}/wallet")
    wallet.wait_for_selector("body[data-ready=true]")
    wallet.click("#dev-show-import")
    wallet.fill("#dev-import-key", customer.key.hex())
    wallet.click("#dev-import button[type=submit]")
    assert wallet.locator("#dev-address").inner_text().strip() == customer.address
    wallet.click("#connect-dev")
    wallet.wait_for_selector("body[data-loaded=true]")
    row = wallet.locator("#consents-body tr[data-brand=Narrowed][data-purpose=analytics]")
    row.get_by_role("button", name="Narrow").click()
    form = wallet.locator("#consents-body tr.detail form")
    form.locator("input[value=cart]").uncheck()  # the page's narrowing keeps segment and interests

    def meanwhile(route):
        # While the page's signed narrowing is on its way, the customer (another tab) keeps segment only.
        if route.request.method == "POST":
            asked = live.api.post(
                "/consents/typed-data",
                headers=headers,
                json={"action": "narrow", "brand": brand["id"], "purpose": "analytics", "categories": ["segment"]},
            )
            assert asked.status_code == 200, asked.text
            doc = asked.json()
            signature = "0x" + eip712.sign_typed_data(customer.key, doc["typed_data"]).hex()
            sent = live.api.post(
                "/consents", headers=headers, json={"request_id": doc["request_id"], "signature": signature}
            )
            assert sent.status_code == 200, sent.text
        route.continue_()

    wallet.route(lambda url: url.endswith("/consents"), meanwhile)
    form.get_by_role("button", name="Sign and narrow").click()
    refusal = wallet.locator("#consent-msg .notice.error")
    refusal.wait_for()
    assert refusal.inner_text() == f"The blockchain refused this: {wording()['NotANarrowing']}. Nothing was changed."
    shot(wallet, "contract-error-not-a-narrowing-375")
    assert_clean(wallet, live.url, "wallet")
    wallet.context.close()
