"""The purge: expired SIWE nonces and abandoned pending consent requests vanish; fresh ones and anything that
reached the chain stay. Also run on demand by `ledger maintain`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from sqlmodel import Session, select

from app.chain.eip712 import sign_typed_data
from app.clock import utcnow
from app.models.auth import SiweNonce
from app.models.consents import ConsentChange, ConsentReceipt
from app.services.maintenance import purge
from tests.conftest import make_brand, sign_in


def _grant_request(client, headers, brand_id: int) -> dict:  # type: ignore[type-arg]
    body = {"action": "grant", "brand": brand_id, "purpose": "marketing", "categories": ["cart"], "no_end": True}
    answer = client.post("/consents/typed-data", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_purge_removes_expired_nonces_and_abandoned_requests_only(client, settings, admin_headers, dev_accounts):
    brand, _ = make_brand(client, admin_headers, dev_accounts[5])
    customer = dev_accounts[0]
    headers = sign_in(client, customer)  # one used nonce
    old_nonce = client.post("/auth/siwe/nonce", json={"address": customer.address}).json()["nonce"]
    fresh_nonce = client.post("/auth/siwe/nonce", json={"address": customer.address}).json()["nonce"]
    abandoned = _grant_request(client, headers, brand["id"])
    fresh = _grant_request(client, headers, brand["id"])
    signed = _grant_request(client, headers, brand["id"])  # signed and relayed: proof of consent, kept
    signature = "0x" + sign_typed_data(customer.key, signed["typed_data"]).hex()
    relayed = client.post(
        "/consents", json={"request_id": signed["request_id"], "signature": signature}, headers=headers
    )
    assert relayed.status_code == 200, relayed.text
    # An abandoned revocation of the active consent: the change goes, the receipt it points to stays.
    revoke = client.post(
        "/consents/typed-data", json={"action": "revoke", "brand": brand["id"], "purpose": "marketing"}, headers=headers
    ).json()

    engine = client.app.state.engine
    long_ago = utcnow() - timedelta(days=2)
    with Session(engine) as session:
        for nonce in session.exec(select(SiweNonce)):
            if nonce.nonce != fresh_nonce:
                nonce.expires_at = long_ago  # the used one too
        for change_id in (abandoned["request_id"], revoke["request_id"]):
            change = session.get(ConsentChange, change_id)
            assert change is not None
            change.deadline = int(long_ago.timestamp())
        receipt = session.get(ConsentReceipt, abandoned["receipt_id"])
        assert receipt is not None
        receipt.created_at = long_ago
        session.commit()

        purged = purge(session, settings)
        assert (purged.nonces, purged.pending_changes, purged.pending_receipts) == (2, 2, 1)
        assert {n.nonce for n in session.exec(select(SiweNonce))} == {fresh_nonce}
        assert old_nonce != fresh_nonce
        assert {c.id for c in session.exec(select(ConsentChange))} == {fresh["request_id"], signed["request_id"]}
        assert {r.id for r in session.exec(select(ConsentReceipt))} == {fresh["receipt_id"], signed["receipt_id"]}
    # The session opened by sign-in is still good (its nonce row is gone, the session is not).
    assert client.get("/auth/me", headers=headers).status_code == 200


def test_ledger_maintain_purges_on_demand(client, settings, dev_accounts) -> None:
    client.post("/auth/siwe/nonce", json={"address": dev_accounts[0].address})
    with Session(client.app.state.engine) as session:
        for nonce in session.exec(select(SiweNonce)):
            nonce.expires_at = utcnow() - timedelta(days=1)
        session.commit()
    env = {**os.environ, "DATA_DIR": str(settings.data_dir), "RPC_URL": settings.rpc_url, "START_ANVIL": "false"}
    env["ENVIRONMENT"] = "test"
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "maintain"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "purged: 1 sign-in nonces" in done.stdout
    with Session(client.app.state.engine) as session:
        assert session.exec(select(SiweNonce)).all() == []


def test_the_scheduled_round_purges_while_running(client, settings, dev_accounts) -> None:
    import threading
    import time

    from app.services import maintenance

    client.post("/auth/siwe/nonce", json={"address": dev_accounts[0].address})
    engine = client.app.state.engine
    with Session(engine) as session:
        for nonce in session.exec(select(SiweNonce)):
            nonce.expires_at = utcnow() - timedelta(days=1)
        session.commit()
    stop = threading.Event()
    fast = settings.model_copy(update={"maintenance_interval_seconds": 0.1})
    thread = maintenance.start(engine, fast, client.app.state.gateway, stop)
    try:
        deadline = time.monotonic() + 10
        while True:
            with Session(engine) as session:
                if not session.exec(select(SiweNonce)).all():
                    break
            assert time.monotonic() < deadline, "the scheduled purge did not run"
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
