"""Audit routes against the real anvil and SQLite: who may run the verifier, the JSON report and its HTML page."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app import db
from app.models.mirror import MirrorConsentEvent
from tests.conftest import make_brand
from tests.factories import build_ledger

pytestmark = pytest.mark.chain

ROUTES = [("post", "/audit/verify"), ("get", "/audit/reports/latest"), ("get", "/audit/reports/latest.html")]


@pytest.fixture()
def engine(settings, client):
    engine = db.make_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_audit_routes_are_for_auditors_and_the_operator(
    client, method, path, customer_headers, admin_headers, dev_accounts
) -> None:
    _, brand_headers = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    assert getattr(client, method)(path).status_code == 401
    for headers in (customer_headers, brand_headers):
        refused = getattr(client, method)(path, headers=headers)
        assert refused.status_code == 403, refused.text


def test_latest_report_before_any_run_is_no_content(client, auditor_headers) -> None:
    # The JSON route exists before the first audit: nothing to report yet is 204, not a missing page.
    none_yet = client.get("/audit/reports/latest", headers=auditor_headers)
    assert none_yet.status_code == 204 and none_yet.content == b""
    page = client.get("/audit/reports/latest.html", headers=auditor_headers)
    assert page.status_code == 404 and "audit verify" in page.json()["message"]


def test_verify_returns_and_serves_the_report(
    client, settings, engine, auditor_headers, admin_headers, w3, deployment_of, operator, relayer, dev_accounts
) -> None:
    build_ledger(settings, engine, w3, deployment_of(settings), operator, relayer, dev_accounts)

    ran = client.post("/audit/verify", headers=auditor_headers)
    assert ran.status_code == 200, ran.text
    report = ran.json()
    assert report["ok"] is True and report["discrepancies"] == 0
    assert [c["check"] for c in report["checks"]] == [
        "consent",
        "epoch_root",
        "proofs",
        "money",
        "mirror",
        "confirmations",
        "campaigns",
    ]
    assert report["chain"]["audited_block"] == w3.eth.block_number
    assert client.get("/audit/reports/latest", headers=auditor_headers).json() == report
    page = client.get("/audit/reports/latest.html", headers=admin_headers)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "ALL CHECKS HOLD" in page.text and "<svg" in page.text and "epoch 2" in page.text
    assert list((settings.data_dir / "audit").glob("*.json"))

    # A mirror row removed behind the indexer's back: the next run names it, the page shows it.
    with Session(engine) as session:
        victim = session.exec(select(MirrorConsentEvent).where(MirrorConsentEvent.kind == "revoked")).one()
        session.delete(victim)
        session.commit()
    again = client.post("/audit/verify", headers=admin_headers).json()
    assert again["ok"] is False
    (mirror,) = [c for c in again["checks"] if c["check"] == "mirror"]
    tables = {d["record"]["table"] for d in mirror["discrepancies"]}
    assert "mirror_consent_events" in tables
    assert client.get("/audit/reports/latest", headers=auditor_headers).json() == again
    page = client.get("/audit/reports/latest.html", headers=auditor_headers).text
    assert "DISCREPANCIES FOUND" in page and "mirror_consent_events" in page
