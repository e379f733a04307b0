"""The independent verifier on a real anvil and SQLite: a clean ledger holds, and each kind of tampering is caught."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from app import audit
from app.analytics import rewards
from app.analytics.store import analytics
from app.audit import Verifier
from app.chain.gateway import ChainGateway
from app.chain.indexer import catch_up
from app.chain.transactions import Sender
from app.models.mirror import MirrorAccess
from tests import factories
from tests.factories import INTERESTS, MARKETING, T0, UNITS, audit_check, run_audit_cli

pytestmark = pytest.mark.chain


@pytest.fixture()
def ledger(settings, engine, w3, deployment_of, operator, relayer, dev_accounts) -> factories.Ledger:
    return factories.build_ledger(settings, engine, w3, deployment_of(settings), operator, relayer, dev_accounts)


def verify(settings, engine) -> dict:
    return Verifier(settings, engine, ChainGateway(settings)).run()


# -- a clean ledger -------------------------------------------------------------------------------


def test_verify_clean_ledger_after_two_epochs_accesses_and_claims(settings, engine, ledger, tmp_path):
    report = verify(settings, engine)
    assert report["ok"], [c["discrepancies"] for c in report["checks"]]
    assert [c["status"] for c in report["checks"]] == ["ok"] * 7  # the six and `campaigns` (none run here)

    consent = audit_check(report, "consent")["figures"]
    assert consent["customer_accesses"] == 3 and consent["access_batches"] == 2
    assert consent["revocations"] == 1
    epochs = audit_check(report, "epoch_root")["figures"]["epochs"]
    assert [(e["epoch"], e["reproduced"], e["purchases"]) for e in epochs] == [(1, True, 2), (2, True, 2)]
    assert epochs[0]["access_earnings"] == str(7 * UNITS)
    money = audit_check(report, "money")["figures"]
    assert money["donations_to_distributor"] == 0 and money["deployment_seed"] == 0
    assert int(money["finalised_totals"]) == int(money["claimed"]) + int(money["claimable"])
    assert money["pending_total"] == 0 and int(money["funded"]) == 10**9 * UNITS
    assert int(money["claimable"]) > 0 and money["claimants"] == 2
    (brand_row,) = money["brands"]
    assert brand_row["withdrawn"] == str(5 * UNITS + 11) and brand_row["reserved"] == 0
    mirror = audit_check(report, "mirror")["figures"]
    assert {t["table"]: t["mirror"] == t["chain"] for t in mirror["tables"]} == dict.fromkeys(
        [t["table"] for t in mirror["tables"]], True
    )

    # The CLI agrees (exit 0), writes JSON and HTML, and exits 1 once a purchase is edited.
    out = tmp_path / "reports"
    clean = run_audit_cli(settings, out)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert len(list(out.glob("*.json"))) == 1 and len(list(out.glob("*.html"))) == 1
    with engine.begin() as con:
        con.execute(text("UPDATE purchases SET amount = amount + 1 WHERE id = :id"), {"id": ledger.first_purchase})
    tampered = run_audit_cli(settings, out)
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "epoch 1" in tampered.stdout and "purchases_hash" in tampered.stdout


# -- tampering ------------------------------------------------------------------------------------


def test_verify_names_the_epoch_when_a_purchase_is_edited_after_it(settings, engine, ledger):
    with engine.begin() as con:
        con.execute(text("UPDATE purchases SET amount = 600001 WHERE id = :id"), {"id": ledger.first_purchase})

    report = verify(settings, engine)
    assert not report["ok"]
    epochs = audit_check(report, "epoch_root")
    assert epochs["status"] == "failed"
    hashes = [d for d in epochs["discrepancies"] if d["record"].get("field") == "purchases_hash"]
    assert [d["epoch"] for d in hashes] == [1]
    assert f"purchase {ledger.first_purchase} (600001 won" in hashes[0]["evidence"]
    assert ledger.alice.address.lower() in hashes[0]["evidence"]
    assert {d["epoch"] for d in epochs["discrepancies"]} >= {1}
    # The other checks do not depend on the purchases.
    assert [audit_check(report, n)["status"] for n in ("consent", "money", "mirror")] == ["ok"] * 3


def test_verify_names_the_table_and_row_when_a_mirror_row_is_deleted(settings, engine, ledger):
    with Session(engine) as session:
        victim = session.exec(select(MirrorAccess).order_by(MirrorAccess.block_number.desc())).first()  # type: ignore[attr-defined]
        key = (victim.block_number, victim.log_index, victim.position)
        session.delete(victim)
        session.commit()

    report = verify(settings, engine)
    assert not report["ok"]
    mirror = audit_check(report, "mirror")
    (found,) = mirror["discrepancies"]
    assert found["record"] == {
        "table": "mirror_accesses",
        "key": {"block_number": key[0], "log_index": key[1], "position": key[2]},
    }
    assert found["found"] is None and found["expected"]["customer"] == victim.customer
    assert "missing from the mirror" in found["evidence"]
    assert [audit_check(report, n)["status"] for n in ("consent", "epoch_root", "money")] == ["ok"] * 3


def test_access_recorded_directly_without_consent_is_refused_and_verify_stays_green(
    settings, engine, ledger, w3, deployment_of
):
    d = deployment_of(settings)
    _, registry, _ = factories.contracts(w3, d)
    brand = Sender(w3, ledger.brand)
    # carol revoked; alice never consented. The brand's own key bypasses the API: both are skipped and
    # reported as not covered, nobody is charged.
    sent = brand.send(
        registry.functions.recordAccess(
            ledger.brand.address, MARKETING, INTERESTS, [ledger.carol.address, ledger.alice.address], [2**96 - 1] * 2,
            b"\x09" * 32,
        )
    )  # fmt: skip
    (recorded,) = registry.events.AccessRecorded().process_receipt(sent.receipt)
    assert recorded["args"]["customers"] == [] and recorded["args"]["total"] == 0
    (skipped,) = registry.events.AccessSkipped().process_receipt(sent.receipt)
    assert skipped["args"]["customers"] == [ledger.carol.address, ledger.alice.address]
    assert skipped["args"]["reasons"] == [0, 0]  # NotCovered
    catch_up(settings, engine=engine)

    report = verify(settings, engine)
    assert report["ok"], [c["discrepancies"] for c in report["checks"]]
    assert audit_check(report, "consent")["figures"]["customer_accesses"] == 3


# -- pieces ---------------------------------------------------------------------------------------


def test_purchases_hash_matches_the_epoch_jobs_duckdb_definition_across_chunks(
    settings, engine, w3, deployment_of, operator, dev_accounts
):
    d = deployment_of(settings)
    brand = factories.funded_brand(engine, w3, d, operator, dev_accounts[5], "Acme", 1)
    customer = factories.customer(engine, dev_accounts[0].address)
    for i, at in enumerate((T0, T0 + timedelta(microseconds=123_457), T0 + timedelta(days=400, hours=5))):
        factories.purchase(engine, customer, brand, at, 1_000 * (i + 1), f"p{i}")
    with engine.begin() as con:  # ids in a second and third chunk of 65,536
        con.execute(
            text(
                "INSERT INTO purchases (id, customer_id, brand_id, external_id, purchased_at, amount, currency, "
                "created_at) SELECT :id, customer_id, brand_id, :ext, purchased_at, 77, currency, created_at "
                "FROM purchases WHERE id = 1"
            ),
            [{"id": 65_536, "ext": "chunk2"}, {"id": 140_000, "ext": "chunk3"}],
        )
    records = audit.load_purchases(engine)
    assert [p.id for p in records] == [1, 2, 3, 65_536, 140_000]
    with analytics(settings) as con:
        con.execute("CREATE TEMP TABLE covered AS SELECT * FROM purchases_v")
        assert audit.purchases_hash(records) == rewards.purchases_hash(con)
    assert audit.purchases_hash([]) == audit.purchases_hash(())


def test_report_is_written_as_json_and_html_and_read_back(settings, engine, tmp_path):
    report = {
        "ok": False,
        "generated_at": "2026-01-01T00:00:00.000000Z",
        "chain": {"chain_id": 31337, "audited_block": 9},
        "discrepancies": 1,
        "checks": [
            {
                "check": "epoch_root",
                "title": "Epoch <roots>",
                "status": "failed",
                "summary": "s",
                "figures": {
                    "epochs": [
                        {
                            "epoch": 1,
                            "block": 5,
                            "as_of": "x",
                            "purchases": 1,
                            "accounts": 1,
                            "purchase_cashback": "10",
                            "access_earnings": 0,
                            "total": "10",
                            "reproduced": False,
                        }
                    ]
                },
                "discrepancies": [
                    {
                        "check": "epoch_root",
                        "epoch": 1,
                        "record": {},
                        "expected": "a",
                        "found": "b",
                        "evidence": "purchase <17>",
                    }
                ],
            }
        ],
    }
    path = audit.write_report(report, tmp_path)
    page = path.with_suffix(".html").read_text()
    assert "<svg" in page and "purchase &lt;17&gt;" in page and "Epoch &lt;roots&gt;" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")  # nothing fetched from elsewhere
    assert audit.latest_report(tmp_path) == (report, path)
    assert audit.latest_report(tmp_path / "none") is None


# -- the consent replay on its own (events as data: what a faulty or forged chain history would look like) --

A, B, C = "0x" + "aa" * 20, "0x" + "bb" * 20, "0x" + "cc" * 20
BRAND = "0x" + "0b" * 20


def _event(name: str, block: int, log_index: int = 0, **args) -> audit.ChainEvent:
    return audit.ChainEvent(
        "ConsentRegistry",
        name,
        args,
        block,
        log_index,
        "0x" + "00" * 32,
        "0x" + "11" * 32,
        datetime.fromtimestamp(0, UTC),
    )


def _grant(block: int, customer: str, *, categories: int, price: int, expires: int = 0, log_index: int = 0):
    return _event(
        "ConsentGranted",
        block,
        log_index,
        customer=customer,
        brand=BRAND,
        purpose=MARKETING,
        categories=categories,
        expiresAt=expires,
        price=price,
        receiptHash=b"",
        noticeHash=b"",
        nonce=0,
    )


def _access(block: int, customers: list[str], prices: list[int], *, categories: int = INTERESTS, log_index: int = 0):
    return _event(
        "AccessRecorded",
        block,
        log_index,
        brand=BRAND,
        purpose=MARKETING,
        requestId=b"\x01" * 32,
        categories=categories,
        customers=customers,
        prices=prices,
        total=sum(prices),
    )


@pytest.mark.parametrize(
    ("history", "evidence"),
    [
        ([_grant(2, A, categories=INTERESTS, price=5), _access(3, [A], [5])], None),
        # Granted earlier in the same block: covered (chain order is block, then log index).
        ([_grant(3, A, categories=INTERESTS, price=5, log_index=0), _access(3, [A], [5], log_index=1)], None),
        ([_access(3, [A], [5], log_index=0), _grant(3, A, categories=INTERESTS, price=5, log_index=1)], "no consent"),
        (
            [
                _grant(2, A, categories=INTERESTS, price=5),
                _event("ConsentRevoked", 3, customer=A, brand=BRAND, purpose=MARKETING, nonce=1),
                _access(4, [A], [5]),
            ],
            "no consent",
        ),
        (
            [
                _grant(2, A, categories=INTERESTS | 1, price=5),
                _event(
                    "ConsentNarrowed", 3, customer=A, brand=BRAND, purpose=MARKETING, categories=1, expiresAt=0, nonce=1
                ),
                _access(4, [A], [5]),
            ],
            "covers only 0x1",
        ),
        ([_grant(2, A, categories=INTERESTS, price=5, expires=1_400)], None),  # expires after block 2 (t=1,200)
        ([_grant(2, A, categories=INTERESTS, price=5, expires=1_400), _access(4, [A], [5])], "expired"),
        ([_grant(2, A, categories=INTERESTS, price=5), _access(3, [A], [4])], "price recorded differs"),
        (
            [
                _grant(2, A, categories=INTERESTS, price=5),
                _event("BrandDeregistered", 3, brand=BRAND),
                _access(4, [A], [5]),
            ],
            "was not registered",
        ),
        (
            [
                _grant(2, A, categories=INTERESTS, price=5),
                _grant(2, B, categories=1, price=5, log_index=1),
                _access(3, [A, B, C], [5, 5, 0]),
            ],
            "covers only 0x1",
        ),
    ],
)
def test_consent_replay_flags_each_uncovered_access(history, evidence) -> None:
    result = audit.CheckResult("consent", "t")
    events = [_event("BrandRegistered", 1, brand=BRAND), *history]
    audit.check_consents(result, events, lambda block: 1_000 + 100 * block)
    if evidence is None:
        assert result.status == "ok", [d.evidence for d in result.discrepancies]
    else:
        assert result.status == "failed"
        assert any(evidence in d.evidence for d in result.discrepancies), [d.evidence for d in result.discrepancies]
        assert all(d.record["event"] == "AccessRecorded" for d in result.discrepancies)
