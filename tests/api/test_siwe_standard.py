"""SIWE with a standard client: the npm `siwe` 3 package writes the message, an ethers v6 Wallet signs it; the API
accepts what EIP-4361 allows (no statement, resources, a request id) and refuses what it forbids."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from app.paths import REPO_ROOT
from tests.conftest import DEV_KEYS

SCRIPT = REPO_ROOT / "tests" / "interop" / "siwe_sign_in.mjs"


def node_sign(private_key: str, *, fields: dict | None = None, text: str | None = None) -> dict:  # type: ignore[type-arg]
    """{message, signature, address} from the npm siwe package and an ethers Wallet."""
    request = {"privateKey": private_key, **({"fields": fields} if fields is not None else {"text": text})}
    done = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps(request), capture_output=True, text=True, timeout=60, cwd=REPO_ROOT
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def standard_fields(client, settings, address: str, **changes) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The fields a dapp gives the siwe package: this service's domain, URI, chain and a fresh nonce."""
    nonce = client.post("/auth/siwe/nonce", json={"address": address}).json()["nonce"]
    fields = {
        "domain": settings.siwe_domain,
        "address": address,
        "uri": settings.siwe_uri,
        "version": "1",
        "chainId": client.get("/pages/config").json()["chain_id"],
        "nonce": nonce,
        "issuedAt": _iso(datetime.now(UTC)),
    }
    return {**fields, **changes}


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
