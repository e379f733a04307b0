"""The indexer: follows the contracts' events (behind `confirmations`) into the mirror tables; rebuildable.

How it works. The cursor (table indexer_cursor) names the chain (id, deployment block hash), the contracts and
the last block whose events are fully applied, with that block's hash. Each run reads logs of the
three contracts in chunks of blocks (eth_getLogs), decodes them with the ABIs and, per chunk, in ONE
database transaction: moves the cursor forward (compare-and-set, so two indexers never apply the same
chunk twice), inserts the event rows and updates the derived current-state rows (consents, brands).
A crash therefore leaves either the whole chunk with its cursor or neither. `rebuild()` deletes every
mirror row and the cursor and indexes again from the deployment block, producing identical rows.

Reading and decoding the logs is app/chain/events.py's (the audit reads through it too); writing the
rows is app/chain/mirror.py's.

Safety. A different chain behind the same RPC URL (another chain id, another block at the height
where the contracts were deployed, or other contract addresses) stops the indexer with ChainMismatch
instead of mixing two chains. The chain's identity is the hash of the deployment block rather than
the genesis hash, because anvil regenerates its genesis block when it reloads a dumped state while
later blocks keep their hashes (see app/chain/deployment.py). Reorganisations: the
indexer stays `confirmations` blocks behind the head and checks, before every chunk, that the block
it stopped at still has the hash it recorded; if not (a reorg deeper than `confirmations`) it stops
with ChainReorganized and asks for `ledger index --rebuild`. It does not unwind rows by itself:
anvil never reorganises, and on a real network `confirmations` is chosen above the reorg depth.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel
from web3 import Web3

from app import db
from app.chain.deployment import Deployment, block_hash, genesis_hash
from app.chain.events import (
    ChainEvent,
    ChainReorganized,
    EventReader,
    debits_hash,
    decode_claim,
    decode_debits,
    decode_epoch,
    with_published_debits,
)
from app.chain.gateway import ChainGateway
from app.chain.mirror import HANDLERS, Applier
from app.clock import utcnow
from app.config import Settings
from app.errors import ChainMismatch, ChainUnavailable
from app.models.mirror import (
    MIRROR_TABLES,
    IndexerCursor,
)

log = logging.getLogger(__name__)

CHUNK_BLOCKS = 2_000
# Re-exported for the audit, which reads these until it moves onto `events.read_events`.
__all__ = [
    "ChainReorganized",
    "IndexReport",
    "Indexer",
    "IndexerStatus",
    "catch_up",
    "debits_hash",
    "decode_claim",
    "decode_debits",
    "decode_epoch",
    "mirror_dump",
    "read_status",
    "refresh_mirror",
    "with_published_debits",
]


class _CursorMoved(Exception):
    """Another indexer advanced the cursor first; re-read it and go on."""


@dataclass(frozen=True)
class IndexReport:
    """What one catch-up did."""

    from_block: int  # first block read (cursor + 1)
    to_block: int  # the cursor afterwards
    chunks: int
    events: int
    head: int


@dataclass(frozen=True)
class IndexerStatus:
    """Where the mirror stands against the chain."""

    chain_id: int | None
    genesis_hash: str | None
    deployment_block: int | None
    indexed_block: int | None
    indexed_block_hash: str | None
    updated_at: datetime | None
    chain_head: int | None
    confirmations: int
    lag: int | None  # chain head minus indexed block (None when either is unknown)


# -- the indexer -----------------------------------------------------------------------------------

# One indexer at a time per database inside a process; across processes the cursor's
# compare-and-set keeps chunks from being applied twice.
_locks: dict[str, threading.RLock] = {}
_locks_guard = threading.Lock()


def _lock_for(engine: Engine) -> threading.RLock:
    key = engine.url.render_as_string(hide_password=False)
    with _locks_guard:
        return _locks.setdefault(key, threading.RLock())


class Indexer:
    """Catches the mirror tables up with the chain, follows it, or rebuilds them from scratch."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        gateway: ChainGateway | None = None,
        chunk_blocks: int = CHUNK_BLOCKS,
    ):
        if chunk_blocks < 1:
            raise ValueError("chunk_blocks must be at least 1")
        self.settings = settings
        self._own_engine = engine is None
        self.engine = engine or db.make_engine(settings.sqlalchemy_url)
        self.gateway = gateway or ChainGateway(settings)
        self.chunk_blocks = chunk_blocks
        self._lock = _lock_for(self.engine)
        self._reader = EventReader(self.gateway, chunk_blocks=chunk_blocks)

    def close(self) -> None:
        if self._own_engine:
            self.engine.dispose()

    # -- public -----------------------------------------------------------------------------

    def catch_up(self) -> IndexReport:
        """Applies every confirmed block after the cursor; returns what it did."""
        with self._lock:
            return self.gateway.guard(self._catch_up)

    def rebuild(self) -> IndexReport:
        """Deletes every mirror row and the cursor, then indexes again from the deployment block."""
        with self._lock:
            with db.session_scope(self.engine) as session:
                for model in MIRROR_TABLES:
                    session.execute(delete(model))
                session.execute(delete(IndexerCursor))
            log.info("mirror tables emptied; re-indexing from the deployment block")
            return self.catch_up()

    def follow(
        self,
        stop: threading.Event | None = None,
        *,
        poll_seconds: float = 1.0,
        on_report: Callable[[IndexReport], None] | None = None,
    ) -> None:
        """Catches up every `poll_seconds` until `stop` is set. Waits out an unreachable chain;
        stops with ChainMismatch / ChainReorganized, which need the operator."""
        stop = stop or threading.Event()
        while not stop.is_set():
            try:
                report = self.catch_up()
            except ChainUnavailable as exc:
                log.warning("indexer waiting for the chain: %s", exc.message)
            else:
                if on_report is not None and report.chunks:
                    on_report(report)
            stop.wait(poll_seconds)

    def status(self) -> IndexerStatus:
        with Session(self.engine) as session:
            return read_status(session, self.gateway)

    # -- one catch-up -----------------------------------------------------------------------

    def _catch_up(self) -> IndexReport:
        w3 = self.gateway.w3
        chain_id = int(w3.eth.chain_id)
        cursor = self._read_cursor()
        if cursor is not None:
            _check_same_chain(w3, cursor, chain_id, self.settings.rpc_url)
        deployment = self.gateway.deployment
        if cursor is None:
            cursor = self._start_cursor(deployment, chain_id)
        _check_same_contracts(cursor, deployment)

        head = int(w3.eth.block_number)
        safe_head = head - max(self.settings.confirmations, 0)
        first = cursor.last_block + 1
        last, last_hash = cursor.last_block, cursor.last_block_hash
        chunks = events = 0
        while last < safe_head:
            to = min(last + self.chunk_blocks, safe_head)
            decoded, to_hash = self._read_chunk(deployment, last, last_hash, to)
            try:
                with db.session_scope(self.engine) as session:
                    _advance_cursor(session, expect=last, to=to, to_hash=to_hash)
                    Applier(session).apply_all(decoded)
            except _CursorMoved:
                cursor = self._read_cursor()
                if cursor is None:  # rebuilt under us by another process: start again next run
                    break
                last, last_hash = cursor.last_block, cursor.last_block_hash
                continue
            log.debug("indexed blocks %d..%d: %d events", last + 1, to, len(decoded))
            last, last_hash = to, to_hash
            chunks += 1
            events += len(decoded)
        return IndexReport(from_block=first, to_block=last, chunks=chunks, events=events, head=head)

    def _read_chunk(self, deployment: Deployment, last: int, last_hash: str, to: int) -> tuple[list[ChainEvent], str]:
        """Decoded events of blocks last+1..to in chain order, and the hash of block `to`."""
        w3 = self.gateway.w3
        self._reader.forget_headers()  # a header read before may belong to a block reorganised since
        # The block we stopped at must still be on the chain, else what we applied was reorganised away.
        tip = _block_hash(w3, last)
        # Block 0 is exempt: anvil regenerates its genesis on reloading a state file.
        if last > 0 and tip != last_hash:
            raise ChainReorganized(
                f"block {last} now has hash {tip}, but the mirror applied {last_hash}: the chain was "
                f"reorganised deeper than CONFIRMATIONS={self.settings.confirmations}. "
                "Run `ledger index --rebuild` (and consider more confirmations)."
            )
        events = self._reader.read(last + 1, to, names=HANDLERS.keys())
        return events, Web3.to_hex(self._reader.header(to)["hash"]).lower()

    # -- the cursor -------------------------------------------------------------------------

    def _read_cursor(self) -> IndexerCursor | None:
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(IndexerCursor, 1)

    def _start_cursor(self, deployment: Deployment, chain_id: int) -> IndexerCursor:
        w3 = self.gateway.w3
        start = deployment.block - 1
        cursor = IndexerCursor(
            id=1,
            chain_id=chain_id,
            genesis_hash=genesis_hash(w3).lower(),
            token_address=Web3.to_checksum_address(deployment.token),
            registry_address=Web3.to_checksum_address(deployment.registry),
            distributor_address=Web3.to_checksum_address(deployment.distributor),
            deployment_block=deployment.block,
            deployment_block_hash=_block_hash(w3, deployment.block),
            last_block=start,
            last_block_hash=_block_hash(w3, start),
            updated_at=utcnow(),
        )
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                session.add(cursor)
                session.commit()
        except IntegrityError:  # another indexer created it first
            existing = self._read_cursor()
            assert existing is not None
            return existing
        return cursor


def _block_hash(w3: Web3, number: int) -> str:
    found = block_hash(w3, number)
    return found.lower() if found else "(no such block)"


def _check_same_chain(w3: Web3, cursor: IndexerCursor, chain_id: int, rpc_url: str) -> None:
    served = _block_hash(w3, cursor.deployment_block)
    if cursor.chain_id == chain_id and cursor.deployment_block_hash == served:
        return
    served_genesis = genesis_hash(w3).lower()
    raise ChainMismatch(
        f"the mirror indexes chain {cursor.chain_id} (genesis {cursor.genesis_hash}) whose block "
        f"{cursor.deployment_block} (the contracts' deployment) has hash {cursor.deployment_block_hash}; "
        f"but {rpc_url} serves chain {chain_id} (genesis {served_genesis}) where that block is {served}. "
        "Point RPC_URL at the indexed chain, or run `ledger index --rebuild` against the right chain, "
        "or use a fresh DATA_DIR.",
        indexed_chain_id=cursor.chain_id,
        indexed_genesis=cursor.genesis_hash,
        indexed_deployment_block_hash=cursor.deployment_block_hash,
        served_chain_id=chain_id,
        served_genesis=served_genesis,
        served_deployment_block_hash=served,
    )


def _check_same_contracts(cursor: IndexerCursor, deployment: Deployment) -> None:
    indexed = (cursor.token_address, cursor.registry_address, cursor.distributor_address)
    current = tuple(
        Web3.to_checksum_address(a) for a in (deployment.token, deployment.registry, deployment.distributor)
    )
    if indexed != current:
        raise ChainMismatch(
            f"the mirror indexes contracts {', '.join(indexed)} but the deployment now names "
            f"{', '.join(current)}. Run `ledger index --rebuild` to index the new deployment.",
        )


def _advance_cursor(session: Session, *, expect: int, to: int, to_hash: str) -> None:
    # First statement of the chunk's transaction: takes the write lock (SQLite) / row lock
    # (PostgreSQL), so a concurrent indexer waits and then finds the cursor moved.
    moved = session.execute(
        update(IndexerCursor)
        .where(IndexerCursor.id == 1, IndexerCursor.last_block == expect)  # type: ignore[arg-type]
        .values(last_block=to, last_block_hash=to_hash, updated_at=utcnow())
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise _CursorMoved()


def read_status(session: Session, gateway: ChainGateway) -> IndexerStatus:
    """The cursor and the chain head (None when the chain does not answer)."""
    cursor = session.get(IndexerCursor, 1)
    try:
        head: int | None = int(gateway.guard(lambda: gateway.w3.eth.block_number))
    except ChainUnavailable:
        head = None
    indexed = cursor.last_block if cursor else None
    return IndexerStatus(
        chain_id=cursor.chain_id if cursor else None,
        genesis_hash=cursor.genesis_hash if cursor else None,
        deployment_block=cursor.deployment_block if cursor else None,
        indexed_block=indexed,
        indexed_block_hash=cursor.last_block_hash if cursor else None,
        updated_at=cursor.updated_at if cursor else None,
        chain_head=head,
        confirmations=gateway.settings.confirmations,
        lag=None if head is None or indexed is None else max(head - indexed, 0),
    )


def catch_up(settings: Settings, *, engine: Engine | None = None, gateway: ChainGateway | None = None) -> IndexReport:
    """Brings the mirror up to the confirmed head once (for jobs, tests and the API after a send)."""
    indexer = Indexer(settings, engine=engine, gateway=gateway)
    try:
        return indexer.catch_up()
    finally:
        indexer.close()


def mirror_dump(session: Session, models: Iterable[type[SQLModel]] = MIRROR_TABLES) -> dict[str, list[dict]]:
    """Every mirror row as plain dicts in primary-key order (for comparing a rebuild with the original)."""
    dump: dict[str, list[dict]] = {}
    for model in models:
        table = model.__table__  # type: ignore[attr-defined]
        rows = session.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
        dump[table.name] = [dict(row) for row in rows]
    return dump


def refresh_mirror(settings: Settings, *, engine: Engine, gateway: ChainGateway) -> bool:
    """Catches the mirror up before a read that should include the latest blocks; False when the chain
    does not answer (the read then serves what is indexed, which the indexer thread catches up later)."""
    try:
        catch_up(settings, engine=engine, gateway=gateway)
    except ChainUnavailable:
        return False
    return True
