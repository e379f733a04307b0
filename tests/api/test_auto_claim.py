"""Issue 13 item 4: the customer's opt-in to automatic claims (off by default) and the scheduled run paying it."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from app.models.auto_claims import AutoClaim
from app.services.maintenance import run_once
from tests import factories
from tests.api.json_rules import assert_json_rules
from tests.conftest import sign_in

pytestmark = pytest.mark.chain


def test_opt_in_is_off_until_chosen_and_bad_input_changes_nothing(client, customer_headers) -> None:
    engine = client.app.state.engine
    off = client.get("/me/auto-claim", headers=customer_headers)
    assert off.status_code == 200 and off.json() == {"enabled": False, "since": None, "claims": []}

    for bad in ({"enabled": "yes"}, {"enabled": 1}, {}, {"enabled": True, "also": 1}, {"enabled": None}):
        refused = client.put("/me/auto-claim", headers=customer_headers, json=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert "enabled" in refused.text or "also" in refused.text
    with Session(engine) as session:
        assert session.exec(select(AutoClaim)).all() == []

    on = client.put("/me/auto-claim", headers=customer_headers, json={"enabled": True})
    assert on.status_code == 200 and on.json()["enabled"] is True and on.json()["since"].endswith("Z")
    again = client.put("/me/auto-claim", headers=customer_headers, json={"enabled": True})
    assert again.json()["since"] == on.json()["since"]  # opting in twice keeps the first date
    off = client.put("/me/auto-claim", headers=customer_headers, json={"enabled": False})
    assert off.json() == {"enabled": False, "since": None, "claims": []}
    assert client.put("/me/auto-claim", json={"enabled": True}).status_code == 401


def test_the_scheduled_run_claims_for_who_opted_in_and_shows_it(
    client, settings, w3, deployment_of, operator, dev_accounts
) -> None:
    engine = client.app.state.engine
    d = deployment_of(settings)
    token, _, _ = factories.contracts(w3, d)
    customers = factories.settle_epoch(settings, engine, w3, d, operator, dev_accounts)
    alice, bob = customers[0], customers[1]
    headers = sign_in(client, alice)
    assert client.put("/me/auto-claim", headers=headers, json={"enabled": True}).status_code == 200

    report = run_once(engine, settings, client.app.state.gateway)  # a round of `ledger up`'s maintenance
    assert report.claims is not None and report.claims_error is None
    (batch,) = report.claims.sent
    owed = factories.epoch_files(settings).proof(alice.address).cumulative
    assert batch.accounts == 1 and batch.paid == owed == token.functions.balanceOf(alice.address).call()
    assert token.functions.balanceOf(bob.address).call() == 0  # bob never opted in

    shown = client.get("/me/auto-claim", headers=headers)
    assert shown.status_code == 200
    (claim,) = shown.json()["claims"]
    assert claim == {"epoch": 1, "amount": str(owed), "tx_hash": batch.tx_hash, "block_number": claim["block_number"]}
    assert_json_rules(shown.json())
    # Bob's own view shows nothing paid for him.
    assert client.get("/me/auto-claim", headers=sign_in(client, bob)).json()["claims"] == []
