"""Paid profile upkeep through the API: reminders per field, confirming after one, and every refusal writing nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from app import db
from app.analytics.rules import default_rules
from app.models.accounts import Customer
from app.models.upkeep import UpkeepEvent, UpkeepKey
from tests.conftest import sign_in

pytestmark = pytest.mark.chain

REWARD = str(default_rules().upkeep.reward_units)


def _events(engine) -> list[tuple[str, str]]:
    with Session(engine) as session:
        return [(e.field, e.kind) for e in session.exec(select(UpkeepEvent).order_by(UpkeepEvent.id))]


def _fields(client, headers) -> dict[str, dict]:  # type: ignore[type-arg]
    body = client.get("/me/upkeep", headers=headers).json()
    return {f["field"]: f for f in body["fields"]}


def test_updates_are_recorded_only_for_changed_values_and_confirmations_only_when_due(
    client, settings, dev_accounts
) -> None:
    engine = db.make_engine(settings.sqlalchemy_url)
    alice = dev_accounts[0]
    headers = sign_in(client, alice)
    body = client.get("/me/upkeep", headers=headers).json()
    assert (body["reward"], body["period_days"], body["reminder_days"]) == (REWARD, 90, 180)
    assert {f["field"] for f in body["fields"]} == {"name", "email", "phone", "birth_year", "gender", "region"}
    assert not any(f["due"] or f["has_value"] for f in body["fields"])

    # The wallet sends every field: only those whose value really changed (to a value) are events.
    form = {"name": "Kim Alice", "email": None, "phone": None, "birth_year": None, "gender": None, "region": "Seoul"}
    assert client.patch("/me/personal", json=form, headers=headers).status_code == 200
    assert client.patch("/me/personal", json=form, headers=headers).status_code == 200  # the same again: nothing
    assert _events(engine) == [("name", "updated"), ("region", "updated")]
    name = _fields(client, headers)["name"]
    assert name["last_updated_at"].endswith("Z") and name["last_confirmed_at"] is None
    assert name["pending"] == REWARD and name["earned"] == "0" and not name["due"]
    reminder = datetime.fromisoformat(name["reminder_due_at"])
    assert reminder - datetime.fromisoformat(name["last_updated_at"]) == timedelta(days=180)

    # Enrolled 200 days ago with a birth year the customer never touched: its reminder is due.
    with Session(engine) as session:
        me = session.exec(select(Customer).where(Customer.address == alice.address)).one()
        me.created_at = datetime.now(UTC) - timedelta(days=200)
        me.birth_year = 1990
        session.add(me)
        session.commit()
    birth = _fields(client, headers)["birth_year"]
    assert birth["due"] and birth["confirm_would_earn"] == REWARD and birth["last_updated_at"] is None

    refusals = [
        ({"fields": []}, 422, "fields"),
        ({"fields": ["shoe_size"]}, 422, "fields"),
        ({"fields": ["birth_year", "birth_year"]}, 422, "once"),
        ({"fields": ["birth_year", "name"]}, 409, "no reminder is due for name"),  # all or nothing
        ({"fields": ["phone"]}, 409, "no value given: phone"),
        ({"fields": "birth_year"}, 422, "fields"),
        ({"fields": ["birth_year"], "extra": 1}, 422, "extra"),
    ]
    for request, status, said in refusals:
        response = client.post("/me/personal/confirm", json=request, headers=headers)
        assert response.status_code == status, (request, response.text)
        assert said in response.text, response.text
    assert _events(engine) == [("name", "updated"), ("region", "updated")]  # nothing written by any refusal

    confirmed = client.post("/me/personal/confirm", json={"fields": ["birth_year"]}, headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    (event,) = confirmed.json()
    assert event["field"] == "birth_year" and event["kind"] == "confirmed" and event["reminder_due_at"].endswith("Z")
    birth = _fields(client, headers)["birth_year"]
    assert not birth["due"] and birth["last_confirmed_at"] and birth["pending"] == REWARD
    assert client.post("/me/personal/confirm", json={"fields": ["birth_year"]}, headers=headers).status_code == 409
    with Session(engine) as session:
        stored = session.exec(select(UpkeepEvent).where(UpkeepEvent.field == "birth_year")).one()
        assert stored.value_hash.startswith("0x") and "1990" not in stored.value_hash  # a keyed hash, no value

    # Erasure deletes the key the hashes were made with, and writes no event (an erased field earns nothing).
    assert client.delete("/me/data", headers=headers).status_code == 200
    with Session(engine) as session:
        assert session.exec(select(UpkeepKey)).all() == []
    assert len(_events(engine)) == 3
    engine.dispose()


def test_upkeep_is_the_customers_own(client, brand_and_headers, auditor_headers) -> None:
    for headers in ({}, brand_and_headers[1], auditor_headers):
        assert client.get("/me/upkeep", headers=headers).status_code in (401, 403)
        confirm = client.post("/me/personal/confirm", json={"fields": ["name"]}, headers=headers)
        assert confirm.status_code in (401, 403)
