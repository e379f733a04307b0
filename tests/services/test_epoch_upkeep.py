"""Paid profile upkeep through the epochs on a real anvil and SQLite: the abuse rules decide each event, the
programme's funder is debited (and carried when short), the customer claims it, and the audit re-derives the
lines and names a tampered one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from app import clock
from app.analytics.rules import default_rules
from app.audit import Verifier
from app.chain.addresses import checksum
from app.chain.gateway import ChainGateway
from app.chain.proofs import TreeFiles
from app.chain.transactions import Sender
from app.errors import Conflict
from app.models.accounts import Customer
from app.models.epochs import EpochDebit, EpochReward
from app.models.upkeep import EpochUpkeepLine
from app.services import privacy, upkeep
from app.services.epochs import EpochRunner
from app.services.wallet import finalize_due, reward_lines
from tests import factories

pytestmark = pytest.mark.chain

UNITS = 10**18
REWARD = default_rules().upkeep.reward_units
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _enrol(engine, address: str, *, at: datetime, **fields: object) -> int:
    with Session(engine) as session:
        row = Customer(address=address, created_at=at, **fields)
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def _at(monkeypatch, moment: datetime, action):  # type: ignore[no-untyped-def]
    """Runs `action(session, customer)` with the app's clock at `moment`."""
    with monkeypatch.context() as m:
        m.setattr(clock, "utcnow", lambda: moment)
        return action()


def _lines(engine, epoch: int) -> list[tuple[str, str, str, int]]:
    with Session(engine) as session:
        rows = session.exec(select(EpochUpkeepLine).where(EpochUpkeepLine.epoch == epoch)).all()
        return sorted((r.field, r.kind, r.reason, r.paid) for r in rows)


def _epoch_check(settings, engine) -> dict:  # type: ignore[type-arg]
    report = Verifier(settings, engine, ChainGateway(settings)).run()
    return next(c for c in report["checks"] if c["check"] == "epoch_root")


def test_upkeep_is_paid_once_per_field_and_period_claimed_and_audited(
    settings, engine, w3, deployment_of, operator, dev_accounts, monkeypatch
) -> None:
    d = deployment_of(settings)
    token, _, distributor = factories.contracts(w3, d)
    alice = dev_accounts[0]
    cid = _enrol(engine, alice.address, at=T0 - timedelta(days=200), birth_year=1990)
    gateway = ChainGateway(settings)
    funding = upkeep.fund(settings, gateway, 100 * UNITS, "upkeep budget 2026")
    assert funding.registered and funding.available == 100 * UNITS

    def update(moment: datetime, **changes: object) -> None:
        def act() -> None:
            with Session(engine) as session:
                me = session.get(Customer, cid)
                assert me is not None
                privacy.update_personal(session, me, changes)

        _at(monkeypatch, moment, act)

    def confirm(moment: datetime, *fields: str) -> None:
        def act() -> None:
            with Session(engine) as session:
                me = session.get(Customer, cid)
                assert me is not None
                upkeep.confirm(session, me, list(fields))

        _at(monkeypatch, moment, act)

    update(T0 + timedelta(days=1), email="a@example.com", region="Seoul")  # two new values: both paid
    update(T0 + timedelta(days=2), email="b@example.com", region="Seoul")  # region unchanged: no event
    update(T0 + timedelta(days=3), email="a@example.com")  # back to the paid value: nothing
    with pytest.raises(Conflict, match="no reminder is due for region"):
        confirm(T0 + timedelta(days=4), "birth_year", "region")  # all or nothing: birth_year is not written either
    with pytest.raises(Conflict, match="no value given: phone"):
        confirm(T0 + timedelta(days=4), "phone")
    confirm(T0 + timedelta(days=5), "birth_year")  # untouched since enrolment 205 days ago: the reminder is due

    runner = EpochRunner(settings, engine, gateway)
    first = runner.run(T0 + timedelta(days=30)).epoch
    assert _lines(engine, 1) == [
        ("birth_year", "confirmed", "paid", REWARD),
        ("email", "updated", "paid", REWARD),
        ("email", "updated", "value_paid_before", 0),
        ("email", "updated", "within_period", 0),
        ("region", "updated", "paid", REWARD),
    ]
    manifest = json.loads(first.manifest or "{}")
    assert manifest["upkeep"]["funder"] == settings.upkeep_funder.lower()
    assert (manifest["upkeep"]["lines"], manifest["upkeep"]["paid"]) == (5, str(3 * REWARD))
    with Session(engine) as session:
        (debit,) = session.exec(select(EpochDebit).where(EpochDebit.epoch == 1)).all()
        assert (debit.brand, debit.purchase_cashback) == (settings.upkeep_funder.lower(), 3 * REWARD)
        reward = session.get(EpochReward, (1, alice.address.lower()))
        assert reward is not None and reward.earned == 3 * REWARD
    factories.pass_challenge_window(w3, int(first.finalises_at.timestamp()))

    # Epoch 2: a value never paid for, 99 days after the last paid one, pays; returning to a paid one never does.
    update(T0 + timedelta(days=100), email="b@example.com")
    update(T0 + timedelta(days=110), email="a@example.com")
    second = runner.run(T0 + timedelta(days=120)).epoch
    assert _lines(engine, 2) == [
        ("email", "updated", "paid", REWARD),
        ("email", "updated", "value_paid_before", 0),
    ]
    factories.pass_challenge_window(w3, int(second.finalises_at.timestamp()))
    assert finalize_due(gateway)
    assert distributor.functions.availableOf(checksum(settings.upkeep_funder)).call() == 100 * UNITS - 4 * REWARD

    with Session(engine) as session:
        me = session.get(Customer, cid)
        assert me is not None
        shown = [(line.source, line.reference, line.reward) for line in reward_lines(session, me, 2)]
    assert shown == [("upkeep", "email updated", REWARD)]
    proof = TreeFiles(settings.data_dir / "epochs" / "2").proof(alice.address)
    assert proof is not None and proof.cumulative == 4 * REWARD
    Sender(w3, alice).send(distributor.functions.claim(*proof.claim_args()))
    assert token.functions.balanceOf(alice.address).call() == 4 * REWARD

    check = _epoch_check(settings, engine)
    assert check["status"] == "ok", check["discrepancies"]
    # A line turned from refused to paid after its epoch is named with its event, customer and field.
    with engine.begin() as con:
        victim = con.execute(
            text("SELECT event_id FROM epoch_upkeep_lines WHERE epoch = 1 AND reason = 'within_period'")
        ).scalar_one()
        con.execute(
            text("UPDATE epoch_upkeep_lines SET reason = 'paid', paid = :paid WHERE epoch = 1 AND event_id = :e"),
            {"paid": str(REWARD), "e": victim},
        )
    check = _epoch_check(settings, engine)
    named = [x for x in check["discrepancies"] if x["record"].get("upkeep_event_id") == victim]
    assert len(named) == 1 and named[0]["epoch"] == 1
    assert named[0]["record"]["customer_id"] == cid and named[0]["record"]["field"] == "email"
    assert f"paid, paid {REWARD}" in named[0]["evidence"] and "within_period, paid 0" in named[0]["evidence"]


def test_an_unfunded_upkeep_budget_carries_the_upkeep_and_pays_it_once_funded(
    settings, engine, w3, deployment_of, operator, dev_accounts, monkeypatch
) -> None:
    d = deployment_of(settings)
    _, _, distributor = factories.contracts(w3, d)
    alice = dev_accounts[0]
    cid = _enrol(engine, alice.address, at=T0)

    def act() -> None:
        with Session(engine) as session:
            me = session.get(Customer, cid)
            assert me is not None
            privacy.update_personal(session, me, {"name": "Alice"})

    _at(monkeypatch, T0 + timedelta(days=1), act)
    gateway = ChainGateway(settings)
    runner = EpochRunner(settings, engine, gateway)
    first = runner.run(T0 + timedelta(days=30)).epoch
    manifest = json.loads(first.manifest or "{}")
    funder = settings.upkeep_funder.lower()
    assert manifest["shortfalls"] == [{"brand": funder, "owed": str(REWARD), "available": "0", "carried": str(REWARD)}]
    with Session(engine) as session:
        assert session.exec(select(EpochReward).where(EpochReward.epoch == 1)).all() == []
    factories.pass_challenge_window(w3, int(first.finalises_at.timestamp()))

    upkeep.fund(settings, gateway, 10 * UNITS, "late upkeep budget")
    second = runner.run(T0 + timedelta(days=60)).epoch
    assert _lines(engine, 2) == []  # nothing new: the carried line is paid, not decided again
    with Session(engine) as session:
        reward = session.get(EpochReward, (2, alice.address.lower()))
        assert reward is not None and reward.cumulative == REWARD
    factories.pass_challenge_window(w3, int(second.finalises_at.timestamp()))
    assert distributor.functions.availableOf(checksum(settings.upkeep_funder)).call() == 10 * UNITS - REWARD
    check = _epoch_check(settings, engine)
    assert check["status"] == "ok", check["discrepancies"]
