"""The pages' transaction link: an unknown hash is 404 while the chain is up, not 503 "chain unavailable"."""

from __future__ import annotations


def test_unknown_transaction_is_404_with_the_chain_up(client) -> None:
    response = client.get("/pages/tx/0x" + "ab" * 32)
    assert response.status_code == 404, response.text
    assert "no transaction" in response.json()["message"]


def test_a_known_transaction_is_shown(client, w3, operator) -> None:
    sent = w3.eth.send_transaction({"from": operator.address, "to": operator.address, "value": 1})
    w3.eth.wait_for_transaction_receipt(sent)
    shown = client.get(f"/pages/tx/{sent.to_0x_hex()}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["status"] == "succeeded"


def test_a_hash_that_is_not_hex_is_422(client) -> None:
    response = client.get("/pages/tx/0x" + "zz" * 32)
    assert response.status_code == 422
