"""The audit shares no scoring or tree code with the epoch job: a bug planted in either is named by `audit verify`."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grimp
import pytest
from typer.testing import CliRunner

import app.cli
from app.analytics import rfm
from app.audit import latest_report, rederive
from app.chain.gateway import ChainGateway
from app.services import epochs
from app.services.epochs import EpochRunner
from tests import factories

UNITS = 10**18
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PLANTED_BPS = 37  # added to every graded rate by the planted bug


@dataclass
class TwoEpochs:
    alice: str  # checksummed addresses
    bob: str
    customer_ids: dict[str, int]


def run_two_epochs(settings, engine, w3, d, operator, dev_accounts) -> TwoEpochs:
    """Epoch 1 grades tiers; epoch 2 pays purchases at them (the figure a scoring bug moves)."""
    alice, bob, brand_key = dev_accounts[0], dev_accounts[1], dev_accounts[5]
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Acme", 10**9 * UNITS)
    ids = {a.address: factories.customer(engine, a.address) for a in (alice, bob)}
    factories.purchase(engine, ids[alice.address], brand, T0 + timedelta(days=1), 900_000, "a1")
    factories.purchase(engine, ids[bob.address], brand, T0 + timedelta(days=2), 40_000, "b1")
    runner = EpochRunner(settings, engine, ChainGateway(settings))
    first = runner.run(T0 + timedelta(days=30)).epoch
    assert first.status == "done"
    factories.pass_challenge_window(w3, int(first.finalises_at.timestamp()))
    factories.purchase(engine, ids[alice.address], brand, T0 + timedelta(days=40), 300_000, "a2")
    factories.purchase(engine, ids[bob.address], brand, T0 + timedelta(days=45), 70_000, "b2")
    second = runner.run(T0 + timedelta(days=60)).epoch
    assert second.status == "done"
    return TwoEpochs(alice.address, bob.address, ids)


def audit_verify(settings, out: Path, monkeypatch) -> tuple[int, str, dict]:
    """`ledger audit verify` in this process (so a planted bug is in it); exit code, output, report."""
    monkeypatch.setattr(app.cli, "get_settings", lambda: settings)
    done = CliRunner().invoke(app.cli.cli, ["audit", "verify", "--out", str(out)])
    found = latest_report(out)
    assert found is not None, done.output
    return done.exit_code, done.output, found[0]


def epoch_check(report: dict) -> dict:
    (found,) = [c for c in report["checks"] if c["check"] == "epoch_root"]
    return found


def named(check: dict, figure: str, account: str) -> dict:
    (found,) = [
        d
        for d in check["discrepancies"]
        if d["record"].get("field") == figure and d["record"].get("account") == account
    ]
    return found


def plus_planted_bps(sql: str) -> str:
    return f"SELECT * REPLACE (cashback_bps + {PLANTED_BPS} AS cashback_bps) FROM ({sql})"


@pytest.mark.chain
def test_a_bug_in_the_epoch_jobs_tier_sql_is_named_by_the_audit(
    settings, engine, w3, deployment_of, operator, dev_accounts, tmp_path, monkeypatch
) -> None:
    real = rfm.rfm_sql
    with monkeypatch.context() as planted:  # the DuckDB scoring grades every tier 37 bps too high ...
        for module in list(sys.modules.values()):  # ... wherever it is used, as a bug in rfm.py would
            if getattr(module, "rfm_sql", None) is real:
                planted.setattr(module, "rfm_sql", lambda *a, **k: plus_planted_bps(real(*a, **k)))
        assert epochs.rfm_sql is not real
        ledger = run_two_epochs(settings, engine, w3, deployment_of(settings), operator, dev_accounts)

        code, output, report = audit_verify(settings, tmp_path / "audit", monkeypatch)
    assert code == 1, output
    check = epoch_check(report)
    assert [(e["epoch"], e["reproduced"]) for e in check["figures"]["epochs"]] == [(1, True), (2, False)]
    for account in (ledger.alice, ledger.bob):
        wrong = named(check, "purchase_cashback", account)
        job, audit = int(wrong["expected"]), int(wrong["found"])
        assert wrong["epoch"] == 2 and job > audit > 0  # both values, the epoch job's paying more
        assert f"account {account}: purchase_cashback {job} by the epoch job, {audit} re-derived" in wrong["evidence"]
        assert account in output
        rate = named(check, "cashback_bps", account)
        assert rate["expected"] == rate["found"] + PLANTED_BPS
        assert rate["record"]["customer_id"] == ledger.customer_ids[account]
    assert any(d["record"].get("field") == "root" for d in check["discrepancies"])
    # The planted bug moves tiers only: nothing else in the ledger is out of line.
    assert [c["status"] for c in report["checks"] if c["check"] != "epoch_root"] == ["ok"] * 6


@pytest.mark.chain
def test_a_bug_in_the_audits_rederivation_is_named_too(
    settings, engine, w3, deployment_of, operator, dev_accounts, tmp_path, monkeypatch
) -> None:
    ledger = run_two_epochs(settings, engine, w3, deployment_of(settings), operator, dev_accounts)
    code, output, report = audit_verify(settings, tmp_path / "clean", monkeypatch)
    assert code == 0 and report["ok"], output

    real = rederive.score_rfm_reference

    def planted(*args, **kwargs):  # the audit's pandas scoring grades every tier 37 bps too high
        scores, cut_points = real(*args, **kwargs)
        return scores.assign(cashback_bps=scores["cashback_bps"] + PLANTED_BPS), cut_points

    monkeypatch.setattr(rederive, "score_rfm_reference", planted)
    code, output, report = audit_verify(settings, tmp_path / "planted", monkeypatch)
    assert code == 1, output
    check = epoch_check(report)
    wrong = named(check, "purchase_cashback", ledger.alice)
    assert int(wrong["found"]) > int(wrong["expected"]) > 0  # the audit's figure is now the higher one
    rate = named(check, "cashback_bps", ledger.bob)
    assert rate["found"] == rate["expected"] + PLANTED_BPS and rate["epoch"] == 2


# -- structure: what app.audit may import ---------------------------------------------------------

# That app.audit reaches none of the epoch job's scoring, reward SQL or tree building is a contract in
# .importlinter (`audit-independent`), run by the test command; these pin what import-linter cannot say.
LOADER = {"ProgrammeRules", "Scheme", "default_rules", "rules_hash"}  # rules as data, from programme.toml
# The offer bonuses' plain-Python re-derivation, written apart from the job's SQL (app.analytics.offers) for
# the audit (checks/offers.py): the audit may read it, so long as it shares nothing with the job's code.
OFFERS_REFERENCE = "app.analytics.offers_reference"


def test_the_offers_reference_shares_no_code_with_the_epoch_jobs_offers(graph) -> None:
    imported = graph.find_modules_directly_imported_by(OFFERS_REFERENCE)
    assert {m for m in imported if m.startswith("app.")} == set()
    assert not graph.find_shortest_chain(importer=OFFERS_REFERENCE, imported="app.analytics.offers")


@pytest.fixture()
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("app", cache_dir=None)


def test_the_audit_reads_only_the_rules_loader_from_the_analytics(graph) -> None:
    audit_modules = graph.find_descendants("app.audit") | {"app.audit"}
    for module in sorted(audit_modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if not imported.startswith("app.analytics"):
                continue
            if imported == OFFERS_REFERENCE:
                continue
            assert imported == "app.analytics.rules", f"{module} imports {imported}"
            for detail in graph.get_import_details(importer=module, imported=imported):
                names = detail["line_contents"].split(" import ", 1)[1].split(",")
                assert {n.strip() for n in names} <= LOADER, detail


def test_only_the_audits_chain_module_reads_the_chain() -> None:
    graph = grimp.build_graph("app", include_external_packages=True, cache_dir=None)
    for module in sorted(graph.find_descendants("app.audit")):
        chain_imports = {
            m for m in graph.find_modules_directly_imported_by(module) if m == "web3" or m.startswith("app.chain.")
        }
        allowed = {"app.chain.proofs"} if module == "app.audit.records" else set()  # the proof files' reader
        if module == "app.audit.chain":
            continue
        assert chain_imports <= allowed, f"{module} reads the chain past app/audit/chain.py: {chain_imports}"
