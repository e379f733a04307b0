"""The audit's only reading of the chain: events, block times, calls at one block and a scratch re-index.

Everything the checks know about the chain comes through `ChainReader` (and the event decoders
re-exported here), so swapping the reading onto another event reader touches this module only.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import event_abi_to_log_topic
from sqlmodel import Session
from web3 import Web3

from app import db
from app.chain.campaigns import CampaignCommitted, CampaignRegistryClient, CampaignRevealed
from app.chain.deployment import Deployment
from app.chain.gateway import ChainGateway
from app.chain.indexer import (
    Indexer,
    decode_claim,
    decode_debits,
    decode_epoch,
    mirror_dump,
    with_published_debits,
)
from app.config import Settings

__all__ = [
    "CampaignCommitted",
    "CampaignRevealed",
    "ChainEvent",
    "ChainGateway",
    "ChainReader",
    "decode_claim",
    "decode_debits",
    "decode_epoch",
    "mirror_dump",
]

LOG_CHUNK_BLOCKS = 10_000
_CONTRACTS = ("CashbackToken", "ConsentRegistry", "RewardDistributor")


@dataclass(frozen=True)
class ChainEvent:
    """A decoded event of one of the programme's contracts, where the chain put it."""

    contract: str
    name: str
    args: dict[str, Any]
    block: int
    log_index: int
    tx_hash: str


class ChainReader:
    """Reads the contracts' events from the deployment block with eth_getLogs, and state at one block."""

    def __init__(self, gateway: ChainGateway):
        self.gateway = gateway
        self.w3 = gateway.w3
        self.deployment: Deployment = gateway.deployment
        self._times: dict[int, int] = {}

    @property
    def chain_id(self) -> int:
        return int(self.gateway.chain_id)

    def latest(self) -> int:
        return int(self.gateway.guard(lambda: self.w3.eth.block_number))

    def head(self) -> int:
        """The audited block: the latest one CONFIRMATIONS deep (never before the deployment)."""
        return max(self.latest() - max(self.gateway.settings.confirmations, 0), self.deployment.block)

    def events(self, to_block: int) -> list[ChainEvent]:
        decoders: dict[tuple[str, bytes], tuple[str, Any]] = {}
        for name in _CONTRACTS:
            bound = self.gateway.contract(name)  # type: ignore[arg-type]
            for item in bound.abi:
                if item.get("type") == "event" and not item.get("anonymous") and "name" in item:
                    topic = bytes(event_abi_to_log_topic(item))  # type: ignore[arg-type]
                    decoders[(bound.address.lower(), topic)] = (
                        name,
                        getattr(bound.events, str(item["name"]))(),  # type: ignore[typeddict-item]
                    )
        addresses = [
            Web3.to_checksum_address(a)
            for a in (self.deployment.token, self.deployment.registry, self.deployment.distributor)
        ]
        logs: list[Any] = []
        for start in range(self.deployment.block, to_block + 1, LOG_CHUNK_BLOCKS):
            end = min(start + LOG_CHUNK_BLOCKS - 1, to_block)
            query = {"fromBlock": start, "toBlock": end, "address": addresses}
            logs.extend(self.gateway.guard(lambda q=query: self.w3.eth.get_logs(q)))  # type: ignore[misc]
        out = []
        for entry in sorted(logs, key=lambda e: (int(e["blockNumber"]), int(e["logIndex"]))):
            topics = entry["topics"]
            found = decoders.get((str(entry["address"]).lower(), bytes(topics[0]))) if topics else None
            if found is None:
                continue
            contract, event = found
            processed = event.process_log(entry)
            out.append(
                ChainEvent(
                    contract=contract,
                    name=str(processed["event"]),
                    args=with_published_debits(
                        self.w3,
                        self.gateway.distributor,
                        str(processed["event"]),
                        dict(processed["args"]),
                        entry["transactionHash"],
                    ),
                    block=int(entry["blockNumber"]),
                    log_index=int(entry["logIndex"]),
                    tx_hash=Web3.to_hex(entry["transactionHash"]).lower(),
                )
            )
        return out

    def block_time(self, number: int) -> int:
        if number not in self._times:
            block = self.gateway.guard(lambda: self.w3.eth.get_block(number))
            self._times[number] = int(block["timestamp"])
        return self._times[number]

    # State at one block, one method per figure the checks compare (addresses in any case).

    def campaign_events(self, to_block: int) -> list[CampaignCommitted | CampaignRevealed]:
        """CampaignRegistry's commitments and reveals up to `to_block` (none on a deployment without it)."""
        if not self.deployment.campaigns:
            return []
        return CampaignRegistryClient(self.gateway).events(self.deployment.block, to_block)

    def vault(self, *, block: int) -> str:
        return str(self._call("RewardDistributor", "vault", block=block)).lower()

    def budget_of(self, brand: str, *, block: int) -> int:
        return int(self._call("RewardDistributor", "budgetOf", Web3.to_checksum_address(brand), block=block))

    def reserved_of(self, brand: str, *, block: int) -> int:
        return int(self._call("RewardDistributor", "reservedOf", Web3.to_checksum_address(brand), block=block))

    def claimed(self, account: str, *, block: int) -> int:
        return int(self._call("RewardDistributor", "claimed", Web3.to_checksum_address(account), block=block))

    def total_allocated(self, *, block: int) -> int:
        return int(self._call("RewardDistributor", "totalAllocated", block=block))

    def total_funded(self, *, block: int) -> int:
        return int(self._call("RewardDistributor", "totalFunded", block=block))

    def balance_of(self, holder: str, *, block: int) -> int:
        return int(self._call("CashbackToken", "balanceOf", Web3.to_checksum_address(holder), block=block))

    def total_supply(self, *, block: int) -> int:
        return int(self._call("CashbackToken", "totalSupply", block=block))

    def _call(self, contract: str, function: str, *args: Any, block: int) -> Any:
        fn = getattr(self.gateway.contract(contract).functions, function)(*args)  # type: ignore[arg-type]
        return self.gateway.call(fn, block=block)

    def reindex(self, settings: Settings, to_block: int) -> dict[str, list[dict]]:
        """The mirror tables a fresh index of the chain gives, in a scratch SQLite database, up to `to_block`."""
        with tempfile.TemporaryDirectory(prefix="ledger-audit-") as scratch_dir:
            for _attempt in range(3):
                scratch = settings.model_copy(
                    update={
                        "database_url": f"sqlite:///{Path(scratch_dir) / f'mirror-{_attempt}.db'}",
                        "confirmations": max(self.latest() - to_block, 0),
                    }
                )
                db.migrate(scratch)
                engine = db.make_engine(scratch.sqlalchemy_url)
                try:
                    indexer = Indexer(scratch, engine=engine, gateway=ChainGateway(scratch))
                    report = indexer.catch_up()
                    if report.to_block == to_block:  # no block arrived meanwhile
                        with Session(engine) as session:
                            return mirror_dump(session)
                finally:
                    engine.dispose()
        raise RuntimeError(f"the chain kept moving while re-indexing up to block {to_block}")


def connect(settings: Settings) -> ChainGateway:
    """A gateway to the configured chain, for an audit run without one of its own."""
    return ChainGateway(settings)
