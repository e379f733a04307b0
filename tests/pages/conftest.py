"""Page tests: a live uvicorn server of the app on a free port, against the session's real anvil, and one
headless Chromium (Debian's, driven by Playwright) for the whole session."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from web3 import Web3

from app import db
from app.chain.deployment import ensure_deployed
from app.config import Settings
from app.paths import REPO_ROOT
from tests.conftest import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
SHOTS = REPO_ROOT / "test-output" / "pages"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class LiveServer:
    url: str
    settings: Settings
    api: httpx.Client  # plain HTTP client on the same server (operator set-up, brand requests)


@pytest.fixture(scope="module")
def live(tmp_path_factory, anvil_url: str, w3: Web3, role_keys) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """The app served by uvicorn in a thread: its own data folder and freshly deployed contracts."""
    from app.main import create_app

    port = free_port()
    settings = Settings(
        environment="test",
        data_dir=tmp_path_factory.mktemp("pages") / "data",
        rpc_url=anvil_url,
        start_anvil=False,
        api_port=port,
    )
    ensure_deployed(w3, role_keys, settings.deployments_dir, challenge_window=settings.challenge_window_seconds)
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=url, timeout=60) as client:
        yield LiveServer(url=url, settings=settings, api=client)
    server.should_exit = True
    thread.join(timeout=10)


ALLOW_NO_BROWSER = "LEDGER_ALLOW_NO_CHROMIUM"  # set to 1 to skip page tests on a machine without chromium


def require_chromium(path: str = CHROMIUM, environ: Mapping[str, str] = os.environ) -> None:
    """Page tests fail without chromium (a skipped page test proves nothing); a developer may opt into
    skipping them locally with LEDGER_ALLOW_NO_CHROMIUM=1, never under CI."""
    if Path(path).exists():
        return
    why = f"{path} is not installed (apt-get install chromium; scripts/setup.sh does it)"
    if environ.get(ALLOW_NO_BROWSER) == "1" and not environ.get("CI"):
        pytest.skip(f"{why}; skipped because {ALLOW_NO_BROWSER}=1")
    pytest.fail(f"{why}. The page tests need it: install it, or set {ALLOW_NO_BROWSER}=1 to skip them locally")


@pytest.fixture(scope="module")
def engine(live):  # type: ignore[no-untyped-def]
    """An engine on the live server's database, for seeding rows and checking what a page did."""
    engine = db.make_engine(live.settings.sqlalchemy_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (never `playwright install`: Debian's chromium)."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


TIMEZONE = "Asia/Seoul"  # where the programme's customers are: UTC+9, so a time read without its zone is 9 h off

# Every frame reports Content-Security-Policy violations to the test (an init script is not subject to the CSP).
_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__cspViolations.push(
    `${e.effectiveDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}:${e.lineNumber}`));
"""


def new_page(browser, viewport: dict[str, int] = DESKTOP):
    """A fresh context (own localStorage / sessionStorage, Seoul's clock) and page; script errors, console
    messages about the Content-Security-Policy and every request's address are collected."""
    context = browser.new_context(viewport=viewport, accept_downloads=True, timezone_id=TIMEZONE, locale="en-US")
    context.set_default_timeout(20_000)
    context.add_init_script(_CSP_LISTENER)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.csp_console = []  # type: ignore[attr-defined]
    page.requested = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda m: (
            page.csp_console.append(m.text)  # type: ignore[attr-defined]
            if "Content Security Policy" in m.text or "Refused to" in m.text
            else None
        ),
    )
    context.on("request", lambda r: page.requested.append(r.url))  # type: ignore[attr-defined]
    return page


def outside_requests(page, own_url: str) -> list[str]:
    """Requests the page made to any host but the app's own (data: and blob: URLs are not requests)."""
    own = urlsplit(own_url).netloc
    return [u for u in page.requested if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != own]


def csp_violations(page) -> list[str]:
    """What the page's frames reported as refused by the Content-Security-Policy, events and console alike."""
    reported = page.evaluate("window.__cspViolations || []")
    return [*reported, *page.csp_console]


def assert_clean(page, own_url: str, name: str) -> None:
    """The page ran under the product's security headers without a violation, and fetched only from itself."""
    assert csp_violations(page) == [], f"{name}: Content-Security-Policy violations"
    assert outside_requests(page, own_url) == [], f"{name}: requests to other hosts"
    assert page.errors == [], f"{name}: script errors"


def wrapped_numbers(page) -> list[str]:
    """Numbers (amounts, counts) drawn over more than one line: each digit run with its separators is measured
    as a text range, so this holds whatever the markup."""
    return page.evaluate(
        r"""() => {
        const out = [];
        const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            const parent = node.parentElement;
            if (!parent || parent.closest("[hidden], script, style, canvas") || !parent.offsetParent) continue;
            for (const m of node.data.matchAll(/[₩-]?\d[\d,]*(?:\.\d+)?/g)) {
                if (m[0].length < 4) continue;
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const rects = [...range.getClientRects()].filter((r) => r.width > 0);
                const tops = new Set(rects.map((r) => Math.round(r.top)));
                if (tops.size > 1) out.push(`${m[0]} in ${parent.tagName.toLowerCase()}.${parent.className}`);
            }
        }
        return out;
    }"""
    )


def shot(page, name: str) -> Path:
    """Saves a full-page screenshot under test-output/pages/ and returns its path."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    # A sticky header lands mid-image in full-page shots: pin it to the top while shooting.
    page.evaluate("document.querySelector('.topbar').style.position = 'static'")
    page.screenshot(path=str(path), full_page=True)
    page.evaluate("document.querySelector('.topbar').style.position = ''")
    # Whatever the step, no panel may show a server failure (a 500 is a bug, never an expected state).
    text = page.inner_text("body")
    assert "Internal Server Error" not in text and "went wrong on our side" not in text, f"{name}: {path}"
    return path


def fits_width(page) -> bool:
    """No horizontal scrolling of the page itself (wide tables scroll inside their own box)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def overflowing(page) -> list[str]:
    """The widest elements sticking out to the right, for a readable failure."""
    return page.evaluate(
        """() => [...document.querySelectorAll('body *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-wrap'))
        .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className)"""
    )
