"""Audience counts: consenting customers only, grouped by covered dimensions, small counts hidden, never who."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from app.domain import Category
from app.models.epochs import EpochScore
from tests.conftest import make_brand
from tests.factories import ALL, enrol, fund, grant, people


@pytest.fixture()
def settings(settings):  # type: ignore[no-untyped-def]
    """These tests pin thresholds and groupings on exact counts: an epsilon so large the noise is zero
    (P(any noise) < 1e-15 per count); test_audience_privacy.py tests the noise and the budget."""
    return settings.model_copy(update={"audience_epsilon_per_query": 5_000.0, "audience_epsilon_per_period": 10**7})


def _score(engine, customer_id: int, segment: str, tier: str) -> None:  # type: ignore[no-untyped-def]
    with Session(engine) as session:
        session.add(
            EpochScore(
                epoch=1, customer_id=customer_id, recency_days=10, frequency=3, monetary_total=90_000,
                monetary_avg=30_000, r=4, f=4, m=3, segment=segment, tier=tier, cashback_bps=200,
            )
        )  # fmt: skip
        session.commit()


def _audience(client, headers, categories: str, **filters):  # type: ignore[no-untyped-def]
    answer = client.get(
        "/audience", params={"purpose": "marketing", "categories": categories, **filters}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_audience_hides_counts_under_the_threshold_and_never_names_anyone(
    client, settings, w3, operator, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    engine = client.app.state.engine
    accounts = people("audience", 11)
    for i, account in enumerate(accounts):
        customer_id = enrol(engine, account, i)
        _score(engine, customer_id, "champions" if i < 10 else "at risk", "gold")
    # Nine consent; a tenth grants narrower categories, an eleventh consents to nothing here.
    for account in accounts[:9]:
        grant(w3, settings, deployment_of, relayer, account, brand["address"], ALL)
    grant(w3, settings, deployment_of, relayer, accounts[9], brand["address"], int(Category.CONTACT))

    nine = _audience(client, headers, "segment,interests,styles")
    assert nine["total"] == {"count": None, "fewer_than": 10} and nine["k_min"] == 10
    champions = next(g for g in nine["by_segment"] if g["value"] == "champions")
    assert champions == {"value": "champions", "count": None, "fewer_than": 10}
    assert {g["value"] for g in nine["by_segment"]} >= {"champions", "at risk", "unscored"}
    assert next(g for g in nine["by_category"] if g["value"] == "shoes")["fewer_than"] == 10
    assert [g["value"] for g in nine["by_style"]] == ["minimal"]
    # Zero is shown like any count under the threshold.
    assert next(g for g in nine["by_segment"] if g["value"] == "hibernating")["fewer_than"] == 10
    assert _audience(client, headers, "contact")["total"] == {"count": 10, "fewer_than": None}

    # The tenth widens to everything: exactly 10 is shown.
    grant(w3, settings, deployment_of, relayer, accounts[9], brand["address"], ALL)
    ten = _audience(client, headers, "segment,interests,styles")
    assert ten["total"] == {"count": 10, "fewer_than": None}
    assert next(g for g in ten["by_segment"] if g["value"] == "champions")["count"] == 10
    assert next(g for g in ten["by_tier"] if g["value"] == "gold")["count"] == 10
    assert next(g for g in ten["by_category"] if g["value"] == "shoes")["count"] == 10
    assert ten["by_style"] == [{"value": "minimal", "count": 10, "fewer_than": None}]
    # Groupings appear only for the dimensions the categories cover.
    contact = _audience(client, headers, "contact")
    assert contact["by_segment"] is None and contact["by_category"] is None and contact["by_style"] is None

    # Filters narrow the count; a level above everyone's interest leaves "fewer than 10".
    assert _audience(client, headers, "segment", segment="champions")["total"]["count"] == 10
    assert _audience(client, headers, "interests", category="shoes", min_interest=0.1)["total"]["count"] == 10
    assert _audience(client, headers, "interests", category="shoes", min_interest=10**6)["total"]["count"] is None
    assert _audience(client, headers, "styles", style="loud")["total"]["count"] is None

    # A threshold from settings; counting is free (no transaction) and names nobody.
    before = w3.eth.block_number
    text = client.get(
        "/audience", params={"purpose": "marketing", "categories": ["segment", "contact"]}, headers=headers
    ).text
    assert w3.eth.block_number == before
    assert not any(a.address.lower() in text.lower() for a in accounts) and "Person" not in text

    # Another brand, with no consents, counts nobody.
    _, other = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    fund(client, w3, settings, deployment_of, operator, dev_accounts[6], "Other")
    assert _audience(client, other, "contact")["total"] == {"count": None, "fewer_than": 10}


def test_audience_threshold_is_configurable(settings, w3, relayer, admin_headers, dev_accounts, deployment_of) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(settings.model_copy(update={"audience_k_min": 2}))) as client:
        brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
        accounts = people("k2", 2)
        for i, account in enumerate(accounts):
            enrol(client.app.state.engine, account, i)
        grant(w3, settings, deployment_of, relayer, accounts[0], brand["address"], ALL)
        assert _audience(client, headers, "contact")["total"] == {"count": None, "fewer_than": 2}
        grant(w3, settings, deployment_of, relayer, accounts[1], brand["address"], ALL)
        assert _audience(client, headers, "contact")["total"] == {"count": 2, "fewer_than": None}
