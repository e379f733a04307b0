"""Signatures are dated by the chain's clock: a node running ahead of this machine still takes fresh consents."""

from __future__ import annotations

import pytest

from app.chain.eip712 import sign_typed_data

pytestmark = pytest.mark.chain


def test_a_grant_relays_while_the_chains_clock_runs_ahead_of_ours(
    client, w3, customer_headers, brand_and_headers, dev_accounts
) -> None:
    # anvil after evm_increaseTime (as the challenge-window tests do), or a node whose clock is ahead.
    w3.provider.make_request("evm_increaseTime", [300])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    brand, _ = brand_and_headers
    typed = client.post(
        "/consents/typed-data",
        json={"action": "grant", "brand": brand["id"], "purpose": "marketing", "categories": ["cart"], "no_end": True},
        headers=customer_headers,
    )
    assert typed.status_code == 200, typed.text
    signature = "0x" + sign_typed_data(dev_accounts[0].key, typed.json()["typed_data"]).hex()
    relayed = client.post(
        "/consents", json={"request_id": typed.json()["request_id"], "signature": signature}, headers=customer_headers
    )
    assert relayed.status_code == 200, relayed.text
    assert relayed.json()["consent"]["in_force"] is True
