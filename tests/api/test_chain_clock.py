"""Signatures are dated by the chain's clock: a node running ahead of this machine still takes fresh consents."""

from __future__ import annotations

import pytest

from tests import factories

pytestmark = pytest.mark.chain


def test_a_grant_relays_while_the_chains_clock_runs_ahead_of_ours(
    client, w3, customer_headers, brand_and_headers, dev_accounts
) -> None:
    # anvil after evm_increaseTime (as the challenge-window tests do), or a node whose clock is ahead.
    w3.provider.make_request("evm_increaseTime", [300])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    brand, _ = brand_and_headers
    _, body = factories.signed_grant(client, customer_headers, dev_accounts[0], brand["id"])
    relayed = client.post("/consents", json=body, headers=customer_headers)
    assert relayed.status_code == 200, relayed.text
    assert relayed.json()["consent"]["in_force"] is True
