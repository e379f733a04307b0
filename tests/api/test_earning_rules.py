"""Brand earning rules through the API: versions made, read and refused (422 naming the row, nothing stored)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from app.analytics.rules import default_rules
from app.models.epochs import Epoch, EpochStatus
from tests.conftest import make_brand

pytestmark = pytest.mark.chain

PATH = "/brands/me/earning-rules"
RULES = default_rules()
TOP, BASE = RULES.tiers[0], RULES.tiers[-1]
MAX_EXTRA, MAX_TOTAL = RULES.brand_rates.max_extra_bps, RULES.brand_rates.max_total_bps


def row(category: str = "shoes", tier: str = BASE.name, extra_bps: object = 50) -> dict:
    return {"category": category, "tier": tier, "extra_bps": extra_bps}


def test_a_version_is_stored_whole_and_applies_from_the_next_epoch(client, brand_and_headers) -> None:
    _, headers = brand_and_headers
    empty = client.get(PATH, headers=headers)
    assert empty.status_code == 200, empty.text
    body = empty.json()
    assert body["current"] is None and body["history"] == [] and body["next_effective_epoch"] == 1
    assert body["bounds"]["max_extra_bps"] == MAX_EXTRA and body["bounds"]["max_total_bps"] == MAX_TOTAL
    assert body["bounds"]["tiers"][0] == {"name": TOP.name, "cashback_bps": TOP.cashback_bps}
    assert "shoes" in body["bounds"]["categories"]

    first = client.post(PATH, json={"rows": [row(), row("bags", TOP.name, 20)]}, headers=headers)
    assert first.status_code == 201, first.text
    made = first.json()
    assert (made["version"], made["effective_epoch"], made["status"]) == (1, 1, "pending")
    assert made["created_at"].endswith("Z")
    assert made["rows"] == [row("bags", TOP.name, 20), row()]  # sorted by category, tier

    # An epoch opens: a version made now first applies to the one after it; the first one is in force.
    with Session(client.app.state.engine) as session:
        session.add(
            Epoch(number=1, status=EpochStatus.OPEN, as_of=datetime(2026, 1, 1, tzinfo=UTC), max_purchase_id=0,
                  from_block=0, to_block=0, scheme="quintile", rules_hash="")
        )  # fmt: skip
        session.commit()
    second = client.post(PATH, json={"rows": []}, headers=headers)
    assert second.status_code == 201, second.text
    assert (second.json()["version"], second.json()["effective_epoch"], second.json()["rows"]) == (2, 2, [])
    read = client.get(PATH, headers=headers).json()
    assert read["next_effective_epoch"] == 2
    assert [(v["version"], v["status"]) for v in read["history"]] == [(2, "pending"), (1, "in_force")]
    assert read["current"]["version"] == 2
    assert client.get(f"{PATH}/1", headers=headers).json() == read["history"][1]
    missing = client.get(f"{PATH}/3", headers=headers)
    assert missing.status_code == 404 and "version 3" in missing.json()["message"]


@pytest.mark.parametrize(
    ("rows", "where", "words"),
    [
        ([row("socks")], "body.rows[0]", "unknown category 'socks'"),
        ([row(), row(tier="platinum")], "body.rows[1]", "unknown tier 'platinum'"),
        ([row(extra_bps=0)], "body.rows[0]", f"extra_bps must be 1..{MAX_EXTRA}, got 0"),
        ([row(extra_bps=MAX_EXTRA + 1)], "body.rows[0]", f"got {MAX_EXTRA + 1}"),
        ([row(tier=TOP.name, extra_bps=MAX_TOTAL - TOP.cashback_bps + 1)], "body.rows[0]", "above the programme's"),
        ([row(), row("bags"), row(extra_bps=70)], "body.rows[2]", "duplicates rows[0] (shoes, bronze)"),
    ],
)
def test_rows_outside_the_bounds_are_refused_by_row_and_nothing_is_stored(
    client, brand_and_headers, rows, where, words
) -> None:
    _, headers = brand_and_headers
    answer = client.post(PATH, json={"rows": rows}, headers=headers)
    assert answer.status_code == 422, answer.text
    problems = answer.json()["detail"]["problems"]
    (problem,) = [p for p in problems if p["where"] == where]
    assert words in problem["problem"], problems
    assert set(problem) == {"where", "problem"}  # values only inside the text: never an unsafe JSON number
    assert client.get(PATH, headers=headers).json()["history"] == []


@pytest.mark.parametrize(
    "body",
    [{"rows": [row(extra_bps="50")]}, {"rows": [row() | {"note": "x"}]}, {"rows": [row(extra_bps=1.5)]}, {}],
)
def test_malformed_bodies_are_refused(client, brand_and_headers, body) -> None:
    _, headers = brand_and_headers
    assert client.post(PATH, json=body, headers=headers).status_code == 422
    assert client.get(PATH, headers=headers).json()["history"] == []


def test_each_brand_sees_only_its_own_versions(client, admin_headers, brand_and_headers, dev_accounts) -> None:
    _, mine = brand_and_headers
    _, theirs = make_brand(client, admin_headers, dev_accounts[6], name="Other")
    assert client.post(PATH, json={"rows": [row()]}, headers=mine).status_code == 201
    assert client.get(PATH, headers=theirs).json()["history"] == []
    assert client.get(f"{PATH}/1", headers=theirs).status_code == 404
    assert client.get(PATH).status_code == 401
