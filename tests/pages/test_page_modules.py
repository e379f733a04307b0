"""The page scripts' structure: one shell for start-up and sign-in, and one name per meaning across the modules."""

from __future__ import annotations

import re

from app.api.routes.pages import STATIC_DIR

PAGES = ("wallet", "brand", "auditor")
_DECLARED = re.compile(r"^(?:export )?(?:async )?function\*? (\w+)", re.MULTILINE)


def _script(name: str) -> str:
    return (STATIC_DIR / f"{name}.js").read_text()


def test_no_function_name_is_declared_by_two_page_modules():
    # e.g. statusBadge was an access request's status in brand.js and a consent's in wallet.js.
    owners: dict[str, list[str]] = {}
    for path in sorted(STATIC_DIR.glob("*.js")):
        for name in _DECLARED.findall(path.read_text()):
            owners.setdefault(name, []).append(path.name)
    assert {n: files for n, files in owners.items() if len(files) > 1} == {}


def test_every_page_starts_and_signs_in_through_the_shell():
    for page in PAGES:
        script = _script(page)
        assert re.search(r'^import \{[^}]*\bstartPage\b[^}]*\} from "\./shell\.js";', script, re.MULTILINE), page
        assert re.search(r"^startPage\(", script, re.MULTILINE), page
        # Start-up (the chain facts, data-ready, data-loaded) and the signed-in frame are the shell's alone.
        for own in ("config()", "dataset.ready", "dataset.loaded", '$("#sign-out")', '$("#who")'):
            assert own not in script, f"{page}.js does {own} itself"
    for page in ("brand", "auditor"):
        assert "tokenSignIn(" in _script(page) and "sessionStorage.setItem" not in _script(page), page
