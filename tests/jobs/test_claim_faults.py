"""Issue 13 item 4: `ledger claims relay` killed (SIGKILL, a real process) mid-batch pays every account exactly once
and completes on the next run: after the batch record, before its broadcast; after its receipt, before it is
marked done; and when the lost batch's nonce went to another transaction meanwhile."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from sqlmodel import Session, select
from web3 import Web3

from app import db
from app.chain.gateway import ChainGateway
from app.chain.transactions import Sender
from app.faults import FAULT_ENV
from app.models.auto_claims import ClaimBatch, ClaimLine
from app.services.auto_claims import relay
from tests import factories

pytestmark = pytest.mark.chain


def _relay(settings, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    env = factories.cli_env(settings)
    env.pop(FAULT_ENV, None)
    if fault:
        env[FAULT_ENV] = fault
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "claims", "relay", "--batch-size", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _spend_relayer_nonce(w3: Web3, relayer) -> None:  # type: ignore[no-untyped-def]
    """Another relayed transaction takes the nonce the killed batch was signed with."""
    tx = {"to": relayer.address, "value": 1, "gas": 21_000, "chainId": w3.eth.chain_id}
    tx |= {"nonce": w3.eth.get_transaction_count(relayer.address), "maxFeePerGas": 2 * w3.eth.gas_price + 1}
    tx |= {"maxPriorityFeePerGas": 1}
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(relayer.sign_transaction(tx).raw_transaction))


@pytest.mark.parametrize("fault", ["claims_recorded", "claims_sent", "nonce_taken"])
def test_killed_relay_pays_every_account_exactly_once(
    fault, settings, w3, deployment_of, operator, relayer, dev_accounts
):
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    d = deployment_of(settings)
    token, _, distributor = factories.contracts(w3, d)
    customers = factories.settle_epoch(settings, engine, w3, d, operator, dev_accounts)
    for account in customers:
        factories.opt_in_auto_claims(engine, account.address)
    owed = {a.address: factories.epoch_files(settings).proof(a.address).cumulative for a in customers}
    first_two = customers[:2]  # the first batch (batch size 2), which the kill interrupts

    killed = _relay(settings, "claims_sent" if fault == "claims_sent" else "claims_recorded")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Session(engine) as session:
        (batch,) = session.exec(select(ClaimBatch)).all()  # recorded before it left, with its accounts
        assert batch.status == "sent" and batch.epoch == 1 and batch.tx_hash
        assert {line.account for line in session.exec(select(ClaimLine))} == {a.address.lower() for a in first_two}
    paid_before = {a.address: token.functions.balanceOf(a.address).call() for a in customers}
    if fault == "claims_sent":
        assert paid_before == {a.address: owed[a.address] if a in first_two else 0 for a in customers}
    else:
        assert set(paid_before.values()) == {0}  # killed before the broadcast
    if fault == "nonce_taken":
        # Meanwhile the relayer's nonce is used by another transaction and one account claims by itself.
        _spend_relayer_nonce(w3, relayer)
        proof = factories.epoch_files(settings).proof(first_two[0].address)
        factories.finalize_due(ChainGateway(settings))
        Sender(w3, first_two[0]).send(distributor.functions.claim(*proof.claim_args()))

    finished = _relay(settings)
    assert finished.returncode == 0, finished.stderr + finished.stdout
    expected_status = "lost" if fault == "nonce_taken" else "done"
    assert f"batch {batch.id} of epoch 1 (2 accounts, {batch.tx_hash}): {expected_status}" in finished.stdout
    assert {a.address: token.functions.balanceOf(a.address).call() for a in customers} == owed
    assert factories.claimed_events(w3, d) == {a.address.lower(): 1 for a in customers}  # paid exactly once
    with Session(engine) as session:
        lines = {line.account: line for line in session.exec(select(ClaimLine))}
        statuses = [b.status for b in session.exec(select(ClaimBatch).order_by(ClaimBatch.id))]
    self_claimed = first_two[0].address.lower() if fault == "nonce_taken" else None
    assert set(lines) == {a.address.lower() for a in customers} - {self_claimed}
    assert all(line.paid and line.amount == owed[Web3.to_checksum_address(a)] for a, line in lines.items())
    # The killed batch, then batches of 2 for the rest: 3 accounts left (2 + 1), or 4 after a lost batch (2 + 2).
    assert statuses == [expected_status, "done", "done"]

    # A third run (in process: the CLI's output is checked above) has nothing left to do.
    with Session(engine) as session:
        again = relay(session, settings, ChainGateway(settings))
    assert again.reconciled == [] and again.sent == [] and again.nothing_owed == len(customers)
    assert {a.address: token.functions.balanceOf(a.address).call() for a in customers} == owed
    engine.dispose()
