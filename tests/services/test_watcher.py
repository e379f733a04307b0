"""The auditor's watcher on a real anvil: a bad root is vetoed within its window and never pays; a good
one pays after the window (issue 10 item 6). This module runs its own anvil, whose clock it moves."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from web3 import Web3

from app import db
from app.chain.anvil import start_anvil, stop_anvil
from app.chain.errors import ContractRevert
from app.chain.gateway import ChainGateway
from app.chain.transactions import Sender
from app.config import Settings
from app.services import wallet
from app.services.epochs import EpochRunner
from app.services.watcher import Watcher
from tests import factories
from tests.conftest import free_port
from tests.factories import cli_env

pytestmark = pytest.mark.chain

UNITS = 10**18
T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW = 600  # long enough for the watcher; the test moves anvil's clock past it


@pytest.fixture(scope="module")
def anvil_url() -> Iterator[str]:
    port = free_port()
    process = start_anvil(port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_anvil(process)


@pytest.fixture(scope="module")
def w3(anvil_url: str) -> Web3:
    return Web3(Web3.HTTPProvider(anvil_url))


@pytest.fixture()
def settings(tmp_path, anvil_url, w3, role_keys) -> Settings:
    from app.chain.deployment import ensure_deployed

    s = Settings(
        environment="test",
        data_dir=tmp_path / "data",
        rpc_url=anvil_url,
        start_anvil=False,
        challenge_window_seconds=WINDOW,
    )
    ensure_deployed(w3, role_keys, s.deployments_dir, challenge_window=WINDOW)
    return s


def move_time_past(w3: Web3, moment: int) -> None:
    now = int(w3.eth.get_block("latest")["timestamp"])
    w3.provider.make_request("evm_increaseTime", [max(moment - now + 1, 1)])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def test_a_bad_root_is_vetoed_and_never_paid_and_a_good_one_pays_after_the_window(
    settings, engine, w3, deployment_of, operator, relayer, recorder, auditor, dev_accounts
) -> None:
    d = deployment_of(settings)
    token, _, distributor = factories.contracts(w3, d)
    alice, carol, brand_key = dev_accounts[0], dev_accounts[2], dev_accounts[5]
    budget = 10**6 * UNITS
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Acme", budget)
    alice_id = factories.customer(engine, alice.address)
    factories.customer(engine, carol.address)
    factories.purchase(engine, alice_id, brand, T0 + timedelta(days=1), 600_000, "a1")
    factories.grant_by_signature(w3, d, relayer, carol, brand_key.address, 1, 0b10000, 7 * UNITS)
    factories.record_access(w3, d, recorder, brand_key.address, 1, 0b10000, [carol.address])
    gateway = ChainGateway(settings)
    watcher = Watcher(settings, engine, gateway)
    assert watcher.check_once() is None  # nothing pending

    # The operator's key publishes a root of its own making: alice's leaf is tampered to 100x.
    owed_alice = 600_000 * 100 * UNITS // 10_000
    bad = factories.SaltedTree({alice.address: owed_alice * 100, carol.address: 7 * UNITS})
    debits = [(brand_key.address, 7 * UNITS, owed_alice * 100)]
    Sender(w3, operator).send(distributor.functions.publishEpoch(1, bad.root, b"\x66" * 32, debits, [], 0))
    assert distributor.functions.budgetOf(brand_key.address).call() == budget - 7 * UNITS - owed_alice * 100
    with pytest.raises(ContractRevert):  # inside the window nothing pays
        Sender(w3, alice).send(distributor.functions.claim(*bad.claim_args(alice.address)))

    verdict = watcher.check_once()
    assert verdict is not None and verdict.epoch == 1 and verdict.reproduced is False and verdict.vetoed_in
    assert any("no manifest" in e for e in verdict.evidence), verdict.evidence
    (vetoed,) = distributor.events.EpochVetoed().get_logs(from_block=d.block)
    assert vetoed["args"]["epoch"] == 1 and vetoed["args"]["auditor"] == auditor.address
    assert distributor.functions.latestEpoch().call() == 0
    assert distributor.functions.budgetOf(brand_key.address).call() == budget  # restored
    assert distributor.functions.reservedOf(brand_key.address).call() == 7 * UNITS
    move_time_past(w3, int(verdict.finalises_at.timestamp()))
    with pytest.raises(ContractRevert):  # the vetoed root can never be finalised or claimed under
        Sender(w3, relayer).send(distributor.functions.finalizeEpoch())
    with pytest.raises(ContractRevert):
        Sender(w3, alice).send(distributor.functions.claim(*bad.claim_args(alice.address)))

    # The epoch job publishes epoch 1 again, from the records: the watcher finds it reproduces.
    epoch = EpochRunner(settings, engine, gateway).run(T0 + timedelta(days=30)).epoch
    assert epoch.number == 1 and epoch.status == "done"
    verdict = watcher.check_once()
    assert verdict is not None and verdict.reproduced is True and verdict.vetoed_in is None
    assert distributor.functions.latestEpoch().call() == 1

    # The `ledger audit watch --once` command agrees (exit 0: nothing vetoed).
    watched = subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "watch", "--once"],
        env=cli_env(settings) | {"CHALLENGE_WINDOW_SECONDS": str(WINDOW)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert watched.returncode == 0, watched.stdout + watched.stderr
    assert "reproduces" in watched.stdout

    # Inside the window the API says when it pays; after it, the claim is relayed and paid.
    with pytest.raises(Exception, match="claimable from"), db.session_scope(engine) as session:
        wallet.relay_claim(session, settings, gateway, alice.address)
    move_time_past(w3, int(epoch.finalises_at.timestamp()))
    with db.session_scope(engine) as session:
        _, amount = wallet.relay_claim(session, settings, gateway, alice.address)
    assert amount == owed_alice and token.functions.balanceOf(alice.address).call() == owed_alice
    assert distributor.functions.claimableRoot().call() == bytes.fromhex(epoch.root[2:])


def test_a_root_of_the_job_vetoed_is_computed_and_published_again(
    settings, engine, w3, deployment_of, operator, relayer, dev_accounts
) -> None:
    """A root the job published no longer reproduces (its records were edited after): vetoed, and the
    next run computes that epoch again and publishes it under the same number."""
    from sqlalchemy import text

    d = deployment_of(settings)
    _, _, distributor = factories.contracts(w3, d)
    alice, brand_key = dev_accounts[0], dev_accounts[5]
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Acme", 10**6 * UNITS)
    purchase = factories.purchase(
        engine, factories.customer(engine, alice.address), brand, T0 + timedelta(days=1), 600_000, "a1"
    )
    gateway = ChainGateway(settings)
    runner = EpochRunner(settings, engine, gateway)
    first = runner.run(T0 + timedelta(days=30)).epoch
    with engine.begin() as con:
        con.execute(text("UPDATE purchases SET amount = 1000 WHERE id = :id"), {"id": purchase})

    verdict = Watcher(settings, engine, gateway).check_once()
    assert verdict is not None and verdict.vetoed_in, verdict
    again = runner.run(None).epoch
    assert again.number == 1 and again.status == "done" and again.vetoes == 1
    assert again.root != first.root and again.total == 1000 * 100 * UNITS // 10_000
    assert distributor.functions.pendingEpoch().call()[1] == bytes.fromhex(again.root[2:])
