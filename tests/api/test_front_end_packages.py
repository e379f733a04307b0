"""The pages' and the API docs' front-end files come from the npm packages pinned in package.json, installed by
scripts/setup.sh; an app without them refuses to start, saying what to run, rather than serve blank pages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.api.routes import pages
from app.config import Settings
from app.paths import REPO_ROOT


def test_swagger_ui_is_the_pinned_package():
    pinned = json.loads((REPO_ROOT / "package.json").read_text())["dependencies"]["swagger-ui-dist"]
    locked = json.loads((REPO_ROOT / "package-lock.json").read_text())["packages"]["node_modules/swagger-ui-dist"]
    installed = json.loads((REPO_ROOT / "node_modules" / "swagger-ui-dist" / "package.json").read_text())["version"]
    assert pinned == locked["version"] == installed == "5.35.0"
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert pages.VENDOR[name].is_file()
        assert pages.VENDOR[name].is_relative_to(REPO_ROOT / "node_modules" / "swagger-ui-dist")


def test_app_refuses_to_start_without_the_front_end_packages(monkeypatch, tmp_path):
    from app.main import create_app

    gone = tmp_path / "node_modules" / "swagger-ui-dist" / "swagger-ui-bundle.js"
    monkeypatch.setitem(pages.VENDOR, "swagger-ui-bundle.js", gone)
    settings = Settings(environment="test", data_dir=tmp_path / "data", start_anvil=False)
    with pytest.raises(RuntimeError, match=r"swagger-ui-bundle\.js.*scripts/setup\.sh"):
        create_app(settings)


def test_pages_reference_no_outside_host():
    """No page file names another host (the browser test checks what is actually fetched)."""
    static = Path(pages.STATIC_DIR)
    for path in sorted(static.iterdir()):
        text = path.read_text(encoding="utf-8")
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path.name
