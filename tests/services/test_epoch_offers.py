"""Monetary offers paid through the epochs on a real anvil and SQLite: exactly what offers_reference.py says,
the budget cap held across two epochs, debited from the brand, and a tampered offer line named by the audit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from app.analytics import offers_reference as reference
from app.audit import Verifier
from app.chain.gateway import ChainGateway
from app.chain.proofs import TreeFiles
from app.chain.transactions import Sender
from app.models.epochs import EpochDebit, EpochReward, EpochScore
from app.models.offer_payouts import EpochOfferLine, EpochOfferReward
from app.services.epochs import EpochRunner
from app.services.wallet import finalize_due
from tests import factories

pytestmark = pytest.mark.chain

UNITS = 10**18
SCALE = UNITS // 10_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BASE_BPS = 100  # the last tier's rate: nobody is graded before epoch 1


def _lines(engine, epoch: int) -> list[tuple[int, int, int, int, int]]:
    with Session(engine) as session:
        rows = session.exec(select(EpochOfferLine).where(EpochOfferLine.epoch == epoch)).all()
        return sorted((r.offer_id, r.customer_id, r.purchase_id, r.owed, r.paid) for r in rows)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def test_a_delivered_cashback_offer_pays_what_the_reference_says_within_its_cap_and_the_audit_checks_it(
    settings, engine, w3, deployment_of, operator, dev_accounts
) -> None:
    d = deployment_of(settings)
    token, _, distributor = factories.contracts(w3, d)
    alice, bob, brand_key = dev_accounts[0], dev_accounts[1], dev_accounts[5]
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Acme", 10**6 * UNITS)
    ids = {a.address: factories.customer(engine, a.address) for a in (alice, bob)}
    # 5% extra on alice's purchases (bob was never delivered it), capped at 7,000 CASH; a fixed bonus of
    # 300 CASH to both, paid once each on the first qualifying purchase.
    cap = 7_000 * UNITS
    cashback = factories.delivered_offer(
        engine, brand, "cashback_bps", [ids[alice.address]], T0, bps=500, budget_units=cap
    )
    bonus = factories.delivered_offer(
        engine, brand, "fixed_bonus", list(ids.values()), T0, bonus_units=300 * UNITS, budget_units=10**6 * UNITS
    )
    purchases = [
        (factories.purchase(engine, ids[alice.address], brand, T0 + timedelta(days=1), 100_000, "a1"), alice, 1),
        (factories.purchase(engine, ids[bob.address], brand, T0 + timedelta(days=2), 100_000, "b1"), bob, 1),
        (factories.purchase(engine, ids[alice.address], brand, T0 + timedelta(days=3), 20_000, "a2"), alice, 1),
    ]
    runner = EpochRunner(settings, engine, ChainGateway(settings))
    first = runner.run(T0 + timedelta(days=30)).epoch

    def expected(epoch: int, spent: int, paid_before: set[tuple[int, int]]) -> list[reference.Line]:
        offers = [
            reference.Offer(cashback, brand, "cashback_bps", 500, 0, cap, _naive(T0 - timedelta(days=2191)),
                            datetime(2100, 1, 1), spent),
            reference.Offer(bonus, brand, "fixed_bonus", 0, 300 * UNITS, 10**6 * UNITS,
                            _naive(T0 - timedelta(days=2191)), datetime(2100, 1, 1), 0),
        ]  # fmt: skip
        covered = [
            reference.Purchase(pid, ids[who.address], brand, _naive(T0 + timedelta(days=i + 1)), amount)
            for i, (pid, who, e, amount) in enumerate(
                (p, w, e, [100_000, 100_000, 20_000, 100_000][n]) for n, (p, w, e) in enumerate(purchases)
            )
            if e == epoch
        ]
        deliveries = [(cashback, ids[alice.address], _naive(T0))] + [(bonus, c, _naive(T0)) for c in ids.values()]
        return reference.offer_lines(offers, deliveries, covered, paid_before, scale=SCALE)

    # Epoch 1: alice's two purchases earn 5% (5,000 + 1,000 CASH), each customer one bonus of 300 CASH.
    want_1 = expected(1, 0, set())
    assert _lines(engine, 1) == sorted((x.offer_id, x.customer_id, x.purchase_id, x.owed, x.paid) for x in want_1)
    assert [x.paid for x in want_1 if x.offer_id == cashback] == [5_000 * UNITS, 1_000 * UNITS]
    with Session(engine) as session:
        rewards = {r.account: r for r in session.exec(select(EpochReward).where(EpochReward.epoch == 1))}
        base = {alice.address: 120_000 * BASE_BPS * SCALE, bob.address: 100_000 * BASE_BPS * SCALE}
        offers_paid = {alice.address: 6_300 * UNITS, bob.address: 300 * UNITS}
        for who in (alice, bob):
            assert rewards[who.address.lower()].earned == base[who.address] + offers_paid[who.address]
        per_account = {(r.account, r.amount) for r in session.exec(select(EpochOfferReward))}
        assert per_account == {(a.lower(), offers_paid[a]) for a in offers_paid}
        (debit,) = session.exec(select(EpochDebit).where(EpochDebit.epoch == 1)).all()
        assert debit.purchase_cashback == sum(base.values()) + sum(offers_paid.values()) == first.total
    manifest = json.loads(first.manifest or "{}")
    assert manifest["offers"]["lines"] == 4 and manifest["offers"]["paid"] == str(6_600 * UNITS)
    factories.pass_challenge_window(w3, int(first.finalises_at.timestamp()))

    # Epoch 2: alice buys 100,000 won more: 5,000 owed, only the 1,000 CASH left under the cap is paid; no
    # second bonus.
    purchases.append(
        (factories.purchase(engine, ids[alice.address], brand, T0 + timedelta(days=40), 100_000, "a3"), alice, 2)
    )
    second = runner.run(T0 + timedelta(days=60)).epoch
    want_2 = expected(2, 6_000 * UNITS, {(bonus, c) for c in ids.values()})
    got_2 = _lines(engine, 2)
    assert got_2 == sorted((x.offer_id, x.customer_id, x.purchase_id, x.owed, x.paid) for x in want_2)
    assert [(owed, paid) for _, _, _, owed, paid in got_2] == [(5_000 * UNITS, 1_000 * UNITS)]
    with Session(engine) as session:
        paid = sum(r.paid for r in session.exec(select(EpochOfferLine).where(EpochOfferLine.offer_id == cashback)))
    assert paid == cap  # the cap holds across the two epochs
    factories.pass_challenge_window(w3, int(second.finalises_at.timestamp()))
    assert finalize_due(ChainGateway(settings))

    # Alice claims her base cashback and every offer bonus of both epochs.
    with Session(engine) as session:
        score = session.get(EpochScore, (1, ids[alice.address]))
        assert score is not None
        rate = score.cashback_bps
    owed_alice = 120_000 * BASE_BPS * SCALE + 6_300 * UNITS + 100_000 * rate * SCALE + 1_000 * UNITS
    proof = TreeFiles(settings.data_dir / "epochs" / "2").proof(alice.address)
    assert proof is not None and proof.cumulative == owed_alice
    Sender(w3, alice).send(distributor.functions.claim(*proof.claim_args()))
    assert token.functions.balanceOf(alice.address).call() == owed_alice

    # The audit re-derives the offer lines with the reference: a clean ledger verifies ...
    report = Verifier(settings, engine, ChainGateway(settings)).run()
    epochs = next(c for c in report["checks"] if c["check"] == "epoch_root")
    assert epochs["status"] == "ok", epochs["discrepancies"]
    # ... and a line edited after its epoch is named with its offer, customer and purchase.
    victim = purchases[2][0]
    with engine.begin() as con:
        con.execute(
            text("UPDATE epoch_offer_lines SET paid = :paid WHERE epoch = 1 AND purchase_id = :p"),
            {"paid": str(2_000 * UNITS), "p": victim},
        )
    report = Verifier(settings, engine, ChainGateway(settings)).run()
    epochs = next(c for c in report["checks"] if c["check"] == "epoch_root")
    named = [x for x in epochs["discrepancies"] if x["record"].get("purchase_id") == victim]
    assert len(named) == 1 and named[0]["epoch"] == 1
    assert named[0]["record"]["offer_id"] == cashback and named[0]["record"]["customer_id"] == ids[alice.address]
    assert f"paid {2_000 * UNITS}" in named[0]["evidence"] and f"paid {1_000 * UNITS}" in named[0]["evidence"]


def test_a_short_brands_offer_bonus_is_carried_with_its_cashback_and_paid_once_funded(
    settings, engine, w3, deployment_of, operator, dev_accounts
) -> None:
    d = deployment_of(settings)
    _, _, distributor = factories.contracts(w3, d)
    alice, brand_key = dev_accounts[0], dev_accounts[5]
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Short", 5 * UNITS)
    customer = factories.customer(engine, alice.address)
    bonus = factories.delivered_offer(
        engine, brand, "fixed_bonus", [customer], T0, bonus_units=100 * UNITS, budget_units=1_000 * UNITS
    )
    first_buy = factories.purchase(engine, customer, brand, T0 + timedelta(days=1), 1_000, "a1")  # 10 CASH back
    runner = EpochRunner(settings, engine, ChainGateway(settings))
    first = runner.run(T0 + timedelta(days=30)).epoch
    owed = 1_000 * BASE_BPS * SCALE + 100 * UNITS
    manifest = json.loads(first.manifest or "{}")
    assert [(s["owed"], s["carried"]) for s in manifest["shortfalls"]] == [(str(owed), str(owed))]
    with Session(engine) as session:
        assert session.exec(select(EpochReward).where(EpochReward.epoch == 1)).all() == []  # nothing paid now
    assert _lines(engine, 1) == [(bonus, customer, first_buy, 100 * UNITS, 100 * UNITS)]  # the cap's share is allotted
    factories.pass_challenge_window(w3, int(first.finalises_at.timestamp()))

    Sender(w3, operator).send(distributor.functions.fund(brand_key.address, 1_000 * UNITS, b"\x01" * 32))
    factories.purchase(engine, customer, brand, T0 + timedelta(days=40), 1_000, "a2")
    second = runner.run(T0 + timedelta(days=60)).epoch
    assert _lines(engine, 2) == []  # the bonus is paid once, never again
    with Session(engine) as session:
        reward = session.get(EpochReward, (2, alice.address.lower()))
        score = session.get(EpochScore, (1, customer))
        assert reward is not None and score is not None
        assert reward.cumulative == owed + 1_000 * score.cashback_bps * SCALE
    factories.pass_challenge_window(w3, int(second.finalises_at.timestamp()))
    report = Verifier(settings, engine, ChainGateway(settings)).run()
    epochs = next(c for c in report["checks"] if c["check"] == "epoch_root")
    assert epochs["status"] == "ok", epochs["discrepancies"]
