"""Every route states who may call it (its docstring's "(role)"); everyone else gets 401 or 403.

The table of routes is read from the app's OpenAPI document, so a new route without a stated role
fails here, and so does a route whose dependencies let another role in.
"""

from __future__ import annotations

import re

import pytest

from app.main import create_app
from tests.conftest import make_brand, sign_in

ROLES = ("customer", "brand", "auditor", "operator")


def _routes() -> list[tuple[str, str, set[str]]]:
    spec = create_app().openapi()
    table = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            first = (operation.get("description") or "").strip().split("\n")[0]
            # The last parenthesis naming a role: "(customer)", "(auditor or operator)", ...
            stated = re.findall(r"\(((?:anyone|customer|brand|auditor|operator)[^()]*)\)", first)
            assert stated, f"{method.upper()} {path} does not say who may call it: {first!r}"
            words = set(re.findall(r"anyone|customer|brand|auditor|operator", stated[-1]))
            table.append((method.upper(), path, set(ROLES) if "anyone" in words else words))
    return table


ROUTES = _routes()


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: "0x" + "ab" * 32 if "hash" in m.group(0) else "1", path)


@pytest.fixture()
def tokens(client, admin_headers, auditor_headers, dev_accounts) -> dict[str, dict[str, str]]:
    _, brand_headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    return {
        "customer": sign_in(client, dev_accounts[0]),
        "brand": brand_headers,
        "auditor": auditor_headers,
        "operator": admin_headers,
    }


def test_every_route_states_its_roles() -> None:
    assert len(ROUTES) > 40


def test_routes_refuse_missing_credentials_and_other_roles(client, tokens) -> None:
    checked = 0
    for method, path, allowed in ROUTES:
        if allowed == set(ROLES):
            continue
        url = _url(path)
        anonymous = client.request(method, url, json={})
        assert anonymous.status_code == 401, f"{method} {path} without credentials: {anonymous.status_code}"
        assert anonymous.json()["message"]
        for role in set(ROLES) - allowed:
            response = client.request(method, url, json={}, headers=tokens[role])
            assert response.status_code == 403, f"{method} {path} as {role}: {response.status_code} {response.text}"
            assert "this route is for" in response.json()["message"]
            checked += 1
    assert checked > 60
