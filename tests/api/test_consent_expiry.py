"""A consent's end: 1970 or any time at or before now is refused, "no end" only by the explicit `no_end`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.chain.eip712 import sign_typed_data


def _body(brand_id: int, **extra) -> dict:  # type: ignore[type-arg]
    return {"action": "grant", "brand": brand_id, "purpose": "marketing", "categories": ["interests"], **extra}


def _problem(response) -> str:  # type: ignore[no-untyped-def]
    body = response.json()
    return body["message"] + " " + str(body.get("detail", ""))


@pytest.mark.parametrize(
    "expires_at",
    [
        "1970-01-01T00:00:00Z",  # expiresAt 0: "no end" on chain, the defect
        "1969-12-31T23:59:59Z",
        "2001-01-01T00:00:00+09:00",
        "now",
    ],
)
def test_an_end_at_or_before_now_is_refused_naming_the_field(
    client, customer_headers, brand_and_headers, expires_at
) -> None:
    brand, _ = brand_and_headers
    if expires_at == "now":
        expires_at = datetime.now(UTC).isoformat()
    response = client.post(
        "/consents/typed-data", json=_body(brand["id"], expires_at=expires_at), headers=customer_headers
    )
    assert response.status_code == 422, response.text
    assert "expires_at" in _problem(response)


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        ({}, "no_end"),  # neither: no silent "never ends"
        ({"expires_at": None}, "no_end"),
        ({"no_end": False}, "no_end"),
        ({"no_end": True, "expires_at": "2100-01-01T00:00:00Z"}, "not both"),
    ],
)
def test_no_end_is_an_explicit_choice(client, customer_headers, brand_and_headers, extra, said) -> None:
    brand, _ = brand_and_headers
    response = client.post("/consents/typed-data", json=_body(brand["id"], **extra), headers=customer_headers)
    assert response.status_code == 422, response.text
    assert said in _problem(response)


def test_no_end_and_a_future_end_are_signed_as_asked(client, customer_headers, brand_and_headers, dev_accounts) -> None:
    brand, _ = brand_and_headers
    endless = client.post("/consents/typed-data", json=_body(brand["id"], no_end=True), headers=customer_headers)
    assert endless.status_code == 200, endless.text
    assert endless.json()["typed_data"]["message"]["expiresAt"] == 0
    end = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    dated = client.post(
        "/consents/typed-data", json=_body(brand["id"], expires_at=end.isoformat()), headers=customer_headers
    )
    assert dated.status_code == 200, dated.text
    assert dated.json()["typed_data"]["message"]["expiresAt"] == int(end.timestamp())
    signature = "0x" + sign_typed_data(dev_accounts[0].key, dated.json()["typed_data"]).hex()
    relayed = client.post(
        "/consents", json={"request_id": dated.json()["request_id"], "signature": signature}, headers=customer_headers
    )
    assert relayed.status_code == 200, relayed.text
    assert relayed.json()["consent"]["expires_at"] == end.strftime("%Y-%m-%dT%H:%M:%SZ")  # RFC 3339, zoned


def test_a_narrowing_to_1970_is_refused(client, customer_headers, brand_and_headers, dev_accounts) -> None:
    brand, _ = brand_and_headers
    typed = client.post("/consents/typed-data", json=_body(brand["id"], no_end=True), headers=customer_headers).json()
    signature = "0x" + sign_typed_data(dev_accounts[0].key, typed["typed_data"]).hex()
    assert client.post(
        "/consents", json={"request_id": typed["request_id"], "signature": signature}, headers=customer_headers
    ).is_success
    narrow = {"action": "narrow", "brand": brand["id"], "purpose": "marketing", "expires_at": "1970-01-01T00:00:00Z"}
    response = client.post("/consents/typed-data", json=narrow, headers=customer_headers)
    assert response.status_code == 422, response.text
    assert "expires_at" in _problem(response)
