"""The reader's own log decoder gives exactly what web3's `process_log` gives, for every event of the whole
scenario (grants, narrowing, accesses with skipped customers, budgets, an epoch, claims, transfers)."""

from __future__ import annotations

import pytest
from eth_utils import event_abi_to_log_topic

from app.chain.compiler import load_abis
from app.chain.events import EventDecoder
from tests.factories import contracts_of, run_scenario

pytestmark = pytest.mark.chain


def test_every_event_decodes_as_web3_decodes_it(w3, settings, operator, relayer, dev_accounts) -> None:
    chain = contracts_of(w3, settings)
    run_scenario(w3, chain, operator, relayer, dev_accounts)
    abis = load_abis()
    bound = {
        chain.deployment.token: ("CashbackToken", chain.token),
        chain.deployment.registry: ("ConsentRegistry", chain.registry),
        chain.deployment.distributor: ("RewardDistributor", chain.distributor),
    }
    seen: set[str] = set()
    for address, (name, contract) in bound.items():
        events = {
            bytes(event_abi_to_log_topic(item)): item  # type: ignore[arg-type]
            for item in abis[name]
            if item["type"] == "event" and not item.get("anonymous")
        }
        for entry in w3.eth.get_logs({"fromBlock": chain.deployment.block, "toBlock": "latest", "address": address}):
            item = events[bytes(entry["topics"][0])]
            expected = dict(getattr(contract.events, item["name"])().process_log(entry)["args"])
            got = EventDecoder(item).args(list(entry["topics"]), entry["data"])
            assert got == {k: list(v) if isinstance(v, tuple) else v for k, v in expected.items()}, item["name"]
            assert {k: type(v) for k, v in got.items()} == {
                k: list if isinstance(v, tuple | list) else type(v) for k, v in expected.items()
            }, item["name"]
            seen.add(item["name"])
    assert {"ConsentGranted", "ConsentNarrowed", "ConsentRevoked", "AccessRecorded", "AccessSkipped",
            "BudgetFunded", "EpochPublished", "EpochFinalized", "Claimed", "Transfer"} <= seen  # fmt: skip
