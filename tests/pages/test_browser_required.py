"""Page tests cannot pass by not running: without chromium they fail, unless a developer opts into skipping them
locally (LEDGER_ALLOW_NO_CHROMIUM=1), which CI (CI set) overrides."""

from __future__ import annotations

import pytest

from tests.pages.conftest import ALLOW_NO_BROWSER, CHROMIUM, require_chromium

NOWHERE = "/nonexistent/chromium"


@pytest.mark.parametrize(
    "environ",
    [{}, {"CI": "true"}, {"CI": "true", ALLOW_NO_BROWSER: "1"}, {ALLOW_NO_BROWSER: "0"}],
    ids=["default", "ci", "ci-overrides-allow", "allow-off"],
)
def test_missing_chromium_fails(environ):
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        require_chromium(NOWHERE, environ)


def test_missing_chromium_skips_only_when_allowed_locally():
    with pytest.raises(pytest.skip.Exception, match=ALLOW_NO_BROWSER):
        require_chromium(NOWHERE, {ALLOW_NO_BROWSER: "1"})


def test_present_chromium_runs():
    require_chromium(CHROMIUM, {"CI": "true"})  # this machine has it: no skip, no failure
