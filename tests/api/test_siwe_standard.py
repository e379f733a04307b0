"""SIWE with a standard client: the npm `siwe` 3 package writes the message, an ethers v6 Wallet signs it; the API
accepts what EIP-4361 allows (no statement, resources, a request id) and refuses what it forbids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app import clock
from tests.conftest import DEV_KEYS
from tests.factories import node_sign, standard_fields


def _iso(moment: datetime) -> str:
    return clock.rfc3339(moment, digits=3)


def _verify(client, signed: dict):  # type: ignore[no-untyped-def,type-arg]
    return client.post("/auth/siwe/verify", json={"message": signed["message"], "signature": signed["signature"]})


@pytest.mark.parametrize(
    "extra",
    [
        {},  # no statement: what the package writes by default
        {"statement": "Sign in to try the ledger."},
        {
            "resources": [
                "https://127.0.0.1:8000/terms",
                "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq",
            ]
        },
        {"requestId": "req-42", "expirationTime": "EXP", "notBefore": "NBF"},
    ],
)
def test_a_standard_siwe_message_signs_in(client, settings, dev_accounts, extra) -> None:
    account = dev_accounts[0]
    now = datetime.now(UTC)
    times = {"EXP": _iso(now + timedelta(minutes=5)), "NBF": _iso(now - timedelta(seconds=5))}
    extra = {k: times.get(v, v) if isinstance(v, str) else v for k, v in extra.items()}
    signed = node_sign(DEV_KEYS[0], fields=standard_fields(client, settings, account.address, **extra))
    if "statement" not in extra:
        assert "\n\n\nURI: " in signed["message"]  # the EIP-4361 form without a statement
    answer = _verify(client, signed)
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).json() == {"address": account.address}


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"uri": "https://evil.example/login"}, "URI"),
        ({"uri": "https://127.0.0.1:8000/"}, "URI"),  # same host, another scheme: another origin
        ({"issuedAt": "2099-01-01T00:00:00.000Z"}, "future"),
        ({"expirationTime": "2020-01-01T00:00:00.000Z"}, "expired"),
        ({"notBefore": "2099-01-01T00:00:00.000Z"}, "Not Before"),
        ({"domain": "evil.example"}, "domain"),
        ({"chainId": 1}, "chain id"),
        ({"nonce": "abcdefgh12345678"}, "nonce"),
        ({"scheme": "https"}, "scheme"),
    ],
)
def test_siwe_messages_eip4361_forbids_are_refused(client, settings, dev_accounts, change, said) -> None:
    signed = node_sign(DEV_KEYS[0], fields=standard_fields(client, settings, dev_accounts[0].address, **change))
    answer = _verify(client, signed)
    assert answer.status_code == 401, answer.text
    assert said in answer.json()["message"]


def test_a_lower_case_address_is_refused(client, settings, dev_accounts) -> None:
    # The siwe package itself will not write one (it checks EIP-55); a hand-made message signed by the same key.
    address = dev_accounts[0].address
    good = node_sign(DEV_KEYS[0], fields=standard_fields(client, settings, address))
    lowered = good["message"].replace(address, address.lower())
    assert lowered != good["message"]
    answer = _verify(client, node_sign(DEV_KEYS[0], text=lowered))
    assert answer.status_code == 401, answer.text
    assert "EIP-55" in answer.json()["message"]


def test_a_message_that_is_not_eip4361_is_422(client, settings, dev_accounts) -> None:
    good = node_sign(DEV_KEYS[0], fields=standard_fields(client, settings, dev_accounts[0].address))
    broken = good["message"].replace("Version: 1", "Version: 2")
    answer = _verify(client, node_sign(DEV_KEYS[0], text=broken))
    assert answer.status_code == 422, answer.text
    assert "EIP-4361" in answer.json()["message"]
