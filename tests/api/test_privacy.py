"""Personal data off chain: customers keep it up to date and can erase it; earned rewards stay payable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from app import db
from app.chain.gateway import ChainGateway
from app.models.accounts import Customer
from app.models.purchases import InterestEvent, Purchase, PurchaseItem
from app.services.epochs import EpochRunner
from tests import factories
from tests.conftest import sign_in

pytestmark = pytest.mark.chain


def test_update_and_erase_personal_data_keeps_rewards_payable(
    client, settings, w3, deployment_of, operator, dev_accounts
) -> None:
    engine = db.make_engine(settings.sqlalchemy_url)
    d = deployment_of(settings)
    alice, brand_key = dev_accounts[0], dev_accounts[5]
    headers = sign_in(client, alice)
    brand = factories.funded_brand(engine, w3, d, operator, brand_key, "Acme", 10**30)
    cid = factories.customer(engine, alice.address)
    now = datetime.now(UTC)
    pid = factories.purchase(engine, cid, brand, now - timedelta(days=3), 80_000, "o-1")
    with Session(engine) as session:
        session.add(
            PurchaseItem(purchase_id=pid, item_id="sku-1", category="shoes", style="minimal", unit_price=80_000)
        )
        session.commit()
    factories.interest_event(engine, cid, brand, now - timedelta(days=1), "view", "bags", "vintage", "e-1")

    changed = client.patch("/me/personal", json={"name": "Kim Alice", "email": "alice@example.com"}, headers=headers)
    assert changed.status_code == 200 and changed.json()["email"] == "alice@example.com"
    assert client.get("/me/personal", headers=headers).json()["name"] == "Kim Alice"
    for bad in ({"email": "not-an-email"}, {"birth_year": "old"}, {"shoe_size": 42}):
        response = client.patch("/me/personal", json=bad, headers=headers)
        assert response.status_code == 422 and response.json()["message"]
    assert client.get("/me/personal", headers=headers).json()["email"] == "alice@example.com"

    epoch = EpochRunner(settings, engine, ChainGateway(settings)).run(now - timedelta(minutes=1)).epoch
    factories.pass_challenge_window(w3, int(epoch.finalises_at.timestamp()))  # the root pays from then on
    owed = client.get("/me/claim", headers=headers).json()["claimable"]

    erased = client.delete("/me/data", headers=headers)
    assert erased.status_code == 200
    assert erased.json()["purchase_items_erased"] == 1 and erased.json()["interest_events_erased"] == 1
    assert sorted(erased.json()["fields_cleared"]) == ["email", "name"]
    # The session ended with the erasure; the customer signs in again and can still claim.
    assert client.get("/me/personal", headers=headers).status_code == 401
    headers = sign_in(client, alice)
    with Session(engine) as session:
        customer = session.exec(select(Customer).where(Customer.address == alice.address)).one()
        assert customer.name is None and customer.email is None and customer.erased_at is not None
        assert session.exec(select(func.count()).select_from(PurchaseItem)).one() == 0
        assert session.exec(select(func.count()).select_from(InterestEvent)).one() == 0
        assert session.exec(select(func.count()).select_from(Purchase)).one() == 1  # amount kept for rewards
    assert client.get("/me/claim", headers=headers).json()["claimable"] == owed != "0"
    assert client.post("/me/claim", headers=headers).status_code == 200
    engine.dispose()


def test_erasure_is_for_the_customer_only(client, brand_and_headers, auditor_headers) -> None:
    assert client.delete("/me/data").status_code == 401
    assert client.delete("/me/data", headers=brand_and_headers[1]).status_code == 403
    assert client.delete("/me/data", headers=auditor_headers).status_code == 403
