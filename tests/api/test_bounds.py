"""Integers beyond what their column holds answer 422 naming the parameter, never a 500 (SQLite's OverflowError).

The table of query parameters comes from the OpenAPI document: every integer parameter of a route is sent one
past its declared maximum (or 2^63 where none is declared) and must be refused with its name.
"""

from __future__ import annotations

import re

import pytest

from app.main import create_app
from tests.conftest import sign_in

INT64_MAX = 2**63 - 1  # SQLite's INTEGER

TOO_BIG = INT64_MAX + 1  # 9223372036854775808: one past SQLite's INTEGER


def _integer_query_parameters() -> list[tuple[str, str, int]]:
    """(path, parameter, value one past its maximum) for every integer query parameter of a GET route."""
    spec = create_app().openapi()
    found = []
    for path, operations in spec["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            schema = parameter["schema"]
            kinds = [schema] + schema.get("anyOf", [])
            integer = next((k for k in kinds if k.get("type") == "integer"), None)
            if parameter["in"] == "query" and integer is not None:
                found.append((path, parameter["name"], int(integer.get("maximum", INT64_MAX)) + 1))
    return found


QUERY_INTEGERS = _integer_query_parameters()


def test_every_integer_query_parameter_has_a_maximum() -> None:
    assert len(QUERY_INTEGERS) > 30
    spec = create_app().openapi()
    for path, name, _ in QUERY_INTEGERS:
        (parameter,) = [p for p in spec["paths"][path]["get"]["parameters"] if p["name"] == name]
        kinds = [parameter["schema"]] + parameter["schema"].get("anyOf", [])
        assert any("maximum" in k for k in kinds), f"{path} ?{name} has no maximum"


@pytest.fixture()
def everyone(client, admin_headers, auditor_headers, brand_and_headers, dev_accounts) -> list[dict[str, str]]:
    return [sign_in(client, dev_accounts[0]), brand_and_headers[1], auditor_headers, admin_headers]


def _refused_naming(response, where: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input" and where in body["message"]
    assert any(p["where"] == where and "less than or equal" in p["problem"] for p in body["detail"]), body


def test_query_integers_past_their_maximum_are_422_naming_them(client, everyone) -> None:
    for path, name, value in QUERY_INTEGERS:
        url = re.sub(r"\{address\}", "0x" + "ab" * 20, path)
        # The first role the route admits answers with its validation (the others are refused first).
        for headers in everyone:
            response = client.get(url, params={name: str(value)}, headers=headers)
            if response.status_code not in (401, 403):
                break
        _refused_naming(response, f"query.{name}")


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("/ledger/brands?offset=9223372036854775808", "query.offset"),
        ("/ledger/accesses?from_block=9223372036854775808", "query.from_block"),
        ("/ledger/epochs?to_block=99999999999999999999999", "query.to_block"),
        ("/pages/auditor/segment-grid?epoch=9223372036854775808", "query.epoch"),
    ],
)
def test_listed_overflows_are_422(client, auditor_headers, url: str, where: str) -> None:
    _refused_naming(client.get(url, headers=auditor_headers), where)


def test_path_ids_past_int64_are_422(client, customer_headers, admin_headers) -> None:
    _refused_naming(client.get(f"/me/rewards/{TOO_BIG}", headers=customer_headers), "path.epoch")
    _refused_naming(client.post(f"/brands/{TOO_BIG}/keys", json={"label": "x"}, headers=admin_headers), "path.brand_id")
    _refused_naming(client.delete(f"/brands/1/keys/{TOO_BIG}", headers=admin_headers), "path.key_id")
    _refused_naming(client.delete(f"/auditors/tokens/{TOO_BIG}", headers=admin_headers), "path.token_id")


def test_typed_data_brand_id_of_2_to_the_70_is_422(client, customer_headers) -> None:
    body = {"action": "grant", "brand": 2**70, "purpose": "marketing", "categories": ["cart"]}
    response = client.post("/consents/typed-data", json=body, headers=customer_headers)
    assert response.status_code == 422, response.text
    assert "body.brand" in response.json()["message"] and "2^63-1" in response.json()["message"]
