"""One bad purchase cannot block settlement: sums are exact beyond 64 bits, an unsettleable epoch names the
brand, the operator voids the purchase with an audited reason, and the epoch settles; the audit agrees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from app.audit import Verifier
from app.chain.gateway import ChainGateway
from app.errors import Conflict
from app.models.accounts import Customer
from app.models.epochs import Epoch, EpochReward, EpochScore
from app.models.purchases import PurchaseVoid
from app.services import wallet
from app.services.epochs import EpochRunner
from app.services.voids import void_purchase
from tests import factories
from tests.factories import audit_check, cli_env

pytestmark = pytest.mark.chain

UNITS = 10**18
T0 = datetime(2026, 1, 1, tzinfo=UTC)
BIGINT_MAX = 2**63 - 1


def verify(settings, engine) -> dict:
    return Verifier(settings, engine, ChainGateway(settings)).run()


def test_huge_purchases_stop_the_epoch_clearly_until_voided_then_it_settles_and_audits(
    settings, engine, w3, deployment_of, operator, dev_accounts
) -> None:
    d = deployment_of(settings)
    alice, bob, brand_key = dev_accounts[0], dev_accounts[1], dev_accounts[5]
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Acme", 10**9 * UNITS)
    a, b = factories.customer(engine, alice.address), factories.customer(engine, bob.address)
    # Two purchases that overflow a BIGINT sum (as an API without a ceiling accepted them), and a normal one.
    huge = factories.purchase(engine, a, brand, T0 + timedelta(days=1), BIGINT_MAX, "max")
    big = factories.purchase(engine, a, brand, T0 + timedelta(days=2), 2**62, "big")
    factories.purchase(engine, b, brand, T0 + timedelta(days=3), 50_000, "fine")
    runner = EpochRunner(settings, engine, ChainGateway(settings))

    # Exact sums: no ConversionException; the debit no epoch can carry on chain is named, nothing published.
    with pytest.raises(Conflict, match=r"exceeds what one epoch can carry on chain .*ledger purchases void") as err:
        runner.run(T0 + timedelta(days=30))
    exact = (BIGINT_MAX + 2**62 + 50_000) * 100 * UNITS // 10_000  # won * 100 bps, in CASH units
    assert f"{brand_key.address.lower()} owes {exact} units" in err.value.message
    with Session(engine) as session:
        (opened,) = session.exec(select(Epoch)).all()
        assert opened.status == "open" and opened.root is None

    # The operator voids one by the CLI and one by the API, each with a reason; the open epoch then settles.
    cli = subprocess.run(
        [sys.executable, "-m", "app.cli", "purchases", "void", str(huge), "--reason", "till error: 2^63-1 won"],
        env=cli_env(settings) | {"PYTHONPATH": os.getcwd()},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert f"purchase {huge} voided" in cli.stdout and "cli:" in cli.stdout
    with Session(engine) as session:
        void_purchase(session, big, reason="duplicate of an order at 1/1000 the price", voided_by="test")
        with pytest.raises(Conflict, match="voided already"):
            void_purchase(session, big, reason="again", voided_by="test")
    epoch = runner.run(None).epoch
    assert epoch.status == "done"
    fine = 50_000 * 100 * UNITS // 10_000
    assert epoch.total == fine
    manifest = json.loads(epoch.manifest or "{}")
    assert manifest["max_void_id"] == 2 and manifest["voids_hash"].startswith("0x")
    with Session(engine) as session:
        rewards = {r.account: r.earned for r in session.exec(select(EpochReward).where(EpochReward.epoch == 1))}
        assert rewards == {bob.address.lower(): fine}  # alice's voided purchases earn nothing
        assert {s.customer_id for s in session.exec(select(EpochScore))} == {b}  # nor are they scored
        voids = session.exec(select(PurchaseVoid).order_by(PurchaseVoid.id)).all()  # type: ignore[arg-type]
        assert [(v.purchase_id, v.voided_by.split(":")[0]) for v in voids] == [(huge, "cli"), (big, "test")]
        # The customer's own breakdown leaves the voided purchases out as the epoch did.
        alice_row = session.get(Customer, a)
        assert alice_row is not None and wallet.reward_lines(session, alice_row, 1) == []
        bob_row = session.get(Customer, b)
        assert bob_row is not None
        assert [line.reward for line in wallet.reward_lines(session, bob_row, 1)] == [fine]
    report = verify(settings, engine)
    assert report["ok"], [c for c in report["checks"] if c["status"] != "ok"]

    # The audit re-derives the voids: a void removed (or its reason edited) after the fact is caught.
    with engine.begin() as conn:
        conn.execute(text("UPDATE purchase_voids SET reason = 'something else' WHERE purchase_id = :p"), {"p": big})
    tampered = audit_check(verify(settings, engine), "epoch_root")
    assert tampered["status"] == "failed"
    assert any(x["record"].get("field") == "voids_hash" for x in tampered["discrepancies"])
