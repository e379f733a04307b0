"""Issue 13 item 4: automatic claims in claimMany batches: opt-in only, nothing owed skipped, holders' gas."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import Session, select

from app.chain.gateway import ChainGateway
from app.chain.transactions import Sender
from app.models.auto_claims import ClaimBatch, ClaimLine
from app.services.auto_claims import relay
from app.services.epochs import EpochRunner
from tests import factories

pytestmark = pytest.mark.chain

T0 = factories.T0
UNITS = 10**18
HOLDER_GAS_GOAL = 30_000  # per account, receipt gas (intrinsic and calldata included)


def _owed(settings, accounts, number: int = 1) -> dict[str, int]:
    files = factories.epoch_files(settings, number)
    return {a.address: files.proof(a.address).cumulative for a in accounts}


def test_only_opted_in_accounts_with_something_owed_are_claimed_for(
    settings, engine, w3, deployment_of, operator, dev_accounts
):
    d = deployment_of(settings)
    token, _, distributor = factories.contracts(w3, d)
    customers = factories.settle_epoch(settings, engine, w3, d, operator, dev_accounts)
    opted, not_opted = customers[:4], customers[4]
    for account in opted:
        factories.opt_in_auto_claims(engine, account.address)
    owed = _owed(settings, customers)
    # One opted-in customer already claimed by its own key: nothing owed, so no line and no batch slot.
    self_claimer = opted[0]
    proof = factories.epoch_files(settings).proof(self_claimer.address)
    gateway = ChainGateway(settings)
    factories.finalize_due(gateway)
    Sender(w3, self_claimer).send(distributor.functions.claim(*proof.claim_args()))

    with Session(engine) as session:
        report = relay(session, settings, gateway, batch_size=2)
    assert report.epoch == 1 and report.nothing_owed == 1
    assert [b.accounts for b in report.sent] == [2, 1] and all(b.status == "done" for b in report.sent)
    assert sum(b.paid for b in report.sent) == sum(owed[a.address] for a in opted[1:])
    for account in customers:
        expected = 0 if account is not_opted else owed[account.address]
        assert token.functions.balanceOf(account.address).call() == expected
    assert factories.claimed_events(w3, d) == {a.address.lower(): 1 for a in opted}
    with Session(engine) as session:
        lines = session.exec(select(ClaimLine)).all()
        assert {(line.epoch, line.account, line.amount, line.paid) for line in lines} == {
            (1, a.address.lower(), owed[a.address], True) for a in opted[1:]
        }

    # A second run finds nothing owed: no batch, no transaction.
    with Session(engine) as session:
        again = relay(session, settings, gateway, batch_size=2)
        assert again.sent == [] and again.nothing_owed == 4
        assert len(session.exec(select(ClaimBatch)).all()) == 2


def test_nothing_is_claimed_while_the_root_is_in_its_challenge_window(
    settings, engine, w3, deployment_of, operator, dev_accounts
):
    d = deployment_of(settings)
    token, _, _ = factories.contracts(w3, d)
    alice = dev_accounts[0]
    brand = factories.funded_brand(engine, w3, d, operator, dev_accounts[6], "Acme", 10**9 * UNITS)
    factories.purchase(engine, factories.customer(engine, alice.address), brand, T0 + timedelta(days=1), 9_000, "w-1")
    factories.opt_in_auto_claims(engine, alice.address)
    gateway = ChainGateway(settings)
    with Session(engine) as session:
        assert relay(session, settings, gateway).epoch is None  # no epoch at all yet
    epoch = EpochRunner(settings, engine, gateway).run(T0 + timedelta(days=30)).epoch
    with Session(engine) as session:
        pending = relay(session, settings, gateway)
    assert pending.epoch is None and pending.sent == []  # the auditor may still veto the root
    factories.pass_challenge_window(w3, int(epoch.finalises_at.timestamp()))
    with Session(engine) as session:
        (batch,) = relay(session, settings, gateway).sent  # finalises the root, then claims
    assert batch.paid == token.functions.balanceOf(alice.address).call() == _owed(settings, [alice])[alice.address]


def test_holders_claim_in_batches_within_the_gas_goal(settings, engine, w3, deployment_of, operator, dev_accounts):
    """Holders (claimed before, hold CASH), at the default batch size: each batch receipt's gas divided by its
    accounts is at most 30,000 (the first claims, which write a fresh balance and a fresh claimed slot, are not)."""
    d = deployment_of(settings)
    token, _, _ = factories.contracts(w3, d)
    customers = factories.people("holder", 60)
    brand = factories.funded_brand(engine, w3, d, operator, dev_accounts[6], "Acme", 10**9 * UNITS)
    ids = {a.address: factories.customer(engine, a.address) for a in customers}
    gateway = ChainGateway(settings)
    for number, day in ((1, 1), (2, 40)):
        for k, account in enumerate(customers):
            at = T0 + timedelta(days=day)
            factories.purchase(engine, ids[account.address], brand, at, 5_000 + k, f"h{number}-{k}")
        epoch = EpochRunner(settings, engine, gateway).run(T0 + timedelta(days=30 * number)).epoch
        factories.pass_challenge_window(w3, int(epoch.finalises_at.timestamp()))
        if number == 1:
            for account in customers:
                factories.opt_in_auto_claims(engine, account.address)
        with Session(engine) as session:
            report = relay(session, settings, gateway)  # CLAIM_BATCH_SIZE: 50
        assert [b.accounts for b in report.sent] == [settings.claim_batch_size, 10]
        for batch in report.sent:
            receipt = w3.eth.get_transaction_receipt(batch.tx_hash)
            per_account = receipt["gasUsed"] / batch.accounts
            print(f"epoch {number}: claimMany of {batch.accounts}, {receipt['gasUsed']} gas, {per_account:.0f} each")
            assert batch.gas_used == receipt["gasUsed"]
            if number == 2:
                assert per_account <= HOLDER_GAS_GOAL
    owed = _owed(settings, customers, 2)
    assert {a.address: token.functions.balanceOf(a.address).call() for a in customers} == owed


def test_a_paused_distributor_records_nothing_and_the_next_run_pays(
    settings, engine, w3, deployment_of, operator, role_keys, dev_accounts
):
    d = deployment_of(settings)
    token, _, distributor = factories.contracts(w3, d)
    customers = factories.settle_epoch(settings, engine, w3, d, operator, dev_accounts)
    for account in customers[:2]:
        factories.opt_in_auto_claims(engine, account.address)
    gateway = ChainGateway(settings)
    factories.finalize_due(gateway)
    Sender(w3, role_keys.pauser).send(distributor.functions.pause())
    with Session(engine) as session:
        paused = relay(session, settings, gateway)
        assert paused.paused and paused.sent == []
        assert session.exec(select(ClaimBatch)).all() == [] and session.exec(select(ClaimLine)).all() == []
    Sender(w3, role_keys.pauser).send(distributor.functions.unpause())
    with Session(engine) as session:
        resumed = relay(session, settings, gateway)
    assert not resumed.paused and [b.accounts for b in resumed.sent] == [2]
    owed = _owed(settings, customers[:2])
    assert {a.address: token.functions.balanceOf(a.address).call() for a in customers[:2]} == owed


def test_a_second_relayer_racing_for_the_same_account_sends_nothing(
    settings, engine, w3, deployment_of, operator, relayer, dev_accounts
):
    """The (epoch, account) key stops a batch before it is broadcast when another run lined one of its accounts
    between planning and recording; a bad proof is refused by name before anything is recorded."""
    from dataclasses import replace

    from app.services import auto_claims

    d = deployment_of(settings)
    customers = factories.settle_epoch(settings, engine, w3, d, operator, dev_accounts)
    for account in customers[:2]:
        factories.opt_in_auto_claims(engine, account.address)
    gateway = ChainGateway(settings)
    factories.finalize_due(gateway)
    files = factories.epoch_files(settings)
    planned = [(files.proof(a.address), 1) for a in customers[:2]]
    with Session(engine) as session:
        (first,) = relay(session, settings, gateway, batch_size=2).sent  # the other run, which got there first
        nonce = w3.eth.get_transaction_count(relayer.address)
        assert auto_claims.send_batch(session, gateway, 1, planned) is None
        assert w3.eth.get_transaction_count(relayer.address) == nonce  # nothing left the relayer
        assert [b.id for b in session.exec(select(ClaimBatch))] == [first.batch_id]

        wrong = replace(files.proof(customers[2].address), cumulative=10**30)
        with pytest.raises(gateway.distributor.errors.InvalidProof):
            auto_claims.send_batch(session, gateway, 1, [(wrong, 10**30)])
        assert len(session.exec(select(ClaimBatch)).all()) == 1
