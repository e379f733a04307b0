"""With anvil stopped, chain-dependent routes answer 503 with Retry-After; the rest of the API keeps working."""

from __future__ import annotations

import pytest
from eth_account import Account
from fastapi.testclient import TestClient
from web3 import Web3

from app.chain.anvil import start_anvil, stop_anvil
from app.chain.deployment import ensure_deployed
from app.config import ANVIL_OPERATOR_KEY, ANVIL_RELAYER_KEY, Settings
from app.main import create_app
from tests.conftest import free_port, make_brand, sign_in

pytestmark = pytest.mark.chain


def test_anvil_stopped_gives_503_and_other_routes_work(tmp_path, dev_accounts) -> None:
    port = free_port()
    anvil = start_anvil(port)
    try:
        url = f"http://127.0.0.1:{port}"
        settings = Settings(environment="test", data_dir=tmp_path, rpc_url=url, start_anvil=False)
        operator, relayer = Account.from_key(ANVIL_OPERATOR_KEY), Account.from_key(ANVIL_RELAYER_KEY)
        ensure_deployed(Web3(Web3.HTTPProvider(url)), operator, relayer.address, settings.deployments_dir)
        admin = {"Authorization": f"Bearer {settings.admin_key.get_secret_value()}"}
        with TestClient(create_app(settings)) as client:
            brand, _ = make_brand(client, admin, dev_accounts[5], name="Acme")
            customer = sign_in(client, dev_accounts[0])
            assert client.get("/me/balance", headers=customer).status_code == 200
            stop_anvil(anvil)

            down = [
                client.get("/me/balance", headers=customer),
                client.get("/me/claim", headers=customer),
                client.post("/brands", json={"name": "Late", "address": dev_accounts[6].address}, headers=admin),
                client.post(
                    "/consents/typed-data",
                    json={
                        "action": "grant",
                        "brand": brand["id"],
                        "purpose": "marketing",
                        "categories": ["interests"],
                        "price": 1,
                        "no_end": True,
                    },
                    headers=customer,
                ),
            ]
            for response in down:
                assert response.status_code == 503, response.text
                assert int(response.headers["Retry-After"]) > 0
                assert "does not answer" in response.json()["message"]
            assert client.get("/health").json() == {"status": "ok", "chain": "unavailable"}

            # What needs no chain keeps working: sign-in state, scores, personal data, ingestion.
            assert client.get("/auth/me", headers=customer).status_code == 200
            assert client.get("/me/profile", headers=customer).status_code == 200
            assert client.patch("/me/personal", json={"region": "Seoul"}, headers=customer).status_code == 200
            purchase = {
                "customer": dev_accounts[0].address,
                "brand": brand["id"],
                "external_id": "o-1",
                "purchased_at": "2026-01-01T00:00:00Z",
                "amount": 1000,
            }
            assert client.post("/ingest/purchases", json=purchase, headers=admin).status_code == 201
    finally:
        stop_anvil(anvil)
