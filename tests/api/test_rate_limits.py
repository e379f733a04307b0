"""Rate limits: 429 with Retry-After on sign-in per address and per identity; generous defaults throttle nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.config import Settings
from app.main import create_app
from tests.conftest import sign_in


def _client(settings: Settings, **limits: str) -> TestClient:
    return TestClient(create_app(settings.model_copy(update=limits)))


def test_nonce_requests_beyond_the_sign_in_limit_get_429_with_retry_after(settings, dev_accounts) -> None:
    with _client(settings, rate_limit_sign_in="3/minute") as client:
        answers = [client.post("/auth/siwe/nonce", json={"address": dev_accounts[0].address}) for _ in range(5)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
        refused = answers[3]
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.json()["error"] == "rate_limited" and "sign-in" in refused.json()["message"]
        assert client.get("/health").status_code != 429  # other routes keep their own, larger limit


def test_one_identity_is_limited_without_throttling_another(settings, dev_accounts) -> None:
    with _client(settings, rate_limit_per_identity="4/minute") as client:
        first, second = sign_in(client, dev_accounts[0]), sign_in(client, dev_accounts[1])
        answers = [client.get("/auth/me", headers=first).status_code for _ in range(6)]
        assert answers[:4] == [200] * 4 and answers[4:] == [429, 429]
        assert client.get("/auth/me", headers=second).status_code == 200


def test_every_request_counts_against_its_client_address(settings) -> None:
    with _client(settings, rate_limit_per_client="5/minute") as client:
        statuses = [client.get("/health").status_code for _ in range(7)]
        assert statuses[5:] == [429, 429]
        assert statuses[:5].count(429) == 0


def test_default_limits_do_not_throttle_a_busy_test_client(client, dev_accounts) -> None:
    for _ in range(40):
        sign_in(client, dev_accounts[0])


def test_a_malformed_limit_is_refused_at_start(tmp_path) -> None:
    with pytest.raises(ValueError, match="rate_limit_sign_in"):
        Settings(environment="test", data_dir=tmp_path, rate_limit_sign_in="lots")


def test_every_operation_documents_its_429_and_the_refusal_carries_the_security_headers(settings) -> None:
    with _client(settings, rate_limit_per_client="1/minute") as client:
        spec = client.get("/openapi.json").json()
        operations = [(path, verb, op) for path, item in spec["paths"].items() for verb, op in item.items()]
        undocumented = [f"{verb.upper()} {path}" for path, verb, op in operations if "429" not in op["responses"]]
        assert undocumented == []
        assert all("Retry-After" in op["responses"]["429"]["headers"] for _, _, op in operations)
        refused = client.get("/health")
        assert refused.status_code == 429
        assert refused.headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in refused.headers["Content-Security-Policy"]
