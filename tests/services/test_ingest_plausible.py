"""Ingestion refuses implausible rows (ceiling, before the programme, far future, control characters) and
answers a repeated external id with another body as a conflict, in single and bulk ingestion."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from app.config import Settings
from app.errors import Conflict, InvalidInput
from app.ingestion import ingest, ingest_bulk, ingest_purchase
from app.models.purchases import InterestEvent, Purchase, PurchaseItem
from tests import factories
from tests.factories import ALICE, BOB, UNLIMITED, ndjson, row_count

SETTINGS = Settings(environment="test", purchase_max_won=1_000_000)
purchase = factories.alternating_purchase_row
event = factories.alice_event_row


@pytest.fixture()
def engine(offline_engine):
    return offline_engine  # no chain needed: brands are put in directly


def bulk(db_engine, *rows, resource="purchases", settings=SETTINGS):  # type: ignore[no-untyped-def]
    return ingest_bulk(db_engine, resource, "ndjson", [ndjson(*rows)], UNLIMITED, settings)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": 1_000_001}, "amount: 1000001 won is above the ceiling of 1000000 won per purchase"),
        ({"amount": 2**63 - 1}, "above the ceiling"),
        (
            {"items": [{"item_id": "x", "unit_price": 2_000_000}]},
            "items[0].unit_price: 2000000 won is above the ceiling",
        ),
        ({"purchased_at": "2019-12-31T23:59:59Z"}, "purchased_at: lies before the programme's start (2020-01-01"),
        ({"purchased_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, "purchased_at: lies in the future"),
        ({"external_id": "o-1\n"}, "external_id: holds the control character U+000A at position 3"),
        ({"external_id": "o\u202e1"}, "external_id: holds the control character U+202E at position 1"),
        ({"items": [{"item_id": "sku\x00", "unit_price": 5}]}, "items[0].item_id: holds the control character U+0000"),
        ({"items": [{"item_id": "s", "category": "sh\toes", "unit_price": 5}]}, "items[0].category: holds the control"),
    ],
)
def test_implausible_purchase_refused_naming_why(engine, brand_id, changes, message) -> None:
    with Session(engine) as session, pytest.raises(InvalidInput, match="invalid purchase: ") as refused:
        ingest_purchase(session, purchase(1, brand_id, **changes), SETTINGS)
    assert message in str(refused.value)
    report = bulk(engine, purchase(1, brand_id, **changes))
    assert report.status_code == 422 and message in report.rejected[0]["error"]
    assert row_count(engine, Purchase) == 0


def test_ceiling_and_programme_start_come_from_settings(engine, brand_id) -> None:
    wide = Settings(environment="test", purchase_max_won=2**63 - 1, programme_start=datetime(2001, 1, 1, tzinfo=UTC))
    row = purchase(1, brand_id, amount=2**63 - 1, purchased_at="2001-06-01T00:00:00Z", items=None)
    with Session(engine) as session:
        stored = ingest_purchase(session, row, wide)
    assert stored.created and stored.purchase.amount == 2**63 - 1
    # The defaults: 10,000,000,000 won per purchase, programme from 2020-01-01.
    with Session(engine) as session, pytest.raises(InvalidInput, match="above the ceiling of 10000000000 won"):
        ingest_purchase(session, purchase(2, brand_id, amount=10**10 + 1))


def test_event_text_and_dates_checked_too(engine, brand_id) -> None:
    report = bulk(
        engine,
        event(1, brand_id, style="lou\x1bd"),
        event(2, brand_id, occurred_at="2010-01-01T00:00:00Z"),
        event(3, brand_id),
        resource="events",
    )
    assert [r["line"] for r in report.rejected] == [1, 2]
    assert "style: holds the control character U+001B" in report.rejected[0]["error"]
    assert "occurred_at: lies before the programme's start" in report.rejected[1]["error"]
    assert report.accepted == 1


def test_single_purchase_same_body_is_idempotent_another_body_is_a_conflict(engine, brand_id) -> None:
    with Session(engine) as session:
        first = ingest_purchase(session, purchase(1, brand_id), SETTINGS)
    with Session(engine) as session:
        again = ingest_purchase(session, purchase(1, brand_id), SETTINGS)
    assert first.created and not again.created and again.purchase.id == first.purchase.id
    changed = purchase(1, brand_id, purchased_at="2024-05-02T12:00:00+09:00", customer=BOB, amount=1)
    with Session(engine) as session, pytest.raises(Conflict) as refused:
        ingest_purchase(session, changed, SETTINGS)
    assert refused.value.detail == {"fields": ["customer", "purchased_at", "amount"]}
    assert "external_id 'o-1'" in refused.value.message
    # Items count as part of the body; the same instant in another zone is the same body.
    items = [{"item_id": "sku-2", "unit_price": 59_000}]
    with Session(engine) as session, pytest.raises(Conflict, match="another items"):
        ingest_purchase(session, purchase(1, brand_id, items=items), SETTINGS)
    with Session(engine) as session:
        same = ingest_purchase(session, purchase(1, brand_id, purchased_at="2024-05-01T03:00:00Z"), SETTINGS)
    assert same.created is False
    with Session(engine) as session:
        assert session.scalars(select(Purchase.amount)).all() == [59_000]
        assert session.scalars(select(PurchaseItem.item_id)).all() == ["sku-1"]


def test_bulk_reports_each_conflicting_line_within_and_across_uploads(engine, brand_id, monkeypatch) -> None:
    monkeypatch.setattr(ingest, "BATCH_ROWS", 2)  # several batches
    assert bulk(engine, purchase(1, brand_id), purchase(3, brand_id)).accepted == 2
    report = bulk(
        engine,
        purchase(1, brand_id),  # line 1: duplicate
        purchase(3, brand_id, amount=7),  # line 2: conflict with the stored row
        "not json",  # line 3: rejected while parsing
        purchase(5, brand_id),  # line 4: new
        purchase(5, brand_id, amount=9),  # line 5: conflict with line 4, not yet stored
        purchase(7, brand_id),  # line 6: new
        purchase(7, brand_id, currency="KRW", items=None),  # line 7: conflict with line 6 (items)
    )
    assert (report.accepted, report.duplicates, report.conflicts, report.rejected_total) == (2, 1, 3, 4)
    assert [r["line"] for r in report.rejected] == [2, 3, 5, 7]
    assert "another amount" in report.rejected[0]["error"] and "another items" in report.rejected[3]["error"]
    assert report.status_code == 200 and report.as_dict()["conflicts"] == 3
    only_conflicts = bulk(engine, purchase(1, brand_id, amount=2))
    assert only_conflicts.status_code == 409 and only_conflicts.as_dict()["error"] == "conflict"
    with Session(engine) as session:
        amounts = dict(session.execute(select(Purchase.external_id, Purchase.amount)).all())  # type: ignore[call-overload]
    assert amounts == {"o-1": 59_000, "o-3": 59_000, "o-5": 59_000, "o-7": 59_000}


def test_bulk_csv_and_events_conflicts(engine, brand_id) -> None:
    header = "customer,brand,external_id,purchased_at,amount\n"
    first = ingest_bulk(
        engine, "purchases", "csv", [f"{header}{ALICE},{brand_id},c-1,2024-05-01T12:00:00Z,3000\n".encode()], UNLIMITED
    )
    assert first.accepted == 1
    again = (
        f"{header}{ALICE},{brand_id},c-1,2024-05-01T12:00:00Z,3000\n{ALICE},{brand_id},c-1,2024-05-01T12:00:00Z,3001\n"
    )
    report = ingest_bulk(engine, "purchases", "csv", [again.encode()], UNLIMITED)
    assert (report.duplicates, report.conflicts) == (1, 1) and report.rejected[0]["line"] == 3
    assert bulk(engine, event(1, brand_id), resource="events").accepted == 1
    events = bulk(engine, event(1, brand_id), event(1, brand_id, kind="view"), resource="events")
    assert (events.duplicates, events.conflicts) == (1, 1)
    assert "another kind" in events.rejected[0]["error"] and events.rejected[0]["line"] == 2
    assert row_count(engine, InterestEvent) == 1
    assert json.dumps(events.as_dict())  # the report stays JSON
