"""Shared fixtures: a real anvil per session, web3, funded dev keys and a fresh deployment."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from app.chain.anvil import start_anvil, stop_anvil
from app.chain.deployment import Deployment, ensure_deployed
from app.chain.keys import RoleKeys
from app.config import Settings

# Anvil's default mnemonic accounts 2..9 serve as customers and brands in tests.
DEV_KEYS = [
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
]


# Seconds a published root waits before it pays, in tests: short, since the session's anvil is shared and
# tests move its clock past the window (factories.pass_challenge_window) rather than wait.
TEST_CHALLENGE_WINDOW = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """A real anvil on a free loopback port for the whole session."""
    port = free_port()
    process = start_anvil(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_anvil(process)


@pytest.fixture(scope="session")
def w3(anvil_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(anvil_url))


@pytest.fixture(scope="session")
def role_keys() -> RoleKeys:
    """The local default key of every on-chain role (anvil's mnemonic accounts 0, 1, 10..13)."""
    return RoleKeys.from_settings(Settings(environment="test"))


@pytest.fixture(scope="session")
def operator(role_keys: RoleKeys) -> LocalAccount:
    return role_keys.operator


@pytest.fixture(scope="session")
def relayer(role_keys: RoleKeys) -> LocalAccount:
    return role_keys.relayer


@pytest.fixture(scope="session")
def recorder(role_keys: RoleKeys) -> LocalAccount:
    return role_keys.recorder


@pytest.fixture(scope="session")
def auditor(role_keys: RoleKeys) -> LocalAccount:
    return role_keys.auditor


@pytest.fixture(scope="session")
def dev_accounts() -> list[LocalAccount]:
    return [Account.from_key(k) for k in DEV_KEYS]


@pytest.fixture()
def deployment(w3: Web3, role_keys: RoleKeys, tmp_path: Path) -> Deployment:
    """Fresh contracts for each test (addresses remembered under the test's own folder)."""
    window = TEST_CHALLENGE_WINDOW
    deployed, created = ensure_deployed(w3, role_keys, tmp_path / "deployments", challenge_window=window)
    assert created
    return deployed


# ---------------------------------------------------------------------------------------------
# The API against the real anvil and a real SQLite file
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def migrated_store(tmp_path_factory) -> Path:
    """A SQLite file at the latest migration, made once per session: each test starts from a copy of it
    (the app's start-up then finds the schema at head), which saves the 0.2 s of migrating every test."""
    from app import db

    data = tmp_path_factory.mktemp("migrated")
    db.migrate(Settings(environment="test", data_dir=data, start_anvil=False))
    return data / "ledger.db"


@pytest.fixture()
def settings(tmp_path: Path, anvil_url: str, w3: Web3, role_keys: RoleKeys, migrated_store: Path):
    """Settings for one test: its own data folder (SQLite file, deployments) and fresh contracts."""
    import shutil

    s = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        rpc_url=anvil_url,
        start_anvil=False,
        challenge_window_seconds=TEST_CHALLENGE_WINDOW,
    )
    s.data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(migrated_store, s.data_dir / "ledger.db")
    ensure_deployed(w3, role_keys, s.deployments_dir, challenge_window=s.challenge_window_seconds)
    return s


@pytest.fixture()
def engine(settings):
    """An engine over the test's own SQLite file, at the latest migration."""
    from app import db

    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def client(settings):
    """A TestClient over the app (start-up runs the migrations)."""
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture()
def admin_headers(settings) -> dict[str, str]:
    return {"Authorization": f"Bearer {settings.admin_key.get_secret_value()}"}


def sign_in(client, account: LocalAccount) -> dict[str, str]:
    """Signs a customer in by SIWE with their own key; returns their auth headers."""
    from eth_account.messages import encode_defunct

    issued = client.post("/auth/siwe/nonce", json={"address": account.address})
    assert issued.status_code == 200, issued.text
    message = issued.json()["message"]
    signature = "0x" + bytes(account.sign_message(encode_defunct(text=message)).signature).hex()
    verified = client.post("/auth/siwe/verify", json={"message": message, "signature": signature})
    assert verified.status_code == 200, verified.text
    return {"Authorization": f"Bearer {verified.json()['token']}"}


def make_brand(client, admin_headers: dict[str, str], account: LocalAccount, name: str = "Brand") -> tuple[dict, dict]:
    """Registers a brand (database and chain) and gives it an API key; returns (brand, auth headers)."""
    created = client.post("/brands", json={"name": name, "address": account.address}, headers=admin_headers)
    assert created.status_code == 201, created.text
    brand = created.json()
    key = client.post(f"/brands/{brand['id']}/keys", json={"label": "test"}, headers=admin_headers)
    assert key.status_code == 201, key.text
    return brand, {"Authorization": f"Bearer {key.json()['key']}"}


@pytest.fixture()
def customer_headers(client, dev_accounts) -> dict[str, str]:
    return sign_in(client, dev_accounts[0])


@pytest.fixture()
def brand_and_headers(client, admin_headers, dev_accounts) -> tuple[dict, dict]:
    return make_brand(client, admin_headers, dev_accounts[5], name="Acme")


@pytest.fixture()
def auditor_headers(client, admin_headers) -> dict[str, str]:
    created = client.post("/auditors/tokens", json={"label": "auditor"}, headers=admin_headers)
    assert created.status_code == 201, created.text
    return {"Authorization": f"Bearer {created.json()['token']}"}


@pytest.fixture()
def deployment_of(w3: Web3):
    """The deployment a `settings` fixture made (read back from its deployments folder)."""
    from app.chain.deployment import load_deployment

    def read(s) -> Deployment:
        found = load_deployment(w3, s.deployments_dir)
        assert found is not None
        return found

    return read
