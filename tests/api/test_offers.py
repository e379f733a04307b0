"""Offers through the brand console API: every kind, its validation refusals (422 naming the field), list, end."""

from __future__ import annotations

import pytest

from tests import factories
from tests.conftest import make_brand

pytestmark = pytest.mark.chain

UNITS = 10**18
KINDS = ("cashback_bps", "fixed_bonus", "coupon", "gift", "message", "page")


@pytest.fixture()
def brand(client, admin_headers, dev_accounts, settings, w3, deployment_of, operator):
    """A brand with 5,000 CASH of unreserved budget on chain: (brand, headers)."""
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    factories.fund_budget(w3, deployment_of(settings), operator, brand["address"], 5_000 * UNITS)
    return brand, headers


@pytest.mark.parametrize("kind", KINDS)
def test_create_and_show_every_kind(client, brand, kind) -> None:
    _, headers = brand
    created = client.post("/brands/me/offers", json=factories.offer_body(kind), headers=headers)
    assert created.status_code == 201, created.text
    offer = created.json()
    assert offer["kind"] == kind and offer["terms"] == "One per customer while the budget lasts."
    assert offer["spent"] == "0" and offer["valid_until"].endswith("Z")
    shown = client.get(f"/brands/me/offers/{offer['id']}", headers=headers)
    assert shown.status_code == 200 and shown.json() == offer


@pytest.mark.parametrize(
    ("kind", "changes", "where", "words"),
    [
        ("cashback_bps", {"bps": None}, "body.bps", "needs bps"),
        ("cashback_bps", {"bps": 0}, "body.bps", "greater than or equal to 1"),
        ("cashback_bps", {"bps": 10_001}, "body.bps", "less than or equal to 10000"),
        ("cashback_bps", {"bonus_units": "5"}, "body.bonus_units", "takes no bonus_units"),
        ("cashback_bps", {"budget_units": "0"}, "body.budget_units", "budget cap above 0"),
        ("cashback_bps", {"budget_units": str(5_001 * UNITS)}, "body.budget_units", "an offer over budget"),
        ("fixed_bonus", {"budget_units": "1"}, "body.budget_units", "cannot pay one bonus"),
        ("coupon", {"coupon_code": "no spaces!"}, "body.coupon_code", "letters A–Z"),
        ("coupon", {"coupon_code": None}, "body.coupon_code", "needs coupon_code"),
        ("coupon", {"budget_units": "7"}, "body.budget_units", "leave the budget at 0"),
        ("gift", {"per_customer": 0}, "body.per_customer", "greater than or equal to 1"),
        ("message", {"per_customer": 2}, "body.per_customer", "per_customer stays 1"),
        ("page", {"body": "javascript:alert(1)"}, "body.body", "http(s) address"),
        ("message", {"terms": "   "}, "body.terms", "terms shown to the customer are required"),
        ("message", {"terms": None}, "body.terms", "Field required"),
        ("gift", {"valid_until": "2019-12-31T00:00:00Z"}, "body.valid_until", "after valid_from"),
        ("gift", {"valid_until": "2021-01-01T00:00:00Z"}, "body.valid_until", "lies in the past"),
        ("gift", {"valid_from": "2024-01-01T00:00:00"}, "body.valid_from", "timezone"),
    ],
)
def test_invalid_offers_are_refused_naming_the_field(client, brand, kind, changes, where, words) -> None:
    _, headers = brand
    answer = client.post("/brands/me/offers", json=factories.offer_body(kind, **changes), headers=headers)
    assert answer.status_code == 422, answer.text
    problems = answer.json()["detail"]
    problems = problems["problems"] if isinstance(problems, dict) else problems
    assert any(p["where"] == where and words in p["problem"] for p in problems), problems
    assert client.get("/brands/me/offers", headers=headers).json()["total"] == 0  # nothing half-written


def test_coupon_codes_are_unique_per_brand_and_upper_cased(client, admin_headers, dev_accounts, brand) -> None:
    _, headers = brand
    first = client.post(
        "/brands/me/offers", json=factories.offer_body("coupon", coupon_code="spring-10"), headers=headers
    )
    assert first.status_code == 201 and first.json()["coupon_code"] == "SPRING-10"
    again = client.post("/brands/me/offers", json=factories.offer_body("coupon"), headers=headers)
    assert again.status_code == 422 and "already uses this code" in again.text
    # Another brand may use the same code.
    _, other = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    assert client.post("/brands/me/offers", json=factories.offer_body("coupon"), headers=other).status_code == 201


def test_list_end_and_other_brands_offers(client, admin_headers, dev_accounts, brand) -> None:
    _, headers = brand
    ids = [client.post("/brands/me/offers", json=factories.offer_body(k), headers=headers).json()["id"] for k in KINDS]
    page = client.get("/brands/me/offers", params={"limit": 4}, headers=headers).json()
    assert page["total"] == 6 and [o["id"] for o in page["offers"]] == ids[::-1][:4]
    ended = client.post(f"/brands/me/offers/{ids[0]}/end", headers=headers)
    assert ended.status_code == 200 and ended.json()["ended_at"].endswith("Z")
    assert client.post(f"/brands/me/offers/{ids[0]}/end", headers=headers).status_code == 409
    _, other = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    assert client.get(f"/brands/me/offers/{ids[0]}", headers=other).status_code == 404
    assert client.get("/brands/me/offers", headers=other).json()["total"] == 0


def test_brand_sets_its_webhook_with_a_secret_shown_once(client, brand) -> None:
    _, headers = brand
    assert client.get("/brands/me/webhook", headers=headers).status_code == 404
    bad = client.put("/brands/me/webhook", json={"url": "ftp://brand.example/h"}, headers=headers)
    assert bad.status_code == 422 and "body.url" in bad.text
    created = client.put("/brands/me/webhook", json={"url": "https://brand.example/hooks"}, headers=headers).json()
    assert len(created["secret"]) == 64
    moved = client.put("/brands/me/webhook", json={"url": "https://brand.example/v2"}, headers=headers).json()
    assert moved["secret"] is None and moved["url"] == "https://brand.example/v2"  # the secret is kept, not shown
    rotated = client.put("/brands/me/webhook", json={"url": moved["url"], "rotate_secret": True}, headers=headers)
    assert rotated.json()["secret"] not in (None, created["secret"])
    shown = client.get("/brands/me/webhook", headers=headers).json()
    assert shown["secret"] is None and (shown["pending"], shown["failed"]) == (0, 0)
