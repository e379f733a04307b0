"""The audit's only reading of the chain: events, block times, calls at one block and a scratch re-index.

Everything the checks know about the chain comes through `ChainReader` (and the event decoders
re-exported here), so swapping the reading onto another event reader touches this module only.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from sqlmodel import Session

from app import db
from app.chain.addresses import checksum, keccak256
from app.chain.campaigns import CampaignCommitted, CampaignRegistryClient, CampaignRevealed
from app.chain.events import ChainEvent, decode_claim, decode_debits, decode_epoch, read_events
from app.chain.gateway import ChainGateway
from app.chain.indexer import Indexer, mirror_dump
from app.config import Settings

__all__ = [
    "CampaignCommitted",
    "CampaignRevealed",
    "ChainEvent",
    "ChainGateway",
    "ChainReader",
    "checksum",
    "decode_claim",
    "decode_debits",
    "decode_epoch",
    "keccak256",
    "mirror_dump",
]


class ChainReader:
    """The contracts' events from the deployment block (the indexer's own reader), and state at one block."""

    def __init__(self, gateway: ChainGateway):
        self.gateway = gateway
        self.deployment = gateway.deployment
        self._times: dict[int, int] = {}

    @property
    def chain_id(self) -> int:
        return int(self.gateway.chain_id)

    def latest(self) -> int:
        return self.gateway.head

    def head(self) -> int:
        """The audited block: the latest one CONFIRMATIONS deep (never before the deployment)."""
        return max(self.latest() - max(self.gateway.settings.confirmations, 0), self.deployment.block)

    def events(self, to_block: int) -> list[ChainEvent]:
        events = read_events(self.gateway, to_block=to_block)
        for e in events:
            self._times.setdefault(e.block, e.timestamp)
        return events

    def block_time(self, number: int) -> int:
        if number not in self._times:
            self._times[number] = self.gateway.block(number).timestamp
        return self._times[number]

    # State at one block, one method per figure the checks compare (addresses in any case).

    def campaign_events(self, to_block: int) -> list[CampaignCommitted | CampaignRevealed]:
        """CampaignRegistry's commitments and reveals up to `to_block` (none on a deployment without it)."""
        if not self.deployment.campaigns:
            return []
        return CampaignRegistryClient(self.gateway).events(self.deployment.block, to_block)

    def vault(self, *, block: int) -> str:
        return self.gateway.distributor.vault(block=block).lower()

    def budget_of(self, brand: str, *, block: int) -> int:
        return self.gateway.distributor.budget_of(brand, block=block)

    def reserved_of(self, brand: str, *, block: int) -> int:
        return self.gateway.distributor.reserved_of(brand, block=block)

    def claimed(self, account: str, *, block: int) -> int:
        return self.gateway.distributor.claimed(account, block=block)

    def total_allocated(self, *, block: int) -> int:
        return self.gateway.distributor.total_allocated(block=block)

    def total_funded(self, *, block: int) -> int:
        return self.gateway.distributor.total_funded(block=block)

    def balance_of(self, holder: str, *, block: int) -> int:
        return self.gateway.token.balance_of(holder, block=block)

    def total_supply(self, *, block: int) -> int:
        return self.gateway.token.total_supply(block=block)

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
