"""Sign-in: SIWE (good, expired, replayed nonce, wrong domain, bad signature), keys and tokens by role."""

from __future__ import annotations

from datetime import timedelta

import pytest
from eth_account.messages import encode_defunct

from app import clock
from app.clock import utcnow
from tests.conftest import make_brand, sign_in


def _sign(account, message: str) -> str:
    return "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()


def _nonce(client, account) -> str:
    return client.post("/auth/siwe/nonce", json={"address": account.address}).json()["message"]


def test_siwe_sign_in_good(client, dev_accounts) -> None:
    headers = sign_in(client, dev_accounts[0])
    me = client.get("/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json() == {"address": dev_accounts[0].address}


def test_siwe_replayed_nonce_refused(client, dev_accounts) -> None:
    account = dev_accounts[0]
    message = _nonce(client, account)
    body = {"message": message, "signature": _sign(account, message)}
    assert client.post("/auth/siwe/verify", json=body).status_code == 200
    replay = client.post("/auth/siwe/verify", json=body)
    assert replay.status_code == 401
    assert "replay" in replay.json()["message"]


def test_siwe_expired_message_refused(client, dev_accounts) -> None:
    account = dev_accounts[0]
    message = _nonce(client, account)
    past = clock.rfc3339(utcnow() - timedelta(minutes=1), digits=3)
    lines = [
        f"Expiration Time: {past}" if line.startswith("Expiration Time:") else line for line in message.split("\n")
    ]
    expired = "\n".join(lines)
    response = client.post("/auth/siwe/verify", json={"message": expired, "signature": _sign(account, expired)})
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_siwe_wrong_domain_refused(client, dev_accounts) -> None:
    account = dev_accounts[0]
    message = _nonce(client, account).replace("127.0.0.1:8000", "evil.example", 1)
    response = client.post("/auth/siwe/verify", json={"message": message, "signature": _sign(account, message)})
    assert response.status_code == 401
    assert "domain" in response.json()["message"]


def test_siwe_signature_of_another_key_refused(client, dev_accounts) -> None:
    message = _nonce(client, dev_accounts[0])
    response = client.post("/auth/siwe/verify", json={"message": message, "signature": _sign(dev_accounts[1], message)})
    assert response.status_code == 401
    assert "not from the address" in response.json()["message"]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"message": "hello", "signature": "0x" + "11" * 65}, None),
        ({"message": "x"}, "signature"),
        ({"message": "x", "signature": "0x1234"}, "signature"),
        ({"message": 5, "signature": "0x" + "11" * 65}, "message"),
    ],
)
def test_siwe_malformed_input_is_4xx(client, body, where) -> None:
    response = client.post("/auth/siwe/verify", json=body)
    assert 400 <= response.status_code < 500
    assert response.json()["message"]
    if where:
        assert where in response.json()["message"]


def test_siwe_nonce_bad_address_is_422(client) -> None:
    response = client.post("/auth/siwe/nonce", json={"address": "0x123"})
    assert response.status_code == 422
    assert "address" in response.json()["message"]


def test_logout_ends_session(client, customer_headers) -> None:
    assert client.post("/auth/logout", headers=customer_headers).status_code == 204
    assert client.get("/auth/me", headers=customer_headers).status_code == 401


def test_missing_and_unknown_credentials_are_401(client) -> None:
    assert client.get("/auth/me").status_code == 401
    assert client.get("/auth/me", headers={"Authorization": "Bearer bk_nope"}).status_code == 401
    assert client.get("/brands", headers={"Authorization": "Bearer wrong-admin"}).status_code == 401


def test_brand_key_roles_and_revocation(client, admin_headers, dev_accounts) -> None:
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    assert client.get("/brands/me", headers=headers).json()["name"] == "Acme"
    assert client.get("/brands", headers=headers).status_code == 403
    assert client.get("/auth/me", headers=headers).status_code == 403
    key_id = client.post(f"/brands/{brand['id']}/keys", json={}, headers=admin_headers).json()["id"]
    assert client.delete(f"/brands/{brand['id']}/keys/{key_id}", headers=admin_headers).json()["revoked_at"]
    # The first key still works; revoking it locks the brand out.
    first_id = key_id - 1
    client.delete(f"/brands/{brand['id']}/keys/{first_id}", headers=admin_headers)
    assert client.get("/brands/me", headers=headers).status_code == 401


def test_brand_registration_conflicts_are_409(client, admin_headers, dev_accounts) -> None:
    make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    again = client.post("/brands", json={"name": "Acme", "address": dev_accounts[6].address}, headers=admin_headers)
    assert again.status_code == 409
    same_address = client.post(
        "/brands", json={"name": "Other", "address": dev_accounts[5].address}, headers=admin_headers
    )
    assert same_address.status_code == 409


def test_customer_cannot_use_operator_routes(client, customer_headers, dev_accounts) -> None:
    response = client.post("/brands", json={"name": "X", "address": dev_accounts[6].address}, headers=customer_headers)
    assert response.status_code == 403
    assert "operator" in response.json()["message"]


def test_auditor_token_is_read_only_and_revocable(client, admin_headers, auditor_headers) -> None:
    assert client.get("/brands", headers=auditor_headers).status_code == 403
    token_id = client.post("/auditors/tokens", json={}, headers=admin_headers).json()["id"]
    assert client.delete(f"/auditors/tokens/{token_id}", headers=admin_headers).status_code == 200
    assert client.post("/auditors/tokens", json={}, headers=auditor_headers).status_code == 403
