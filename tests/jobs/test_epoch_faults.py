"""The epoch job killed (SIGKILL, a real process) at its two dangerous points completes exactly once on rerun."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app import db
from app.chain.proofs import TreeFiles
from app.chain.transactions import Sender
from app.models.epochs import Epoch
from app.services.epochs import FAULT_ENV
from tests import factories

pytestmark = pytest.mark.chain

UNITS = 10**18
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _run_epoch(settings, as_of: datetime, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATA_DIR": str(settings.data_dir),
        "RPC_URL": settings.rpc_url,
        "START_ANVIL": "false",
        "ENVIRONMENT": "test",
    }
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "epoch", "run", "--as-of", as_of.strftime("%Y-%m-%dT%H:%M:%S")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("fault", ["publish_sent", "publish_recorded"])
def test_killed_epoch_completes_exactly_once(fault, settings, w3, deployment_of, operator, relayer, dev_accounts):
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    d = deployment_of(settings)
    token, _, distributor = factories.contracts(w3, d)
    customers, brand_key = dev_accounts[:3], dev_accounts[5]
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Acme", 10**9 * UNITS)
    owed = {}
    for i, account in enumerate(customers):
        cid = factories.customer(engine, account.address)
        amount = 10_000 * (i + 1)
        factories.purchase(engine, cid, brand, T0 + timedelta(days=i + 1), amount, f"p{i}")
        owed[account.address] = amount * 100 * UNITS // 10_000  # base tier: 100 bps
    budget_before = distributor.functions.budgetOf(brand_key.address).call()

    killed = _run_epoch(settings, T0 + timedelta(days=30), fault)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    # The root reached the chain; the database has not recorded it (or not finished the proofs).
    assert distributor.functions.latestEpoch().call() == 1
    with Session(engine) as session:
        (row,) = session.exec(select(Epoch)).all()
        assert row.status == ("computed" if fault == "publish_sent" else "published")

    finished = _run_epoch(settings, T0 + timedelta(days=30))
    assert finished.returncode == 0, finished.stderr + finished.stdout
    assert distributor.functions.latestEpoch().call() == 1  # published once, not twice
    assert budget_before - distributor.functions.budgetOf(brand_key.address).call() == sum(owed.values())
    with Session(engine) as session:
        (row,) = session.exec(select(Epoch)).all()
        assert row.status == "done" and row.tx_hash and row.block_number

    # After the challenge window every customer claims exactly what is owed, once.
    factories.pass_challenge_window(w3, int(row.finalises_at.timestamp()))
    Sender(w3, operator).send(distributor.functions.finalizeEpoch())
    files = TreeFiles(settings.data_dir / "epochs" / "1")
    for account in customers:
        proof = files.proof(account.address)
        assert proof is not None and proof.cumulative == owed[account.address]
        Sender(w3, account).send(distributor.functions.claim(*proof.claim_args()))
        assert token.functions.balanceOf(account.address).call() == owed[account.address]
    engine.dispose()
