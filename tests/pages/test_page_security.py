"""Every page of the product in Chromium under its own security headers: nothing fetched from another host (the
pages work without internet, /docs included), no Content-Security-Policy violation, the headers on every answer."""

from __future__ import annotations

import pytest

from app.api.security import CONTENT_SECURITY_POLICY
from tests.conftest import make_brand
from tests.pages.conftest import DESKTOP, PHONE, SHOTS, assert_clean, csp_violations, new_page, shot

pytestmark = pytest.mark.chain

SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}


def _has_security_headers(headers) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert headers.get(name) == value, name
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_strict_policy_is_what_is_sent():
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"].split()[0] == "'self'"
    assert all(s.startswith("'sha256-") for s in directives["style-src"].split()[1:])
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"


@pytest.mark.parametrize(
    "path",
    [
        "/wallet",
        "/brand",
        "/auditor",
        "/docs",
        "/openapi.json",
        "/static/pages/common.js",
        "/static/vendor/swagger-ui.css",
    ],
)
def test_security_headers_on_pages_files_and_api(live, path):
    answer = live.api.get(path)
    assert answer.status_code == 200, answer.text
    _has_security_headers(answer.headers)


def test_security_headers_on_refusals(live):
    for answer in (
        live.api.get("/no-such-page"),  # 404
        live.api.get("/me/balance"),  # 401
        live.api.get("/pages/tx/not-a-hash"),  # 400 / 422
    ):
        assert answer.status_code >= 400
        _has_security_headers(answer.headers)


def test_vendor_files_are_served_with_their_type(live):
    assert live.api.get("/static/vendor/swagger-ui.css").headers["content-type"].startswith("text/css")
    assert live.api.get("/static/vendor/swagger-ui-bundle.js").headers["content-type"].startswith("text/javascript")
    assert live.api.get("/redoc").status_code == 404  # not kept: it would load its script and fonts from a CDN


def test_docs_render_the_operations_offline(live, browser):
    page = new_page(browser, DESKTOP)
    response = page.goto(f"{live.url}/docs")
    assert response is not None and response.status == 200
    _has_security_headers(response.headers)
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() > 20
    assert "Loyalty and data-consent ledger" in page.locator(".info .title").inner_text()
    page.locator(".opblock-summary-path", has_text="/pages/config").first.click()  # an operation opens
    opened = page.locator(".opblock.is-open")
    opened.locator(".opblock-body").wait_for()
    opened.get_by_role("button", name="Try it out").click()  # and runs, fetching from the app itself
    opened.get_by_role("button", name="Execute").click()
    opened.locator(".live-responses-table .response-col_status", has_text="200").wait_for()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "docs-1280.png"))
    assert_clean(page, live.url, "docs")
    page.context.close()


def test_every_page_signed_in_under_the_policy(live, browser, dev_accounts):
    admin = {"Authorization": f"Bearer {live.settings.admin_key.get_secret_value()}"}
    _, brand_headers = make_brand(live.api, admin, dev_accounts[5], name="Policy")
    key = brand_headers["Authorization"].removeprefix("Bearer ")
    created = live.api.post("/auditors/tokens", json={"label": "csp"}, headers=admin)
    assert created.status_code == 201, created.text

    wallet = new_page(browser, PHONE)
    response = wallet.goto(f"{live.url}/wallet")
    assert response is not None
    _has_security_headers(response.headers)
    wallet.wait_for_selector("body[data-ready=true]")
    wallet.click("#connect-dev")  # ethers signs in the page: the vendor script runs under the policy
    wallet.wait_for_selector("body[data-loaded=true]")
    wallet.click("#grant-box summary")
    shot(wallet, "csp-wallet-375")
    assert_clean(wallet, live.url, "wallet")

    console = new_page(browser, PHONE)
    console.goto(f"{live.url}/brand")
    console.fill("#api-key", key)
    console.click("#signin-submit")
    console.wait_for_selector("body[data-loaded=true]")
    console.click("#count")
    console.wait_for_selector("#audience-body .stat")
    shot(console, "csp-brand-375")
    assert_clean(console, live.url, "brand")

    # The auditor before any audit: a clear state, and no request answered 404 on the way.
    auditor = new_page(browser, PHONE)
    failed: list[str] = []
    auditor.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    auditor.goto(f"{live.url}/auditor")
    auditor.fill("#token", created.json()["token"])
    auditor.click("#signin-submit")
    auditor.wait_for_selector("body[data-loaded=true]")
    assert "no audit run yet" in auditor.locator("#report-body").inner_text()
    assert auditor.locator("#open-report").is_disabled()
    assert [f for f in failed if "favicon" not in f] == []
    shot(auditor, "csp-auditor-375-no-audit-yet")
    assert_clean(auditor, live.url, "auditor")
    for page in (wallet, console, auditor):
        page.context.close()


def test_a_violation_would_be_seen(live, browser):
    """The watch itself can fail: an inline style and an inline script on a page of the product are reported."""
    page = new_page(browser, DESKTOP)
    page.goto(f"{live.url}/wallet")
    page.wait_for_selector("body[data-ready=true]")
    page.evaluate(
        """() => {
            const d = document.createElement("div");
            d.setAttribute("style", "color: red");
            document.body.append(d);
            const s = document.createElement("script");
            s.textContent = "window.__inlineRan = 1";
            document.body.append(s);
        }"""
    )
    page.wait_for_timeout(200)
    seen = csp_violations(page)
    assert any("style-src" in v for v in seen) and any("script-src" in v for v in seen), seen
    assert page.evaluate("window.__inlineRan === undefined")
    page.context.close()
