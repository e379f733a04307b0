"""Ingestion (app/ingestion): row validation, streamed parsing (chunks, long lines, CSV), batches, idempotency."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

import pytest
from eth_utils import to_checksum_address
from sqlalchemy import func, select
from sqlmodel import Session

from app.errors import InvalidInput, PayloadTooLarge
from app.ingestion import BadRow, ingest, ingest_bulk, ingest_purchase, parse, store, stream
from app.ingestion.store import BrandDirectory, checksum_address
from app.models.accounts import Customer
from app.models.purchases import InterestEvent, Purchase, PurchaseItem
from tests import factories
from tests.factories import ALICE, BOB, BRAND_ADDRESS, UNLIMITED, ndjson, row_count


@pytest.fixture()
def engine(offline_engine):
    return offline_engine  # no chain needed: brands are put in directly


purchase = factories.alternating_purchase_row
event = factories.alice_event_row


def test_checksum_address_matches_eth_utils() -> None:
    rng = random.Random(1)
    for _ in range(500):
        address = f"0x{rng.getrandbits(160):040x}"
        assert checksum_address(address) == to_checksum_address(address)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"amount": -1}, "amount: must be a non-negative integer (won)"),
        ({"amount": 12.5}, "amount: must be a non-negative integer (won), not 12.5"),
        ({"amount": 12.0}, "amount: must be a non-negative integer"),
        ({"amount": True}, "amount: must be a non-negative integer"),
        ({"amount": 2**63}, "amount: must be a non-negative integer"),
        ({"customer": "0x1234"}, "customer: must be a 0x-prefixed 20-byte hex address"),
        ({"customer": 5}, "customer: must be a 0x-prefixed 20-byte hex address"),
        ({"brand": 999}, "brand: no brand with id 999"),
        ({"brand": "0x" + "ab" * 20}, "brand: no brand with address"),
        ({"brand": "acme"}, "brand: must be a brand id or a brand's 0x address"),
        ({"purchased_at": "2024-05-01T12:00:00"}, "purchased_at: needs a time zone offset"),
        ({"purchased_at": "yesterday"}, "purchased_at: not an ISO 8601 date-time"),
        ({"purchased_at": 1714532400}, "purchased_at: must be an ISO 8601 date-time"),
        ({"purchased_at": "2999-01-01T00:00:00Z"}, "purchased_at: lies in the future"),
        ({"external_id": ""}, "external_id: is required"),
        ({"external_id": "x" * 101}, "external_id: must be at most 100 characters"),
        ({"currency": "USD"}, "currency: only KRW is accepted"),
        ({"amout": 5}, "unknown field(s) amout"),
        ({"items": "sku-1"}, "items: must be a list of items"),
        (
            {"items": [{"item_id": "a", "unit_price": 1.5}]},
            "items[0].unit_price: must be a non-negative integer",
        ),
        (
            {"items": [{"item_id": "a", "unit_price": 1, "quantity": 0}]},
            "items[0].quantity: must be an integer",
        ),
        ({"items": [{"unit_price": 1}]}, "items[0].item_id: is required"),
        (
            {"items": [{"item_id": "a", "unit_price": 1, "colour": "red"}]},
            "items[0]: unknown field(s) colour",
        ),
    ],
)
def test_parse_purchase_bad_field_named(engine, brand_id, changes, error) -> None:
    with engine.connect() as conn:
        brands = BrandDirectory(conn)
    with pytest.raises(BadRow) as refused:
        parse.parse_purchase(purchase(1, brand_id, **changes), brands, parse.Bounds.of())
    assert error in str(refused.value)


@pytest.mark.parametrize("missing", ["customer", "brand", "external_id", "purchased_at", "amount"])
def test_parse_purchase_missing_field_named(engine, brand_id, missing) -> None:
    with engine.connect() as conn:
        brands = BrandDirectory(conn)
    row = purchase(1, brand_id)
    del row[missing]
    with pytest.raises(BadRow, match=f"{missing}: is required"):
        parse.parse_purchase(row, brands, parse.Bounds.of())


def test_parse_purchase_normalises(engine, brand_id) -> None:
    with engine.connect() as conn:
        brands = BrandDirectory(conn)
    row = parse.parse_purchase(
        purchase(1, BRAND_ADDRESS.lower(), customer=to_checksum_address(ALICE), external_id=1001, items=None),
        brands,
        parse.Bounds.of(),
    )
    assert row == (ALICE, brand_id, "1001", datetime(2024, 5, 1, 3, tzinfo=UTC), 59_000, "KRW", [], None)


def test_bulk_json_lines_keeps_good_rows_and_reports_each_bad_line(engine, brand_id) -> None:
    body = ndjson(
        purchase(1, brand_id),
        purchase(2, brand_id, amount=-5),
        "",  # blank lines are skipped, not rejected
        "{not json",
        purchase(3, BRAND_ADDRESS),
        "[1, 2]",
        purchase(4, brand_id, customer="nobody"),
    )
    report = ingest_bulk(engine, "purchases", "ndjson", [body], UNLIMITED)
    assert (report.accepted, report.duplicates, report.rejected_total, report.lines) == (2, 0, 4, 7)
    assert [r["line"] for r in report.rejected] == [2, 4, 6, 7]
    assert report.rejected[0]["error"].startswith("amount: must be a non-negative integer")
    assert report.rejected[1]["error"].startswith("not valid JSON")
    assert report.rejected[2]["error"].startswith("must be a JSON object")
    assert report.rejected[3]["error"].startswith("customer:")
    assert report.status_code == 200
    with Session(engine) as session:
        assert set(session.scalars(select(Purchase.external_id))) == {"o-1", "o-3"}
        assert row_count(engine, PurchaseItem) == 2
        stored = session.scalars(select(Purchase).where(Purchase.external_id == "o-1")).one()
        assert stored.purchased_at.replace(tzinfo=UTC) == datetime(2024, 5, 1, 3, tzinfo=UTC)
        assert session.get(Customer, stored.customer_id).address == to_checksum_address(ALICE)


def test_bulk_same_result_whatever_the_chunking(engine, brand_id) -> None:
    body = ndjson(*(purchase(n, brand_id) for n in range(20)), purchase(20, brand_id, amount=1.5))
    one_byte_chunks = [body[i : i + 1] for i in range(len(body))]
    report = ingest_bulk(engine, "purchases", "ndjson", one_byte_chunks, UNLIMITED)
    assert (report.accepted, report.rejected_total) == (20, 1)
    assert report.rejected == [{"line": 21, "error": report.rejected[0]["error"]}]
    assert row_count(engine, PurchaseItem) == 20


def test_bulk_duplicates_skipped_within_and_across_uploads(engine, brand_id, monkeypatch) -> None:
    monkeypatch.setattr(ingest, "BATCH_ROWS", 3)  # duplicates across batches too
    rows = [purchase(n % 4, brand_id) for n in range(10)]  # o-0..o-3, each several times
    first = ingest_bulk(engine, "purchases", "ndjson", [ndjson(*rows)], UNLIMITED)
    assert (first.accepted, first.duplicates) == (4, 6)
    again = ingest_bulk(engine, "purchases", "ndjson", [ndjson(*rows)], UNLIMITED)
    assert (again.accepted, again.duplicates) == (0, 10)
    assert again.status_code == 200  # a re-sent upload is fine, not an error
    assert row_count(engine, Purchase) == 4
    assert row_count(engine, PurchaseItem) == 4  # items of duplicates are not added again


def test_bulk_resent_row_with_another_body_is_a_conflict_and_the_first_version_stands(engine, brand_id) -> None:
    ingest_bulk(engine, "purchases", "ndjson", [ndjson(purchase(1, brand_id, amount=100))], UNLIMITED)
    report = ingest_bulk(engine, "purchases", "ndjson", [ndjson(purchase(1, brand_id, amount=999))], UNLIMITED)
    assert (report.duplicates, report.conflicts, report.status_code) == (0, 1, 409)
    assert report.rejected[0]["line"] == 1 and "another amount" in report.rejected[0]["error"]
    with Session(engine) as session:
        assert session.scalars(select(Purchase.amount)).all() == [100]


def test_bulk_csv_purchases_with_items_column(engine, brand_id) -> None:
    items = json.dumps([{"item_id": "sku-9", "quantity": 2, "unit_price": 1500}]).replace('"', '""')
    body = (
        "\ufeffcustomer,brand,external_id,purchased_at,amount,currency,items\n"
        f'{ALICE},{brand_id},c-1,2024-05-01T12:00:00Z,3000,KRW,"{items}"\n'
        f"{BOB},{BRAND_ADDRESS},c-2,2024-05-02T12:00:00Z,500,,\n"
        f"{BOB},{brand_id},c-3,2024-05-02T12:00:00Z,5.5,,\n"
        f"{BOB},{brand_id},c-4\n"
        f"{BOB},{brand_id},c-5,2024-05-02T12:00:00Z,70,,not json\n"
    ).encode()
    report = ingest_bulk(engine, "purchases", "csv", [body], UNLIMITED)
    assert report.accepted == 2
    assert [(r["line"], r["error"].split(":")[0]) for r in report.rejected] == [
        (4, "amount"),
        (5, "expected 7 fields as in the header, found 3"),
        (6, "items"),
    ]
    with Session(engine) as session:
        item = session.scalars(select(PurchaseItem)).one()
        assert (item.item_id, item.quantity, item.unit_price, item.category) == ("sku-9", 2, 1500, None)


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("customer,brand,external_id,purchased_at", "lacks column(s) amount"),
        ("customer,brand,external_id,purchased_at,amount,colour", "has unknown column(s) colour"),
        ("customer,brand,external_id,purchased_at,amount,amount", "repeats column(s) amount"),
        ('{"customer": "0x"}', "lacks column(s)"),
    ],
)
def test_bulk_csv_bad_header_refused_whole(engine, brand_id, header, problem) -> None:
    body = f"{header}\n{ALICE},{brand_id},c-1,2024-05-01T12:00:00Z,3000\n".encode()
    with pytest.raises(InvalidInput, match="the CSV header line") as refused:
        ingest_bulk(engine, "purchases", "csv", [body], UNLIMITED)
    assert problem in refused.value.message
    assert row_count(engine, Purchase) == 0


def test_bulk_empty_upload(engine, brand_id) -> None:
    with pytest.raises(InvalidInput, match="empty upload"):
        ingest_bulk(engine, "purchases", "csv", [b""], UNLIMITED)
    report = ingest_bulk(engine, "purchases", "ndjson", [b"\n\n"], UNLIMITED)
    assert report.status_code == 422
    assert report.as_dict()["message"] == "the upload holds no rows"


def test_bulk_all_rows_bad_is_422(engine, brand_id) -> None:
    report = ingest_bulk(engine, "purchases", "ndjson", [b"a,b,c\n1,2,3\n"], UNLIMITED)
    assert report.status_code == 422
    assert report.as_dict()["message"] == "no row was accepted: 2 of 2 lines rejected"


def test_bulk_overlong_line_rejected_and_skipped(engine, brand_id, monkeypatch) -> None:
    monkeypatch.setattr(stream, "MAX_LINE_BYTES", 300)
    long = json.dumps(purchase(2, brand_id, external_id="x" * 90, items=[{"item_id": "y" * 90, "unit_price": 1}] * 3))
    body = ndjson(purchase(1, brand_id), long, purchase(3, brand_id))
    chunks = [body[i : i + 64] for i in range(0, len(body), 64)]
    report = ingest_bulk(engine, "purchases", "ndjson", chunks, UNLIMITED)
    assert report.accepted == 2
    assert report.rejected == [{"line": 2, "error": "line longer than 300 bytes"}]


def test_bulk_invalid_utf8_in_csv_rejected_by_line(engine, brand_id) -> None:
    body = (
        b"customer,brand,external_id,purchased_at,amount\n"
        + f"{ALICE},{brand_id},c-1,2024-05-01T12:00:00Z,3000\n".encode()
        + f"{ALICE},{brand_id},c-\xff,2024-05-01T12:00:00Z,3000\n".encode("latin-1")
    )
    report = ingest_bulk(engine, "purchases", "csv", [body], UNLIMITED)
    assert report.accepted == 1
    assert report.rejected[0]["line"] == 3
    assert "not valid UTF-8" in report.rejected[0]["error"]


def test_bulk_rejected_list_capped_with_total(engine, brand_id, monkeypatch) -> None:
    monkeypatch.setattr(stream, "MAX_REJECTED_LISTED", 5)
    body = ndjson(purchase(0, brand_id), *(purchase(n, brand_id, amount=-n) for n in range(1, 9)))
    report = ingest_bulk(engine, "purchases", "ndjson", [body], UNLIMITED)
    listed = report.as_dict()
    assert (listed["rejected_total"], len(listed["rejected"]), listed["rejected_truncated"]) == (8, 5, True)
    assert [r["line"] for r in listed["rejected"]] == [2, 3, 4, 5, 6]


def test_bulk_over_the_size_limit_stops_and_says_what_stayed(engine, brand_id, monkeypatch) -> None:
    monkeypatch.setattr(ingest, "BATCH_ROWS", 2)
    lines = [ndjson(purchase(n, brand_id)) for n in range(10)]
    limit = sum(len(line) for line in lines[:5])  # the 6th line crosses it
    with pytest.raises(PayloadTooLarge) as refused:
        ingest_bulk(engine, "purchases", "ndjson", lines, limit)
    # The good rows read before the limit was crossed (lines 1-5, in batches of 2) are stored and stay.
    assert (refused.value.detail["accepted"], refused.value.detail["lines"]) == (5, 5)
    assert "sending the file again is safe" in refused.value.message
    assert row_count(engine, Purchase) == 5
    again = ingest_bulk(engine, "purchases", "ndjson", lines, UNLIMITED)
    assert (again.accepted, again.duplicates) == (5, 5)


def test_bulk_events_json_and_csv(engine, brand_id) -> None:
    body = ndjson(
        event(1, brand_id),
        event(2, brand_id, kind="stare"),
        event(3, brand_id, item_id=None, style="minimal"),
        event(4, brand_id, item_id=None),
        event(1, brand_id),
        event(5, brand_id, occurred_at="2024-05-01"),
    )
    report = ingest_bulk(engine, "events", "ndjson", [body], UNLIMITED)
    assert (report.accepted, report.duplicates) == (2, 1)
    assert [(r["line"], r["error"].split(":")[0]) for r in report.rejected] == [
        (2, "kind"),
        (4, "item_id"),
        (6, "occurred_at"),
    ]
    csv_body = (
        "kind,customer,brand,external_id,occurred_at,category\n"
        f"wishlist,{BOB},{brand_id},e-10,2024-05-01T03:00:00+09:00,bags\n"
        f"compare,{BOB},{brand_id},e-11,2024-05-01T03:00:00Z,\n"
    ).encode()
    report = ingest_bulk(engine, "events", "csv", [csv_body], UNLIMITED)
    assert report.accepted == 1
    assert report.rejected[0]["line"] == 3
    with Session(engine) as session:
        wish = session.scalars(select(InterestEvent).where(InterestEvent.external_id == "e-10")).one()
        assert (wish.kind, wish.category, wish.item_id) == ("wishlist", "bags", None)
        assert wish.occurred_at.replace(tzinfo=UTC) == datetime(2024, 4, 30, 18, tzinfo=UTC)


def test_bulk_many_customers_beyond_the_cache(engine, brand_id, monkeypatch) -> None:
    monkeypatch.setattr(store, "CUSTOMER_CACHE_LIMIT", 10)
    monkeypatch.setattr(ingest, "BATCH_ROWS", 7)
    rng = random.Random(3)
    people = [f"0x{rng.getrandbits(160):040x}" for _ in range(25)]
    rows = [purchase(n, brand_id, customer=people[n % 25], items=None) for n in range(60)]
    report = ingest_bulk(engine, "purchases", "ndjson", [ndjson(*rows)], UNLIMITED)
    assert report.accepted == 60
    assert row_count(engine, Customer) == 25
    with Session(engine) as session:
        by_customer = session.execute(
            select(Customer.address, func.count())
            .join(Purchase, Purchase.customer_id == Customer.id)
            .group_by(Customer.address)
        ).all()
    assert sorted(n for _, n in by_customer) == sorted(sum(1 for k in range(60) if k % 25 == i) for i in range(25))


def test_single_purchase_recent_instant_accepted(engine, brand_id) -> None:
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    with Session(engine) as session:
        stored = ingest_purchase(session, purchase(1, brand_id, purchased_at=soon))
    assert stored.created and len(stored.items) == 1 and stored.purchase.amount == 59_000


@pytest.mark.parametrize("count", [0, 1, 3, 7, 2048, 4000, 4096, 5000, 12_345])
def test_pieces_cover_rows_with_few_statement_sizes(count) -> None:
    pieces = list(store._pieces(count, 4000))
    assert [start for start, _ in pieces] == [sum(size for _, size in pieces[:i]) for i in range(len(pieces))]
    assert sum(size for _, size in pieces) == count
    assert all(size in {1 << k for k in range(12)} for _, size in pieces)  # powers of two up to 2048


@pytest.fixture()
def hooked(monkeypatch) -> list[store.NewRows]:
    """Every call of the after-stored hook, with the rows visible to it in its own transaction."""
    calls: list[store.NewRows] = []

    def record(conn, new: store.NewRows) -> store.Followed:
        table = "purchases" if new.resource == "purchases" else "interest_events"
        marks = ", ".join("?" * len(new.ids))
        visible = conn.exec_driver_sql(f"SELECT count(*) FROM {table} WHERE id IN ({marks})", tuple(new.ids))
        assert visible.scalar_one() == len(new.ids)  # called after the insert, before the commit
        calls.append(new)
        return store.Followed([])

    monkeypatch.setattr(store, "after_stored", record)
    return calls


def test_after_stored_gets_each_batchs_new_rows_never_duplicates_or_conflicts(
    engine, brand_id, monkeypatch, hooked
) -> None:
    monkeypatch.setattr(ingest, "BATCH_ROWS", 3)
    with Session(engine) as session:
        ingest_purchase(session, purchase(0, brand_id))
    assert [[r[2] for r in call.rows] for call in hooked] == [["o-0"]]
    hooked.clear()
    rows = [
        purchase(0, brand_id),  # stored before: a duplicate
        purchase(1, brand_id),
        purchase(1, brand_id),  # repeated in the upload
        purchase(2, brand_id, amount=7),
        purchase(0, brand_id, amount=1),  # conflict with the stored row
        purchase(3, brand_id),
        purchase(4, brand_id),
    ]
    report = ingest_bulk(engine, "purchases", "ndjson", [ndjson(*rows)], UNLIMITED)
    assert (report.accepted, report.duplicates, report.conflicts) == (4, 2, 1)
    assert [[r[2] for r in call.rows] for call in hooked] == [["o-1"], ["o-2", "o-3"], ["o-4"]]
    with Session(engine) as session:
        stored = {p.external_id: p for p in session.scalars(select(Purchase))}
    for call in hooked:
        assert call.resource == "purchases"
        assert call.ids == [stored[r[2]].id for r in call.rows]
        assert call.customer_ids == [stored[r[2]].customer_id for r in call.rows]
    hooked.clear()
    again = ingest_bulk(engine, "purchases", "ndjson", [ndjson(*rows)], UNLIMITED)
    assert again.accepted == 0 and hooked == []  # a re-sent upload hands nothing over again


def test_after_stored_gets_new_events_with_their_ids(engine, brand_id, hooked) -> None:
    report = ingest_bulk(engine, "events", "ndjson", [ndjson(event(1, brand_id), event(2, brand_id))], UNLIMITED)
    assert report.accepted == 2
    (call,) = hooked
    with Session(engine) as session:
        stored = {e.external_id: e for e in session.scalars(select(InterestEvent))}
    assert call.resource == "events"
    assert call.ids == [stored[r[2]].id for r in call.rows] and len(set(call.ids)) == 2
    assert call.customer_ids == [stored[r[2]].customer_id for r in call.rows]


def test_after_stored_failing_refuses_the_rows_it_was_given(engine, brand_id, monkeypatch) -> None:
    monkeypatch.setattr(ingest, "BATCH_ROWS", 2)

    def refuse_o_2(conn, new: store.NewRows) -> store.Followed:
        if any(r[2] == "o-2" for r in new.rows):
            raise RuntimeError("coupon service down")
        return store.Followed([])

    monkeypatch.setattr(store, "after_stored", refuse_o_2)
    with Session(engine) as session, pytest.raises(RuntimeError, match="coupon service down"):
        ingest_purchase(session, purchase(2, brand_id))
    assert row_count(engine, Purchase) == 0 and row_count(engine, PurchaseItem) == 0
    with pytest.raises(RuntimeError, match="coupon service down"):
        ingest_bulk(engine, "purchases", "ndjson", [ndjson(*(purchase(n, brand_id) for n in range(6)))], UNLIMITED)
    with Session(engine) as session:
        # The first batch (o-0, o-1) was committed before; the batch with o-2 and all after it are not stored.
        assert sorted(session.scalars(select(Purchase.external_id))) == ["o-0", "o-1"]
