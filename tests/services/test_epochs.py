"""Epoch settlement on a real anvil and SQLite: two epochs, one claim covering both, a relayed batch claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app import db
from app.chain.gateway import ChainGateway
from app.chain.proofs import TreeFiles, claim_many_args
from app.chain.transactions import Sender
from app.models.epochs import Epoch, EpochDebit, EpochReward, EpochScore
from app.services.epochs import FULL_RUN_STEPS, EpochRunner
from tests import factories

pytestmark = pytest.mark.chain

UNITS = 10**18  # CASH units per won (programme.toml)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture()
def engine(settings):
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


def test_two_epochs_one_claim_and_a_relayed_batch(settings, engine, w3, deployment_of, operator, relayer, dev_accounts):
    d = deployment_of(settings)
    token, _, distributor = factories.contracts(w3, d)
    alice, bob, carol, brand_key = dev_accounts[0], dev_accounts[1], dev_accounts[2], dev_accounts[5]
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Acme", 10**9 * UNITS)
    ids = {a.address: factories.customer(engine, a.address) for a in (alice, bob, carol)}

    # Epoch 1: purchases at the base tier (nobody graded yet: bronze, 100 bps), plus a paid data access.
    factories.purchase(engine, ids[alice.address], brand, T0 + timedelta(days=1), 600_000, "a1")
    factories.purchase(engine, ids[bob.address], brand, T0 + timedelta(days=2), 50_000, "b1")
    factories.grant_by_signature(w3, d, relayer, carol, brand_key.address, 1, 0b10000, 7 * UNITS)
    factories.record_access(w3, d, recorder, brand_key.address, 1, 0b10000, [carol.address])

    gateway = ChainGateway(settings)
    messages: list[str] = []
    runner = EpochRunner(settings, engine, gateway, progress=messages.append)
    first = runner.run(T0 + timedelta(days=30)).epoch
    assert len(messages) == FULL_RUN_STEPS, messages
    assert first.status == "done" and first.number == 1
    assert distributor.functions.currentEpoch().call() == 1
    assert distributor.functions.currentRoot().call() == bytes.fromhex(first.root[2:])
    expected_1 = {
        alice.address: 600_000 * 100 * UNITS // 10_000,
        bob.address: 50_000 * 100 * UNITS // 10_000,
        carol.address: 7 * UNITS,
    }
    with Session(engine) as session:
        rewards = {r.account: r for r in session.exec(select(EpochReward).where(EpochReward.epoch == 1))}
        assert {a: rewards[a.lower()].earned for a in expected_1} == expected_1
        assert rewards[carol.address.lower()].access_earnings == 7 * UNITS
        (debit,) = session.exec(select(EpochDebit).where(EpochDebit.epoch == 1)).all()
        assert debit.amount == sum(expected_1.values()) == first.total
        graded = {s.customer_id: s for s in session.exec(select(EpochScore).where(EpochScore.epoch == 1))}
        assert set(graded) == {ids[alice.address], ids[bob.address]}  # carol bought nothing

    # Epoch 2: alice buys again, now at the tier she earned in epoch 1.
    factories.purchase(engine, ids[alice.address], brand, T0 + timedelta(days=40), 100_000, "a2")
    second = runner.run(T0 + timedelta(days=60)).epoch
    assert second.number == 2 and second.status == "done"
    alice_rate = graded[ids[alice.address]].cashback_bps
    owed_alice = expected_1[alice.address] + 100_000 * alice_rate * UNITS // 10_000

    # One claim by alice's own key covers both epochs.
    proof = TreeFiles(settings.data_dir / "epochs" / "2").proof(alice.address)
    assert proof is not None and proof.cumulative == owed_alice
    Sender(w3, alice).send(distributor.functions.claim(*proof.claim_args()))
    assert token.functions.balanceOf(alice.address).call() == owed_alice

    # A relayer claims for the others in one transaction; resending the batch pays nothing twice.
    others = [bob.address, carol.address]
    proofs = [TreeFiles(settings.data_dir / "epochs" / "2").proof(a) for a in others]
    batch = distributor.functions.claimMany(*claim_many_args(proofs))
    Sender(w3, relayer).send(batch)
    Sender(w3, relayer).send(batch)
    assert [token.functions.balanceOf(a).call() for a in others] == [expected_1[a] for a in others]

    # Running again without an as-of date: nothing unfinished, so it says what is missing.
    with pytest.raises(Exception, match="as-of"):
        runner.run(None)
    with Session(engine) as session:
        assert [e.number for e in session.exec(select(Epoch))] == [1, 2]
