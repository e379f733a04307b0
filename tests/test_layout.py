"""The test tree's layout: helpers live in tests/factories.py and fixtures in conftest.py, so no test module
imports another test module (importing one also collects its tests and fixtures a second time)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _is_test_module(name: str) -> bool:
    parts = name.split(".")
    return parts[0] == "tests" and any(part.startswith("test_") for part in parts[1:])


def imported_test_modules(path: Path, root: Path = TESTS.parent) -> set[str]:
    """The `tests.**.test_*` modules the file imports, anywhere in it, relative imports resolved."""
    package = ".".join(path.relative_to(root).parent.parts)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if _is_test_module(alias.name))
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            if _is_test_module(module):
                found.add(module)
            else:  # `from tests.services import test_audit`
                found.update(f"{module}.{a.name}" for a in node.names if _is_test_module(f"{module}.{a.name}"))
    return found


def test_the_check_catches_each_way_of_importing_a_test_module(tmp_path: Path) -> None:
    package = tmp_path / "tests" / "services"
    package.mkdir(parents=True)
    probe = package / "test_probe.py"
    probe.write_text(
        "import tests.api.test_roles\n"
        "from tests.services.test_audit import check\n"
        "from tests.services import test_ingestion\n"
        "from .test_epochs import T0\n"
        "from ..api import test_me\n"
        "from tests.conftest import sign_in\n"
        "from tests import factories\n"
        "from .conftest import engine\n"
        "from tests.pages.conftest import new_page\n"
        "def later():\n"
        "    from tests.services.test_watcher import WINDOW\n"
    )
    assert imported_test_modules(probe, tmp_path) == {
        "tests.api.test_roles",
        "tests.services.test_audit",
        "tests.services.test_ingestion",
        "tests.services.test_epochs",
        "tests.api.test_me",
        "tests.services.test_watcher",
    }


def test_no_test_module_imports_another_test_module() -> None:
    found = {str(path.relative_to(TESTS.parent)): imported_test_modules(path) for path in sorted(TESTS.rglob("*.py"))}
    assert {path: sorted(names) for path, names in found.items() if names} == {}
