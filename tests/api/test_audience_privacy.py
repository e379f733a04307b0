"""Audience counts are differentially private: differencing two filters no longer isolates one customer, the
same query is answered the same, and a brand's epsilon budget per period stops unlimited querying."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlmodel import Session, select

from app.models.audience import AudienceAnswer, AudienceBudget
from app.models.purchases import InterestEvent
from app.services import audience, audience_privacy
from app.services.audience_privacy import Family
from tests.conftest import make_brand
from tests.factories import ALL, enrol, grant, people

EPSILON = 0.5  # the default per query


def test_one_customer_cannot_be_told_apart_better_than_epsilon_allows() -> None:
    """The attack of the issue (23 vs 22 shoes buyers): guess whether the customer is in from the noisy
    pair. Exact counts (the old answer) always tell; under epsilon-DP no test beats e^eps / (1 + e^eps)."""
    trials, right, exact_differences = 3_000, 0, 0
    rng = random.Random(9)
    for _ in range(trials):
        present = rng.random() < 0.5
        with_customer, _ = audience_privacy.noisy([Family("total", [22 + present], 1)], EPSILON)
        without, _ = audience_privacy.noisy([Family("total", [22], 1)], EPSILON)
        difference = with_customer["total"][0] - without["total"][0]
        exact_differences += difference == 1
        right += (difference >= 1) == present
    bound = 2.718281828**EPSILON / (1 + 2.718281828**EPSILON)  # 0.62 for epsilon 0.5
    assert right / trials < bound + 0.03, (right / trials, bound)
    assert exact_differences / trials < 0.3  # the difference is 1 no more often than noise makes it


def test_noise_is_scaled_to_each_familys_sensitivity_and_charged_by_opendps_map() -> None:
    counts = [Family("total", [40], 1), Family("by_category", [30, 20, 10], 3)]
    released, spent = audience_privacy.noisy(counts, 1.0)
    assert spent == pytest.approx(1.0) and audience_privacy.to_micro(spent) == 1_000_000
    assert len(released["by_category"]) == 3 and all(n >= 0 for n in released["by_category"])
    # Over many releases the noise is centred on the true count, wider for the wider family.
    totals = [audience_privacy.noisy(counts, 1.0)[0] for _ in range(2_000)]
    mean_total = sum(r["total"][0] for r in totals) / len(totals)
    spread_total = sum(abs(r["total"][0] - 40) for r in totals) / len(totals)
    spread_category = sum(abs(r["by_category"][0] - 30) for r in totals) / len(totals)
    assert abs(mean_total - 40) < 0.5 and 1.2 < spread_total < 2.8 and spread_category > 2 * spread_total


def test_periods_are_fixed_lengths_in_utc(settings) -> None:
    period = audience_privacy.period_of(settings, datetime(2026, 12, 1, 20, 0, tzinfo=UTC))
    assert period.end - period.start == timedelta(days=30)
    assert period.start <= datetime(2026, 12, 1, 20, 0, tzinfo=UTC) < period.end
    assert audience_privacy.period_of(settings, period.end) == audience_privacy.Period(
        period.end, period.end + timedelta(days=30)
    )


def _count(answer: dict) -> int:
    return answer["total"]["count"] or 0  # a noisy zero is shown as "fewer than 1"


def _shoes(client, headers, level: float):  # type: ignore[no-untyped-def]
    params = {"purpose": "marketing", "categories": "interests", "category": "shoes", "min_interest": level}
    return client.get("/audience", params=params, headers=headers)


def test_differencing_two_interest_levels_no_longer_isolates_the_customer(
    settings, w3, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    # k_min 1 so that every count is shown: the threshold alone would hide nothing here.
    with TestClient(create_app(settings.model_copy(update={"audience_k_min": 1}))) as client:
        brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
        engine = client.app.state.engine
        accounts = people("difference", 11)
        ids = [enrol(engine, account, i) for i, account in enumerate(accounts)]
        with Session(engine) as session:  # ten customers like shoes more than the eleventh
            for customer_id in ids[1:]:
                session.add(
                    InterestEvent(
                        customer_id=customer_id, brand_id=1, external_id=f"more-{customer_id}", kind="cart_add",
                        category="shoes", occurred_at=datetime.now(UTC) - timedelta(days=1),
                    )
                )  # fmt: skip
            session.commit()
        for account in accounts:
            grant(w3, settings, deployment_of, relayer, account, brand["address"], ALL)
        levels = audience.interests_of(settings, ids).categories
        low, high = levels[ids[0]]["shoes"], levels[ids[1]]["shoes"]
        assert low < high

        differences = []
        for _ in range(20):  # as many fresh budgets (new periods, new brands): each pair with new noise
            with Session(engine) as session:
                session.execute(delete(AudienceAnswer))
                session.execute(delete(AudienceBudget))
                session.commit()
            # Levels decay with time: query between them, not at them (the eleventh is below the midpoint).
            everyone, all_but_one = _shoes(client, headers, low * 0.9), _shoes(client, headers, (low + high) / 2)
            assert everyone.status_code == all_but_one.status_code == 200, everyone.text
            differences.append(_count(everyone.json()) - _count(all_but_one.json()))
        # Exact counts gave 11 - 10 = 1 every time, naming the eleventh customer's interest level.
        assert differences.count(1) <= 9, differences
        assert len(set(differences)) >= 4, differences


def test_same_query_same_answer_and_the_budget_stops_new_queries(
    settings, w3, relayer, admin_headers, dev_accounts, deployment_of
) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    budgeted = settings.model_copy(
        update={"audience_k_min": 1, "audience_epsilon_per_query": 0.5, "audience_epsilon_per_period": 1.0}
    )
    with TestClient(create_app(budgeted)) as client:
        brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
        _, other = make_brand(client, admin_headers, dev_accounts[6], name="Other")
        engine = client.app.state.engine
        accounts = people("budget", 3)
        for i, account in enumerate(accounts):
            enrol(engine, account, i)
            grant(w3, settings, deployment_of, relayer, account, brand["address"], ALL)

        first = _shoes(client, headers, 0.1)
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["privacy"]["repeated"] is False and body["privacy"]["epsilon"] == pytest.approx(0.5)
        assert body["privacy"]["epsilon_spent"] == pytest.approx(0.5) and body["privacy"]["epsilon_budget"] == 1.0
        assert body["privacy"]["period_end"].endswith("Z") or body["privacy"]["period_end"].endswith("+00:00")
        # Asked again (ten times): the stored answer, free; averaging gains nothing.
        for _ in range(10):
            again = _shoes(client, headers, 0.1).json()
            assert again["privacy"]["repeated"] is True
            assert {k: v for k, v in again.items() if k != "privacy"} == {
                k: v for k, v in body.items() if k != "privacy"
            }
        assert again["privacy"]["epsilon_spent"] == pytest.approx(0.5)

        assert _shoes(client, headers, 0.2).status_code == 200  # a second new query spends the rest
        refused = _shoes(client, headers, 0.3)
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"] == "privacy_budget_spent"
        assert "privacy budget for the period is spent (1 of 1 epsilon" in refused.json()["message"]
        assert refused.json()["detail"]["period_end"] == body["privacy"]["period_end"].replace("+00:00", "Z")
        assert _shoes(client, headers, 0.1).status_code == 200  # queries already answered still are
        # The spent budget is stored per brand and period; another brand has its own.
        with Session(engine) as session:
            (row,) = session.exec(select(AudienceBudget)).all()
            assert row.spent_micro == 1_000_000 and row.brand_id == brand["id"]
            assert len(session.exec(select(AudienceAnswer)).all()) == 2
        params = {"purpose": "marketing", "categories": "contact"}
        assert client.get("/audience", params=params, headers=other).status_code == 200
