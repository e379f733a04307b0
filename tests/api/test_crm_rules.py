"""Rules over the brand API: the categories each audience reads, pause, and the 422s that say what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests import factories
from tests.conftest import make_brand


@pytest.fixture()
def acme(client, admin_headers, dev_accounts):  # type: ignore[no-untyped-def]
    brand, headers = make_brand(client, admin_headers, dev_accounts[5], name="Acme")
    offer = factories.offer(client.app.state.engine, brand["id"])
    return brand, headers, offer


def _rule(offer_id: int, **changes: object) -> dict:
    body: dict[str, object] = {
        "name": "Tier up thanks",
        "offer_id": offer_id,
        "audience": {"segment": "champions"},
        "channel": "email",
        "trigger": {"kind": "behaviour", "event": "tier_up"},
    }
    return body | changes


def test_a_rule_is_created_listed_shown_and_paused(client, acme, admin_headers, dev_accounts) -> None:
    brand, headers, offer = acme
    created = client.post("/brands/me/rules", json=_rule(offer.id), headers=headers)
    assert created.status_code == 201, created.text
    rule = created.json()
    assert rule["categories"] == ["contact", "segment"] and rule["reads_data"] is True
    assert rule["audience"] == {"segment": "champions"}
    assert rule["trigger"] == {"kind": "behaviour", "event": "tier_up", "window_start": None, "window_end": None}
    assert (rule["active"], rule["deliveries"], rule["customers"]) == (True, 0, 0)
    assert [r["id"] for r in client.get("/brands/me/rules", headers=headers).json()] == [rule["id"]]
    assert client.get(f"/brands/me/rules/{rule['id']}", headers=headers).json() == rule
    paused = client.post(f"/brands/me/rules/{rule['id']}/pause", headers=headers)
    assert paused.status_code == 200 and paused.json()["active"] is False
    # Another brand sees none of it.
    _, other = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    assert client.get(f"/brands/me/rules/{rule['id']}", headers=other).status_code == 404
    assert client.post(f"/brands/me/rules/{rule['id']}/pause", headers=other).status_code == 404
    assert client.get("/brands/me/rules", headers=other).json() == []


@pytest.mark.parametrize(
    ("audience", "trigger", "channel", "categories"),
    [
        ({"everyone": True}, {"kind": "date_window"}, "inbox", []),
        ({"everyone": True}, {"kind": "date_window"}, "email", ["contact"]),
        ({"tier": "gold"}, {"kind": "date_window"}, "inbox", ["segment"]),
        ({"rfm": " 1, 3,3"}, {"kind": "date_window"}, "inbox", ["segment"]),
        ({"category": "shoes", "min_score": 2.5}, {"kind": "date_window"}, "inbox", ["interests"]),
        ({"style": "minimal", "min_score": 1}, {"kind": "date_window"}, "inbox", ["styles"]),
        ({}, {"kind": "cart_abandoned"}, "inbox", ["cart"]),
        ({}, {"kind": "behaviour", "event": "spend_threshold_crossed"}, "inbox", ["purchases"]),
        ({}, {"kind": "behaviour", "event": "high_value_gone_quiet"}, "inbox", ["segment"]),
        (
            {"category": "shoes"},
            {"kind": "behaviour", "event": "new_customer"},
            "email",
            ["contact", "purchases", "interests"],
        ),
    ],
)
def test_the_categories_read_follow_from_the_audience_trigger_and_channel(  # type: ignore[no-untyped-def]
    client, acme, audience, trigger, channel, categories
) -> None:
    _, headers, offer = acme
    if trigger["kind"] == "date_window":
        now = datetime.now(UTC)
        trigger |= {"window_start": now.isoformat(), "window_end": (now + timedelta(days=7)).isoformat()}
    body = _rule(offer.id, audience=audience, trigger=trigger, channel=channel)
    created = client.post("/brands/me/rules", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["categories"] == categories
    assert created.json()["reads_data"] is bool(categories)
    if audience.get("rfm"):
        assert created.json()["audience"] == {"rfm": "1,3,3"}


def test_bad_rules_get_a_422_saying_what_is_wrong(client, acme, admin_headers, dev_accounts) -> None:
    brand, headers, offer = acme
    engine = client.app.state.engine
    past = datetime.now(UTC) - timedelta(days=3)
    expired = factories.offer(engine, brand["id"], valid_from=past - timedelta(days=5), valid_until=past)
    other, _ = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    foreign = factories.offer(engine, other["id"])
    start = datetime.now(UTC)
    window = {"kind": "date_window", "window_start": start.isoformat()}
    cases = [
        (_rule(offer.id, audience={"segment": "heroes"}), "unknown segment 'heroes'"),
        (_rule(offer.id, audience={"tier": "platinum"}), "unknown tier 'platinum'"),
        (_rule(offer.id, trigger={"kind": "behaviour", "event": "moved_house"}), "unknown behaviour event"),
        (_rule(offer.id, trigger={"kind": "someday"}), "unknown trigger"),
        (_rule(offer.id, audience={"rfm": "1,3"}), "RFM cell"),
        (_rule(offer.id, audience={"rfm": "1,3,9"}), "RFM cell"),
        (_rule(offer.id, audience={"min_score": 2}), "min_score applies"),
        (_rule(offer.id, audience={"everyone": True, "tier": "gold"}), "cannot be combined"),
        (_rule(offer.id, trigger=window | {"window_end": (start - timedelta(hours=1)).isoformat()}), "after"),
        (_rule(offer.id, trigger={"kind": "date_window"}), "needs window_start and window_end"),
        (_rule(offer.id, also_reads=["health"]), "unknown data category 'health'"),
        (_rule(offer.id, purpose="gossip"), "unknown purpose"),
        (_rule(offer.id, channel="pigeon"), "unknown channel"),
        (_rule(foreign.id), "is not one of your offers"),
        (_rule(expired.id), "expired"),
        (
            _rule(offer.id, audience={}, trigger=window | {"window_end": (start + timedelta(days=1)).isoformat()}),
            "say whom",
        ),
    ]
    for body, message in cases:
        answer = client.post("/brands/me/rules", json=body, headers=headers)
        assert answer.status_code == 422, (body, answer.text)
        assert message in answer.json()["message"], (body, answer.json())
    assert client.get("/brands/me/rules", headers=headers).json() == []  # nothing half-written
