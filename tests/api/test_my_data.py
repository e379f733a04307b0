"""My data as brands see it (`GET /me/data`): the brands' profile by category, who may see each now, who saw it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.domain import Category, Purpose
from tests import factories
from tests.conftest import make_brand, sign_in

pytestmark = pytest.mark.chain

MARKETING = int(Purpose.MARKETING)


def test_my_data_shows_the_brands_profile_and_who_sees_each_category(
    client, settings, w3, deployment_of, operator, relayer, recorder, dev_accounts
) -> None:
    engine = client.app.state.engine
    d = deployment_of(settings)
    alice, acme_key, beta_key = dev_accounts[0], dev_accounts[5], dev_accounts[6]
    headers = sign_in(client, alice)
    changed = client.patch("/me/personal", json={"name": "Kim Alice", "region": "Busan"}, headers=headers)
    assert changed.status_code == 200
    cid = factories.customer(engine, alice.address)
    acme = factories.funded_brand(engine, w3, d, operator, acme_key, "Acme", 10**30)
    now = datetime.now(UTC)
    factories.purchase(engine, cid, acme, now - timedelta(days=2), 12_000, "o-1")
    factories.purchase(engine, cid, acme, now - timedelta(days=1), 30_000, "o-2")
    factories.interest_event(engine, cid, acme, now - timedelta(hours=3), "cart_add", "bags", "vintage", "e-1")
    contact_and_purchases = int(Category.CONTACT | Category.PURCHASES)
    factories.grant_by_signature(w3, d, relayer, alice, acme_key.address, MARKETING, contact_and_purchases, 5)
    sent = factories.record_access(w3, d, recorder, acme_key.address, MARKETING, int(Category.CONTACT), [alice.address])
    # Beta's consent to demographics has expired by the chain's clock: Beta may not see it now.
    chain_time = int(w3.eth.get_block("latest")["timestamp"])
    factories.mirror_consent(
        engine, alice.address, beta_key.address, MARKETING, int(Category.DEMOGRAPHICS), expires_at=chain_time - 1
    )

    response = client.get("/me/data", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["address"] == alice.address
    profile = body["profile"]
    assert "price" not in profile  # each brand pays its own price
    assert profile["contact"] == {"name": "Kim Alice", "email": None, "phone": None}
    assert profile["demographics"] == {"birth_year": None, "gender": None, "region": "Busan"}
    assert profile["purchases"]["count"] == 2 and profile["purchases"]["total_won"] == "42000"
    assert profile["cart"] == {"adds": 1, "abandons": 0}
    assert set(profile) == {"address", *(c.name.lower() for c in Category)}  # every category a brand can ask
    by_name = {c["category"]: c for c in body["categories"]}
    assert list(by_name) == [c.name.lower() for c in Category]
    assert [v["brand_name"] for v in by_name["contact"]["may_see"]] == ["Acme"]
    assert [v["brand_name"] for v in by_name["purchases"]["may_see"]] == ["Acme"]
    assert by_name["purchases"]["may_see"][0]["price"] == "5"
    assert by_name["demographics"]["may_see"] == []  # expired at the chain's time
    assert by_name["segment"]["may_see"] == []
    saw = by_name["contact"]["saw"]
    assert len(saw) == 1 and saw[0]["tx_hash"] == sent.tx_hash and saw[0]["brand_name"] == "Acme"
    assert saw[0]["at"].endswith("Z") and saw[0]["purpose"] == "marketing"
    assert by_name["purchases"]["saw"] == []  # the access asked contact only
    assert "consent receipts" in body["kept_on_erasure"]
    assert body["chain_time"].endswith("Z")


def test_refused_personal_fields_change_nothing_and_erasure_empties_the_view(client, dev_accounts) -> None:
    alice = dev_accounts[0]
    headers = sign_in(client, alice)
    assert client.patch(
        "/me/personal", json={"name": "Kim Alice", "email": "a@example.com"}, headers=headers
    ).is_success
    for bad in ({"email": "nope"}, {"birth_year": 1800}, {"phone": "call me"}, {"shoe_size": 42}, {"name": 7}):
        refused = client.patch("/me/personal", json=bad, headers=headers)
        assert refused.status_code == 422, (bad, refused.text)
        assert next(iter(bad)) in refused.text  # the message names the field
    contact = client.get("/me/data", headers=headers).json()["profile"]["contact"]
    assert contact == {"name": "Kim Alice", "email": "a@example.com", "phone": None}
    erased = client.delete("/me/data", headers=headers)
    assert erased.status_code == 200 and sorted(erased.json()["fields_cleared"]) == ["email", "name"]
    headers = sign_in(client, alice)  # the erasure ended the session
    after = client.get("/me/data", headers=headers).json()
    assert after["erased_at"].endswith("Z") and after["profile"]["contact"] == {
        "name": None,
        "email": None,
        "phone": None,
    }
    assert after["kept_on_erasure"] == erased.json()["kept"]  # told the same before and after


def test_my_data_is_the_same_profile_a_brand_receives(
    client, settings, w3, deployment_of, operator, relayer, admin_headers, dev_accounts
) -> None:
    """No code written twice: the wallet's profile is the document `POST /profiles` hands the brand."""
    alice, brand_key = dev_accounts[0], dev_accounts[5]
    headers = sign_in(client, alice)
    client.patch("/me/personal", json={"email": "alice@example.com", "birth_year": 1990}, headers=headers)
    _, brand_headers = make_brand(client, admin_headers, brand_key, name="Acme")
    d = deployment_of(settings)
    factories.funded_brand(client.app.state.engine, w3, d, operator, brand_key, "Acme", 10**24)
    every = int(sum(Category))
    factories.grant_by_signature(w3, d, relayer, alice, brand_key.address, MARKETING, every, 0)
    categories = [c.name.lower() for c in Category]
    given = factories.profiles(client, brand_headers, categories)
    assert given.status_code == 200, given.text
    (theirs,) = given.json()["profiles"]
    mine = client.get("/me/data", headers=headers).json()["profile"]
    del theirs["price"]
    assert mine == theirs


def test_my_data_is_for_the_customer_only(client, brand_and_headers, auditor_headers, admin_headers) -> None:
    for path in ("/me/data", "/me/export"):
        assert client.get(path).status_code == 401
        assert client.get(path, headers={"Authorization": "Bearer nonsense"}).status_code == 401
        assert client.get(path, headers=brand_and_headers[1]).status_code == 403
        assert client.get(path, headers=auditor_headers).status_code == 403
        assert client.get(path, headers=admin_headers).status_code == 403
