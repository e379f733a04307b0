"""Every route with a JSON body answers malformed input with a 4xx that says what was wrong, never a 500.

Routes and their roles come from the OpenAPI document (as in test_roles.py); each is called by a role
it admits, with a body that is not JSON, a JSON value of the wrong type, and a body over MAX_BODY_BYTES.
"""

from __future__ import annotations

import pytest

from tests.conftest import make_brand, sign_in
from tests.factories import ROLES, route_table, sample_url


def _json_routes() -> list[tuple[str, str, set[str]]]:
    from app.main import create_app

    spec = create_app().openapi()
    table = []
    for method, path, allowed in route_table():
        body = spec["paths"][path][method.lower()].get("requestBody", {})
        if "application/json" in body.get("content", {}):
            table.append((method, path, allowed))
    return table


JSON_ROUTES = _json_routes()


@pytest.fixture()
def tokens(client, admin_headers, auditor_headers, dev_accounts) -> dict[str, dict[str, str]]:
    _, brand_headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    return {
        "customer": sign_in(client, dev_accounts[0]),
        "brand": brand_headers,
        "auditor": auditor_headers,
        "operator": admin_headers,
    }


def test_json_routes_found() -> None:
    assert len(JSON_ROUTES) >= 10


def test_malformed_bodies_are_4xx_with_a_message(client, settings, tokens) -> None:
    for method, path, allowed in JSON_ROUTES:
        role = next(r for r in ROLES if r in allowed)
        headers = {**tokens[role], "Content-Type": "application/json"}
        url = sample_url(path)
        for body in (b"{not json", b"[1, 2, 3]", b'"a string"', b"null"):
            response = client.request(method, url, content=body, headers=headers)
            assert 400 <= response.status_code < 500, f"{method} {path} {body!r}: {response.status_code}"
            assert response.json()["message"], f"{method} {path} {body!r}: no message"
        oversized = b'{"x": "' + b"a" * settings.max_body_bytes + b'"}'
        response = client.request(method, url, content=oversized, headers=headers)
        assert response.status_code == 413, f"{method} {path} oversized: {response.status_code}"
        assert "MAX_BODY_BYTES" in response.json()["message"]
