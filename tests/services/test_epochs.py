"""Epoch settlement on a real anvil and SQLite: two epochs, one claim covering both, a relayed batch claim."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app.chain.gateway import ChainGateway
from app.chain.proofs import TreeFiles, claim_many_args
from app.chain.transactions import Sender
from app.models.epochs import Epoch, EpochCarry, EpochDebit, EpochReward, EpochScore, EpochShortfall
from app.services.epochs import FULL_RUN_STEPS, EpochRunner
from app.services.wallet import finalize_due
from tests import factories

pytestmark = pytest.mark.chain

UNITS = 10**18  # CASH units per won (programme.toml)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_two_epochs_one_claim_and_a_relayed_batch(
    settings, engine, w3, deployment_of, operator, relayer, recorder, dev_accounts
):
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
    # Published, pending: claimable only after the challenge window (the auditor may veto it until then).
    assert distributor.functions.latestEpoch().call() == 1 and distributor.functions.claimableEpoch().call() == 0
    pending = distributor.functions.pendingEpoch().call()
    assert pending[1] == bytes.fromhex(first.root[2:])
    assert first.finalises_at is not None and int(first.finalises_at.timestamp()) == pending[2]
    assert pending[2] - w3.eth.get_block(first.block_number)["timestamp"] == d.challenge_window
    factories.pass_challenge_window(w3, pending[2])
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
    assert distributor.functions.claimableEpoch().call() == 1  # publishing epoch 2 finalised epoch 1
    factories.pass_challenge_window(w3, int(second.finalises_at.timestamp()))
    assert finalize_due(gateway) and distributor.functions.claimableRoot().call() == bytes.fromhex(second.root[2:])
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


def test_a_brand_short_of_budget_is_carried_and_everyone_else_is_paid(
    settings, engine, w3, deployment_of, operator, relayer, dev_accounts
):
    """Issue 9 item 13: a brand that over-records with its own key and cannot pay its cashback no longer
    stops the epoch. Its accesses within budget are settled from their reserve, the rest is skipped on
    chain; its purchase cashback is carried (stored, named) and paid once it is funded."""
    d = deployment_of(settings)
    token, registry, distributor = factories.contracts(w3, d)
    alice, bob, carol, dave, erin = dev_accounts[:5]
    short_key, other_key = dev_accounts[5], dev_accounts[6]
    short = factories.funded_brand(engine, w3, d, operator, short_key, "Short", 5 * UNITS)
    other = factories.funded_brand(engine, w3, d, operator, other_key, "Other", 10**6 * UNITS)
    ids = {a.address: factories.customer(engine, a.address) for a in (alice, bob, carol, dave, erin)}
    factories.purchase(engine, ids[alice.address], short, T0 + timedelta(days=1), 100_000, "a1")  # 1,000 CASH
    factories.purchase(engine, ids[bob.address], other, T0 + timedelta(days=2), 50_000, "b1")
    for customer in (carol, dave, erin):
        factories.grant_by_signature(w3, d, relayer, customer, short_key.address, 1, 0b10000, 2 * UNITS)
    # The short brand records with its own key beyond its budget: erin does not fit and is skipped.
    sent = factories.record_access(
        w3, d, short_key, short_key.address, 1, 0b10000, [carol.address, dave.address, erin.address]
    )
    (skipped,) = registry.events.AccessSkipped().process_receipt(sent.receipt)
    assert skipped["args"]["customers"] == [erin.address] and skipped["args"]["reasons"] == [4]  # OverBudget
    assert distributor.functions.availableOf(short_key.address).call() == UNITS

    gateway = ChainGateway(settings)
    runner = EpochRunner(settings, engine, gateway)
    first = runner.run(T0 + timedelta(days=30)).epoch
    assert first.status == "done"
    cashback_alice, cashback_bob = 100_000 * UNITS // 100, 50_000 * UNITS // 100
    with Session(engine) as session:
        (shortfall,) = session.exec(select(EpochShortfall)).all()
        assert (shortfall.epoch, shortfall.brand) == (1, short_key.address.lower())
        assert (shortfall.owed, shortfall.available, shortfall.carried) == (cashback_alice, UNITS, cashback_alice)
        carries = session.exec(select(EpochCarry)).all()
        assert [(c.account, c.amount) for c in carries] == [(alice.address.lower(), cashback_alice)]
        earned = {r.account: r.earned for r in session.exec(select(EpochReward).where(EpochReward.epoch == 1))}
        assert earned == {
            bob.address.lower(): cashback_bob,
            carol.address.lower(): 2 * UNITS,
            dave.address.lower(): 2 * UNITS,
        }
        debits = {x.brand: (x.access_earnings, x.purchase_cashback) for x in session.exec(select(EpochDebit))}
        assert debits == {short_key.address.lower(): (4 * UNITS, 0), other_key.address.lower(): (0, cashback_bob)}
    manifest = json.loads(first.manifest or "{}")
    assert manifest["shortfalls"] == [
        {"brand": short_key.address.lower(), "owed": str(cashback_alice), "available": str(UNITS),
         "carried": str(cashback_alice)}
    ]  # fmt: skip

    # Everyone else is paid once the window has passed.
    factories.pass_challenge_window(w3, int(first.finalises_at.timestamp()))
    assert finalize_due(gateway)
    for customer in (bob, carol, dave):
        proof = TreeFiles(settings.data_dir / "epochs" / "1").proof(customer.address)
        Sender(w3, relayer).send(distributor.functions.claim(*proof.claim_args()))
    assert [token.functions.balanceOf(c.address).call() for c in (bob, carol, dave, erin)] == [
        cashback_bob, 2 * UNITS, 2 * UNITS, 0
    ]  # fmt: skip
    assert TreeFiles(settings.data_dir / "epochs" / "1").proof(alice.address) is None

    # Funded again, the short brand pays the carried cashback in the next epoch.
    Sender(w3, operator).send(distributor.functions.fund(short_key.address, 2_000 * UNITS, b"\x01" * 32))
    second = runner.run(T0 + timedelta(days=60)).epoch
    with Session(engine) as session:
        assert session.exec(select(EpochShortfall).where(EpochShortfall.epoch == 2)).all() == []
        reward = session.get(EpochReward, (2, alice.address.lower()))
        assert reward is not None and reward.purchase_cashback == reward.cumulative == cashback_alice
    factories.pass_challenge_window(w3, int(second.finalises_at.timestamp()))
    assert finalize_due(gateway)
    proof = TreeFiles(settings.data_dir / "epochs" / "2").proof(alice.address)
    Sender(w3, alice).send(distributor.functions.claim(*proof.claim_args()))
    assert token.functions.balanceOf(alice.address).call() == cashback_alice
