"""The operator voids a purchase through the API, with a reason; nobody else may, and twice is a conflict."""

from __future__ import annotations

from tests import factories

ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_operator_voids_a_purchase_once_with_a_reason(client, admin_headers, brand_and_headers) -> None:
    brand, brand_headers = brand_and_headers
    stored = client.post(
        "/ingest/purchases", json=factories.purchase_row(1, brand["id"], ALICE), headers=admin_headers
    ).json()
    url = f"/ingest/purchases/{stored['id']}/void"
    assert client.post(url, json={"reason": "till error"}, headers=brand_headers).status_code == 403
    assert client.post(url, json={"reason": "x"}, headers=admin_headers).status_code == 422
    bad = client.post(url, json={"reason": "till\u0007 error"}, headers=admin_headers)
    assert bad.status_code == 422 and "control character U+0007" in bad.json()["message"]
    voided = client.post(url, json={"reason": "till error"}, headers=admin_headers)
    assert voided.status_code == 201, voided.text
    body = voided.json()
    assert (body["purchase_id"], body["reason"], body["voided_by"]) == (stored["id"], "till error", "api:admin")
    assert body["voided_at"].endswith("Z") or body["voided_at"].endswith("+00:00")
    again = client.post(url, json={"reason": "till error"}, headers=admin_headers)
    assert again.status_code == 409 and "voided already" in again.json()["message"]
    assert (
        client.post("/ingest/purchases/999999/void", json={"reason": "gone"}, headers=admin_headers).status_code == 404
    )
