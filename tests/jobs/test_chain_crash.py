"""A chain crash under a relayed grant: anvil SIGKILLed within 2 s of the relay and restarted from its --state
file comes back without the grant. The audit reports the record the chain does not confirm; reconciliation
resends the very same transaction (consent back in force, same hash); if the relayer's nonce went to another
transaction, relays the same customer signature anew (new hash); and when the customer's signed nonce was used
by another change meanwhile, marks it failed and tells the customer."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from web3 import Web3

from app.audit import verify
from app.chain.anvil import start_anvil, stop_anvil
from app.chain.deployment import ensure_deployed
from app.chain.eip712 import sign_typed_data
from app.chain.transactions import Sender
from app.config import Settings
from app.main import create_app
from app.models.consents import ConsentChange
from app.services.maintenance import run_once
from tests import factories
from tests.conftest import TEST_CHALLENGE_WINDOW, free_port, make_brand, sign_in

pytestmark = pytest.mark.chain


def _right_after_a_state_dump(state: Path) -> None:
    """Waits for anvil's next periodic state write (every 2 s), so the next ~2 s are not in the file."""
    before = state.stat().st_mtime_ns if state.exists() else 0
    deadline = time.monotonic() + 10
    while (state.stat().st_mtime_ns if state.exists() else 0) == before:
        assert time.monotonic() < deadline, "anvil did not write its state file"
        time.sleep(0.02)


def _spend_nonce(w3: Web3, account) -> None:  # type: ignore[no-untyped-def]
    """One plain transfer from `account`, using its next nonce."""
    tx = {
        "from": account.address,
        "to": account.address,
        "value": 1,
        "nonce": w3.eth.get_transaction_count(account.address),
    }
    tx |= {
        "gas": 21_000,
        "maxFeePerGas": 2 * w3.eth.gas_price + 1,
        "maxPriorityFeePerGas": 1,
        "chainId": w3.eth.chain_id,
    }
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction))


def _confirmations_check(settings: Settings, client: TestClient, out: Path) -> dict:  # type: ignore[type-arg]
    report, _ = verify(settings, engine=client.app.state.engine, gateway=client.app.state.gateway, out=out)
    return next(c for c in report["checks"] if c["check"] == "confirmations")


NOTHING, RELAYER_BUSY, NONCE_TAKEN = "nothing", "the relayer's nonce went to another transaction", "nonce taken"


@pytest.mark.parametrize("meanwhile", [NOTHING, RELAYER_BUSY, NONCE_TAKEN])
def test_a_grant_lost_in_a_chain_crash_is_reconciled(tmp_path, role_keys, relayer, dev_accounts, meanwhile) -> None:
    port = free_port()
    state = tmp_path / "anvil" / "state.json"
    anvil = start_anvil(port, state_file=state)
    url = f"http://127.0.0.1:{port}"
    w3 = Web3(Web3.HTTPProvider(url))
    settings = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        rpc_url=url,
        start_anvil=False,
        challenge_window_seconds=TEST_CHALLENGE_WINDOW,
    )
    customer, brand_account = dev_accounts[0], dev_accounts[5]
    try:  # from here on the anvil is stopped whatever fails (a leaked one would outlive the test session)
        deployment, _ = ensure_deployed(w3, role_keys, settings.deployments_dir, challenge_window=TEST_CHALLENGE_WINDOW)
        with TestClient(create_app(settings)) as client:
            admin = {"Authorization": f"Bearer {settings.admin_key.get_secret_value()}"}
            brand, _ = make_brand(client, admin, brand_account, name="Acme")
            headers = sign_in(client, customer)
            typed = client.post(
                "/consents/typed-data",
                json={
                    "action": "grant",
                    "brand": brand["id"],
                    "purpose": "marketing",
                    "categories": ["interests"],
                    "price": 5,
                    "no_end": True,
                },
                headers=headers,
            ).json()
            signature = "0x" + sign_typed_data(customer.key, typed["typed_data"]).hex()

            # The grant relayed, then anvil SIGKILLed before its next state write.
            _right_after_a_state_dump(state)
            relayed = client.post(
                "/consents", json={"request_id": typed["request_id"], "signature": signature}, headers=headers
            )
            anvil.kill()
            anvil.wait()
            assert relayed.status_code == 200, relayed.text
            tx_hash, lost_block = relayed.json()["tx_hash"], relayed.json()["block_number"]

            anvil = start_anvil(port, state_file=state)
            assert w3.eth.block_number < lost_block, "the restarted chain still has the grant's block"
            assert client.get(f"/pages/tx/{tx_hash}").status_code == 404  # not 503: the chain is up
            listed = client.get("/consents", headers=headers).json()
            # The defect's state: the store holds it active, the chain has nothing.
            assert [(c["status"], c["receipt_on_chain"], c["grant_tx_hash"]) for c in listed] == [
                ("active", False, tx_hash)
            ]
            check = _confirmations_check(settings, client, tmp_path / "audit1")
            assert check["status"] == "failed"
            assert [d["record"]["tx_hash"] for d in check["discrepancies"]] == [tx_hash]

            if meanwhile == RELAYER_BUSY:  # the lost bytes can never be mined now; the customer's signature can
                _spend_nonce(w3, relayer)
            if meanwhile == NONCE_TAKEN:
                # Nonces are unordered: another grant takes its own. The customer invalidates this one's instead
                # (the wallet's "cancel what I signed"), so the lost grant can never land.
                nonce = int(typed["typed_data"]["message"]["nonce"])
                registry = factories.contracts(w3, deployment)[1]
                Sender(w3, customer).send(registry.functions.invalidateNonces(nonce >> 8, 1 << (nonce & 255)))

            reconciled = run_once(client.app.state.engine, settings, client.app.state.gateway).reconciled
            listed = client.get("/consents", headers=headers).json()
            detail = client.get(f"/consents/{typed['receipt_id']}", headers=headers).json()

            if meanwhile == NOTHING:
                # End state: the very same transaction mined again; the consent in force on chain and in the store.
                assert [(r.outcome, r.tx_hash) for r in reconciled] == [("resent", tx_hash)]
                assert w3.eth.get_transaction_receipt(tx_hash)["status"] == 1  # type: ignore[arg-type]
                assert [(c["status"], c["receipt_on_chain"], c["on_chain"]["in_force"]) for c in listed] == [
                    ("active", True, True)
                ]
                assert client.get(f"/pages/tx/{tx_hash}").status_code == 200
            elif meanwhile == RELAYER_BUSY:
                # End state: the same customer signature relayed in a new transaction; in force, the new hash shown.
                (outcome,) = reconciled
                assert outcome.outcome == "relayed anew" and outcome.tx_hash not in (None, tx_hash)
                assert [(c["status"], c["receipt_on_chain"], c["grant_tx_hash"]) for c in listed] == [
                    ("active", True, outcome.tx_hash)
                ]
                assert detail["changes"][0]["tx_hash"] == outcome.tx_hash
            else:
                # End state: the grant failed and the customer is told, with the reason, in the consent view.
                assert [r.outcome for r in reconciled] == ["failed"]
                assert [(c["receipt_id"], c["status"], c["receipt_on_chain"]) for c in listed] == [
                    (typed["receipt_id"], "failed", False)
                ]
                assert detail["status"] == "failed"
                assert detail["changes"][0]["status"] == "failed"
                assert "used or invalidated" in detail["changes"][0]["failure"]
                with Session(client.app.state.engine) as session:
                    change = session.get(ConsentChange, typed["request_id"])
                    assert change is not None and change.status == "failed"
            assert _confirmations_check(settings, client, tmp_path / "audit2")["status"] == "ok"
            # A second round has nothing left to do.
            assert run_once(client.app.state.engine, settings, client.app.state.gateway).reconciled == []
    finally:
        stop_anvil(anvil)
