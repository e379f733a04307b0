"""The pages' shell (shell.js) as people meet it: a wrong token refused in words, the signed-in frame, the session
resumed on a reload, a token revoked meanwhile, and sign-out, on the brand console, the auditor view and the wallet."""

from __future__ import annotations

import pytest

from tests.conftest import make_brand
from tests.pages.conftest import PHONE, assert_clean, new_page

pytestmark = pytest.mark.chain

PAGES = {
    # page: (token field, signed-in view, sessionStorage key, who is shown)
    "brand": ("#api-key", "#console", "ledger.brand.key", "Shell brand"),
    "auditor": ("#token", "#view", "ledger.auditor.token", "auditor (read-only)"),
}


@pytest.fixture(scope="module")
def issue(live, dev_accounts):
    """issue(page) -> (token, revoke()): a fresh brand API key or auditor token from the operator."""
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    brand, _ = make_brand(live.api, admin, dev_accounts[6], name="Shell brand")

    def issue_one(page: str):  # type: ignore[no-untyped-def]
        if page == "brand":
            made = live.api.post(f"/brands/{brand['id']}/keys", json={"label": "shell"}, headers=admin)
            assert made.status_code == 201, made.text
            path, token = f"/brands/{brand['id']}/keys/{made.json()['id']}", made.json()["key"]
        else:
            made = live.api.post("/auditors/tokens", json={"label": "shell"}, headers=admin)
            assert made.status_code == 201, made.text
            path, token = f"/auditors/tokens/{made.json()['id']}", made.json()["token"]
        return token, lambda: live.api.delete(path, headers=admin).raise_for_status()

    return issue_one


def _stored(page, key: str):  # type: ignore[no-untyped-def]
    return page.evaluate("(k) => sessionStorage.getItem(k)", key)


@pytest.mark.parametrize("name", list(PAGES))
def test_token_sign_in_resume_revoke_and_sign_out(live, browser, issue, name):
    field, view, key, who = PAGES[name]
    page = new_page(browser, PHONE)
    page.goto(f"{live.url}/{name}")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#signin").is_visible() and page.locator(view).is_hidden()
    assert page.locator("#nav").is_hidden() and page.locator("#sign-out").is_hidden()

    page.fill(field, "xx_not-a-real-token")
    page.click("#signin-submit")
    refused = page.locator("#signin-msg .notice.error")
    refused.wait_for()
    assert "not valid" in refused.inner_text() and "mistyped, or revoked" in refused.inner_text()
    assert page.locator(view).is_hidden() and _stored(page, key) is None

    token, revoke = issue(name)
    page.fill(field, token)
    page.click("#signin-submit")
    page.wait_for_selector("body[data-loaded=true]")
    assert page.locator("#signin").is_hidden() and page.locator(view).is_visible()
    assert page.locator("#nav").is_visible() and page.locator("#sign-out").is_visible()
    assert page.locator("#who").inner_text() == who
    assert _stored(page, key) == token

    # A reload signs in again from this tab's sessionStorage, typing nothing.
    page.reload()
    page.wait_for_selector("body[data-loaded=true]")
    assert page.locator(view).is_visible() and page.locator("#who").inner_text() == who

    # Revoked by the operator meanwhile: the next load asks to sign in, says why, and forgets the token.
    revoke()
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#signin").is_visible() and page.locator(view).is_hidden()
    assert "sign in" in page.locator("#signin-msg .notice.error").inner_text().lower()
    assert _stored(page, key) is None

    token, _ = issue(name)
    page.fill(field, token)
    page.click("#signin-submit")
    page.wait_for_selector("body[data-loaded=true]")
    with page.expect_navigation():  # sign-out reloads the page
        page.click("#sign-out")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#signin").is_visible() and page.locator(view).is_hidden()
    assert _stored(page, key) is None
    assert_clean(page, live.url, name)
    page.context.close()


def test_wallet_resumes_and_signs_out(live, browser):
    page = new_page(browser, PHONE)
    page.goto(f"{live.url}/wallet")
    page.wait_for_selector("body[data-ready=true]")
    page.click("#connect-dev")
    page.wait_for_selector("body[data-loaded=true]")
    address = page.locator("#dev-address").inner_text().strip()
    assert page.locator("#connect").is_hidden() and page.locator("#signed-in").is_visible()
    assert page.locator("#who").get_attribute("title") == address
    assert page.locator("#who").inner_text().startswith("dev wallet 0x")

    page.reload()
    page.wait_for_selector("body[data-loaded=true]")
    assert page.locator("#signed-in").is_visible() and page.locator("#sign-out").is_visible()

    with page.expect_navigation():  # sign-out reloads the page
        page.click("#sign-out")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#connect").is_visible() and page.locator("#signed-in").is_hidden()
    assert _stored(page, "ledger.wallet.session") is None
    assert_clean(page, live.url, "wallet")
    page.context.close()
