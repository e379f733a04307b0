"""Refund ingestion: one refund or a bulk upload, idempotent by the refund's external id, never more than is left."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from app.models.purchases import PurchaseRefund
from tests import factories

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
NDJSON = {"Content-Type": "application/x-ndjson"}
CSV = {"Content-Type": "text/csv"}


@pytest.fixture()
def brand_id(client, admin_headers, brand_and_headers) -> int:
    brand = brand_and_headers[0]["id"]
    stored = client.post("/ingest/purchases", json=factories.purchase_row(1, brand, ALICE), headers=admin_headers)
    assert stored.status_code == 201, stored.text
    return brand


def refund(n: int, brand: int, /, **changes) -> dict:
    return factories.refund_row(n, brand, "o-1", **changes)


def refunds(client) -> list[tuple[str, int]]:
    with Session(client.app.state.engine) as session:
        rows = session.scalars(select(PurchaseRefund).order_by(PurchaseRefund.id)).all()  # type: ignore[arg-type]
        return [(r.external_id, r.amount) for r in rows]


def test_partial_refund_then_idempotent(client, admin_headers, brand_id) -> None:
    created = client.post("/ingest/refunds", json=refund(1, brand_id), headers=admin_headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["customer"], body["brand_id"], body["purchase_external_id"], body["amount"]) == (
        ALICE,
        brand_id,
        "o-1",
        "20000",
    )
    assert body["refunded_at"] == "2024-05-03T01:00:00Z"
    assert body["duplicate"] is False
    again = client.post("/ingest/refunds", json=refund(1, brand_id), headers=admin_headers)
    assert again.status_code == 200
    assert (again.json()["id"], again.json()["duplicate"]) == (body["id"], True)
    assert refunds(client) == [("r-1", 20_000)]


def test_same_refund_id_with_another_body_is_409(client, admin_headers, brand_id) -> None:
    client.post("/ingest/refunds", json=refund(1, brand_id), headers=admin_headers)
    response = client.post("/ingest/refunds", json=refund(1, brand_id, amount=1), headers=admin_headers)
    assert response.status_code == 409
    assert "amount" in response.json()["message"]
    assert refunds(client) == [("r-1", 20_000)]


def test_full_refund_in_two_parts_then_nothing_left(client, admin_headers, brand_id) -> None:
    assert client.post("/ingest/refunds", json=refund(1, brand_id), headers=admin_headers).status_code == 201
    rest = client.post("/ingest/refunds", json=refund(2, brand_id, amount=39_000), headers=admin_headers)
    assert rest.status_code == 201, rest.text
    over = client.post("/ingest/refunds", json=refund(3, brand_id, amount=1), headers=admin_headers)
    assert over.status_code == 422
    assert "1 won is more than the 0 won left of purchase 'o-1' (59000 won, 59000 refunded)" in over.json()["message"]
    assert refunds(client) == [("r-1", 20_000), ("r-2", 39_000)]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount": 59_001}, "59001 won is more than the 59000 won left"),
        ({"purchase_external_id": "o-404"}, "has no purchase 'o-404'"),
        ({"refunded_at": "2024-04-30T00:00:00Z"}, "refunded_at: lies before the purchase"),
        ({"amount": 0}, "amount: a refund gives back at least 1 won"),
        ({"amount": -5}, "amount: must be a non-negative"),
        ({"refunded_at": "2024-05-03T10:00:00"}, "refunded_at: needs a time zone"),
        ({"purchase_external_id": None}, "purchase_external_id: is required"),
        ({"customer": ALICE}, "unknown field(s) customer"),
        ({"brand": 999}, "brand: no brand with id 999"),
    ],
)
def test_bad_refund_is_422_and_writes_nothing(client, admin_headers, brand_id, changes, message) -> None:
    response = client.post("/ingest/refunds", json=refund(1, brand_id, **changes), headers=admin_headers)
    assert response.status_code == 422, response.text
    assert message in response.json()["message"]
    assert refunds(client) == []


def test_bulk_refunds_count_earlier_lines_against_what_is_left(client, admin_headers, brand_id) -> None:
    body = factories.ndjson(
        refund(1, brand_id, amount=50_000),
        refund(2, brand_id, amount=10_000),  # 9,000 left after line 1
        refund(3, brand_id, purchase_external_id="o-404"),
        refund(4, brand_id, amount=9_000),
        "not json",
    )
    response = client.post("/ingest/refunds/bulk", content=body, headers=admin_headers | NDJSON)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["duplicates"], report["conflicts"], report["rejected_total"]) == (2, 0, 0, 3)
    assert [r["line"] for r in report["rejected"]] == [2, 3, 5]
    assert "10000 won is more than the 9000 won left" in report["rejected"][0]["error"]
    assert refunds(client) == [("r-1", 50_000), ("r-4", 9_000)]
    again = client.post("/ingest/refunds/bulk", content=body, headers=admin_headers | NDJSON).json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    assert refunds(client) == [("r-1", 50_000), ("r-4", 9_000)]


def test_bulk_refunds_csv(client, admin_headers, brand_id) -> None:
    body = (
        "brand,external_id,purchase_external_id,refunded_at,amount\n"
        f"{brand_id},r-1,o-1,2024-05-03T10:00:00+09:00,1000\n"
        f"{brand_id},r-2,o-1,2024-05-03T10:00:00+09:00,99999999\n"
    ).encode()
    report = client.post("/ingest/refunds/bulk", content=body, headers=admin_headers | CSV).json()
    assert (report["accepted"], report["rejected_total"]) == (1, 1)
    assert refunds(client) == [("r-1", 1_000)]


def test_bulk_refunds_all_refused_is_422(client, admin_headers, brand_id) -> None:
    body = factories.ndjson(refund(1, brand_id, purchase_external_id="o-404"))
    response = client.post("/ingest/refunds/bulk", content=body, headers=admin_headers | NDJSON)
    assert response.status_code == 422
    with Session(client.app.state.engine) as session:
        assert session.scalar(select(func.count()).select_from(PurchaseRefund)) == 0
