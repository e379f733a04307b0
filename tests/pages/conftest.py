"""Page tests: a live uvicorn server of the app on a free port, against the session's real anvil, and one
headless Chromium (Debian's, driven by Playwright) for the whole session."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from web3 import Web3

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


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session (never `playwright install`: Debian's chromium)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def new_page(browser, viewport: dict[str, int] = DESKTOP):
    """A fresh context (own localStorage / sessionStorage) and page; console errors are collected."""
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))  # type: ignore[attr-defined]
    return page


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
