"""The indexer: follows the contracts' events (behind `confirmations`) into the mirror tables; rebuildable.

How it works. The cursor (table indexer_cursor) names the chain (id, deployment block hash), the contracts and
the last block whose events are fully applied, with that block's hash. Each run reads logs of the
three contracts in chunks of blocks (eth_getLogs), decodes them with the ABIs and, per chunk, in ONE
database transaction: moves the cursor forward (compare-and-set, so two indexers never apply the same
chunk twice), inserts the event rows and updates the derived current-state rows (consents, brands).
A crash therefore leaves either the whole chunk with its cursor or neither. `rebuild()` deletes every
mirror row and the cursor and indexes again from the deployment block, producing identical rows.

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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import event_abi_to_log_topic, keccak
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractEvent

from app import db
from app.chain.deployment import Deployment, block_hash, genesis_hash
from app.chain.gateway import ChainGateway
from app.clock import utcnow
from app.config import Settings
from app.errors import ChainMismatch, ChainUnavailable
from app.models.mirror import (
    MIRROR_TABLES,
    IndexerCursor,
    MirrorAccess,
    MirrorBrand,
    MirrorBrandEvent,
    MirrorBudgetEvent,
    MirrorClaim,
    MirrorConsent,
    MirrorConsentEvent,
    MirrorEpoch,
    MirrorEpochDebit,
    MirrorEpochOutcome,
    MirrorSkippedAccess,
    MirrorTransfer,
)

log = logging.getLogger(__name__)

CHUNK_BLOCKS = 2_000
ZERO_HASH = "0x" + "00" * 32
_CONTRACTS = ("CashbackToken", "ConsentRegistry", "RewardDistributor")


class ChainReorganized(ChainMismatch):
    """A block the indexer already applied is no longer on the chain (a reorg deeper than confirmations)."""

    code = "chain_reorganized"


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


@dataclass(frozen=True)
class _Ref:
    """Where an event sits on chain."""

    block_number: int
    log_index: int
    block_hash: str
    block_time: datetime
    tx_hash: str

    def columns(self) -> dict[str, Any]:
        return {
            "block_number": self.block_number,
            "log_index": self.log_index,
            "block_hash": self.block_hash,
            "block_time": self.block_time,
            "tx_hash": self.tx_hash,
        }


@dataclass(frozen=True)
class _Event:
    contract: str
    name: str
    args: dict[str, Any]
    ref: _Ref


def _hex(value: Any) -> str:
    return Web3.to_hex(value).lower()


# -- decoding that depends on the contracts' event shapes (kept small to adapt easily) ---------


def debits_hash(debits: Iterable[tuple[str, int, int]]) -> bytes:
    """IRewardDistributor's `debitsHash`: keccak256 over each debit's three ABI words, concatenated."""
    return keccak(b"".join(abi_encode(["address", "uint96", "uint96"], list(d)) for d in debits))


def with_published_debits(w3: Web3, distributor: Contract, name: str, args: dict[str, Any], tx_hash: Any) -> dict:
    """An event's args, for EpochPublished completed with the `debits` of its publishing transaction.

    The event carries only their hash (docs/contracts.md, change 1): the debits are read from the
    transaction's `publishEpoch` input and checked against it.
    """
    if name != "EpochPublished":
        return args
    tx = w3.eth.get_transaction(tx_hash)
    function, inputs = distributor.decode_function_input(tx["input"])
    if function.fn_name != "publishEpoch" or int(inputs["epoch"]) != int(args["epoch"]):
        raise ChainMismatch(f"epoch {args['epoch']} was not published by a direct publishEpoch call ({_hex(tx_hash)})")
    debits = [
        (str(Web3.to_checksum_address(d[0])), int(d[1]), int(d[2]))
        if not isinstance(d, Mapping)
        else (str(Web3.to_checksum_address(d["brand"])), int(d["fromReserve"]), int(d["fromBudget"]))
        for d in inputs["debits"]
    ]
    if debits_hash(debits) != bytes(args["debitsHash"]):
        raise ChainMismatch(f"the debits of {_hex(tx_hash)} do not hash to epoch {args['epoch']}'s debitsHash")
    return {**args, "debits": debits}


def decode_debits(args: dict[str, Any]) -> list[tuple[str, int, int]]:
    """[(brand, from reserve, from budget)] of an EpochPublished event (completed by with_published_debits)."""
    out = []
    for d in args["debits"]:
        brand, from_reserve, from_budget = (
            (d["brand"], d["fromReserve"], d["fromBudget"]) if isinstance(d, Mapping) else tuple(d)
        )
        out.append((str(Web3.to_checksum_address(brand)), int(from_reserve), int(from_budget)))
    return out


def decode_epoch(args: dict[str, Any]) -> tuple[int, str, str, int, list[tuple[str, int]]]:
    """(epoch, root, commitment, total, [(brand, amount debited)]) of an EpochPublished event."""
    debits = [(brand, reserve + budget) for brand, reserve, budget in decode_debits(args)]
    return int(args["epoch"]), _hex(args["root"]), _hex(args["commitment"]), int(args["total"]), debits


def decode_claim(args: dict[str, Any]) -> tuple[str, int, int]:
    """(account, amount, cumulative amount) of a Claimed event."""
    return args["account"], int(args["amount"]), int(args["cumulativeAmount"])


# -- applying events to the mirror ---------------------------------------------------------------


class _Applier:
    """Writes one chunk's events into a session, in chain order, keeping derived state in step."""

    def __init__(self, session: Session):
        self.session = session
        self._state: dict[tuple[type[SQLModel], tuple[Any, ...]], Any] = {}

    def _get(self, model: type[SQLModel], key: tuple[Any, ...]) -> Any:
        cache_key = (model, key)
        if cache_key not in self._state:
            self._state[cache_key] = self.session.get(model, key)
        return self._state[cache_key]

    def _put(self, model: type[SQLModel], key: tuple[Any, ...], row: Any) -> None:
        self._state[(model, key)] = row
        self.session.add(row)

    def apply(self, event: _Event) -> None:
        handler = _HANDLERS.get((event.contract, event.name))
        if handler is not None:
            handler(self, event.args, event.ref)

    # ConsentRegistry

    def brand_changed(self, args: dict[str, Any], ref: _Ref, registered: bool) -> None:
        brand = args["brand"]
        kind = "registered" if registered else "deregistered"
        self.session.add(MirrorBrandEvent(**ref.columns(), kind=kind, brand=brand))
        row = self._get(MirrorBrand, (brand,))
        if row is None:
            row = MirrorBrand(
                brand=brand,
                registered=registered,
                first_registered_block=ref.block_number,
                updated_block=ref.block_number,
                updated_log_index=ref.log_index,
            )
            self._put(MirrorBrand, (brand,), row)
            return
        row.registered = registered
        row.updated_block, row.updated_log_index = ref.block_number, ref.log_index
        self.session.add(row)

    def consent_event(self, kind: str, args: dict[str, Any], ref: _Ref) -> None:
        customer, brand, purpose = args["customer"], args["brand"], int(args["purpose"])
        self.session.add(
            MirrorConsentEvent(
                **ref.columns(),
                kind=kind,
                customer=customer,
                brand=brand,
                purpose=purpose,
                categories=args.get("categories"),
                expires_at=args.get("expiresAt"),
                price=args.get("price"),
                receipt_hash=_hex(args["receiptHash"]) if "receiptHash" in args else None,
                notice_hash=_hex(args["noticeHash"]) if "noticeHash" in args else None,
                signed_at=args.get("signedAt", args.get("revokedAt")),
                nonce=int(args["nonce"]),
            )
        )
        key = (customer, brand, purpose)
        row = self._get(MirrorConsent, key)
        if row is None:
            # A revoke is recorded even where no consent is in force: it bars grants signed until then.
            if kind == "narrowed":
                raise RuntimeError(f"mirror out of step: {kind} {key} was never granted; rebuild")
            row = MirrorConsent(
                customer=customer,
                brand=brand,
                purpose=purpose,
                status="active",
                categories=0,
                granted_at=0,
                expires_at=0,
                price=0,
                receipt_hash=ZERO_HASH,
                notice_hash=ZERO_HASH,
                nonce=0,
                updated_block=0,
                updated_log_index=0,
                updated_tx_hash=ZERO_HASH,
            )
            self._put(MirrorConsent, key, row)
        if kind == "granted":
            row.status = "active"
            row.categories = int(args["categories"])
            row.granted_at = int(ref.block_time.timestamp())
            row.expires_at = int(args["expiresAt"])
            row.price = int(args["price"])
            row.receipt_hash = _hex(args["receiptHash"])
            row.notice_hash = _hex(args["noticeHash"])
        elif kind == "narrowed":
            row.categories = int(args["categories"])
            row.expires_at = int(args["expiresAt"])
        else:  # revoked: the contract deletes the consent, so its terms read back as zero
            row.status = "revoked"
            row.categories = row.granted_at = row.expires_at = row.price = 0
            row.receipt_hash = row.notice_hash = ZERO_HASH
        row.nonce = int(args["nonce"])
        row.updated_block, row.updated_log_index, row.updated_tx_hash = (
            ref.block_number,
            ref.log_index,
            ref.tx_hash,
        )
        self.session.add(row)

    def access_recorded(self, args: dict[str, Any], ref: _Ref) -> None:
        customers, prices = list(args["customers"]), list(args["prices"])
        for position, (customer, price) in enumerate(zip(customers, prices, strict=True)):
            self.session.add(
                MirrorAccess(
                    **ref.columns(),
                    position=position,
                    brand=args["brand"],
                    purpose=int(args["purpose"]),
                    request_id=_hex(args["requestId"]),
                    categories=int(args["categories"]),
                    customer=customer,
                    price=int(price),
                    batch_size=len(customers),
                    batch_total=int(args["total"]),
                )
            )

    def access_skipped(self, args: dict[str, Any], ref: _Ref) -> None:
        for position, (customer, reason) in enumerate(zip(args["customers"], args["reasons"], strict=True)):
            self.session.add(
                MirrorSkippedAccess(
                    **ref.columns(),
                    position=position,
                    brand=args["brand"],
                    purpose=int(args["purpose"]),
                    request_id=_hex(args["requestId"]),
                    customer=customer,
                    reason=int(reason),
                )
            )

    # RewardDistributor

    def budget_event(self, kind: str, args: dict[str, Any], ref: _Ref) -> None:
        counterparty = {"funded": args.get("funder"), "deposited": args.get("from"), "withdrawn": args.get("to")}
        self.session.add(
            MirrorBudgetEvent(
                **ref.columns(),
                kind=kind,
                brand=args["brand"],
                counterparty=args["brand"] if kind == "returned" else counterparty.get(kind),
                amount=int(args["amount"]),
                reserved=int(args["reserved"]) if "reserved" in args else None,
                reference=_hex(args["reference"]) if "reference" in args else None,
            )
        )

    def epoch_published(self, args: dict[str, Any], ref: _Ref) -> None:
        epoch, root, commitment, total = (
            int(args["epoch"]),
            _hex(args["root"]),
            _hex(args["commitment"]),
            int(args["total"]),
        )
        self.session.add(
            MirrorEpoch(
                **ref.columns(),
                epoch=epoch,
                root=root,
                commitment=commitment,
                total=total,
                finalises_at=int(args["finalisesAt"]),
            )
        )
        for position, (brand, from_reserve, from_budget) in enumerate(decode_debits(args)):
            self.session.add(
                MirrorEpochDebit(
                    block_number=ref.block_number,
                    log_index=ref.log_index,
                    position=position,
                    epoch=epoch,
                    brand=brand,
                    amount=from_reserve + from_budget,
                    from_reserve=from_reserve,
                    from_budget=from_budget,
                )
            )

    def epoch_outcome(self, kind: str, args: dict[str, Any], ref: _Ref) -> None:
        self.session.add(
            MirrorEpochOutcome(
                **ref.columns(),
                kind=kind,
                epoch=int(args["epoch"]),
                root=_hex(args["root"]),
                total=int(args["total"]) if "total" in args else None,
                auditor=args.get("auditor"),
            )
        )

    def claimed(self, args: dict[str, Any], ref: _Ref) -> None:
        account, amount, cumulative = decode_claim(args)
        self.session.add(MirrorClaim(**ref.columns(), account=account, amount=amount, cumulative_amount=cumulative))

    # CashbackToken

    def transfer(self, args: dict[str, Any], ref: _Ref) -> None:
        self.session.add(
            MirrorTransfer(**ref.columns(), from_address=args["from"], to_address=args["to"], amount=int(args["value"]))
        )


_Handler = Callable[[_Applier, dict[str, Any], _Ref], None]
_HANDLERS: dict[tuple[str, str], _Handler] = {
    ("ConsentRegistry", "BrandRegistered"): lambda a, args, ref: a.brand_changed(args, ref, True),
    ("ConsentRegistry", "BrandDeregistered"): lambda a, args, ref: a.brand_changed(args, ref, False),
    ("ConsentRegistry", "ConsentGranted"): lambda a, args, ref: a.consent_event("granted", args, ref),
    ("ConsentRegistry", "ConsentNarrowed"): lambda a, args, ref: a.consent_event("narrowed", args, ref),
    ("ConsentRegistry", "ConsentRevoked"): lambda a, args, ref: a.consent_event("revoked", args, ref),
    ("ConsentRegistry", "AccessRecorded"): _Applier.access_recorded,
    ("ConsentRegistry", "AccessSkipped"): _Applier.access_skipped,
    ("RewardDistributor", "BudgetFunded"): lambda a, args, ref: a.budget_event("funded", args, ref),
    ("RewardDistributor", "BudgetDeposited"): lambda a, args, ref: a.budget_event("deposited", args, ref),
    ("RewardDistributor", "BudgetWithdrawn"): lambda a, args, ref: a.budget_event("withdrawn", args, ref),
    ("RewardDistributor", "BudgetReserved"): lambda a, args, ref: a.budget_event("reserved", args, ref),
    ("RewardDistributor", "ReserveReleased"): lambda a, args, ref: a.budget_event("released", args, ref),
    ("RewardDistributor", "RetiredBudgetReturned"): lambda a, args, ref: a.budget_event("returned", args, ref),
    ("RewardDistributor", "EpochPublished"): _Applier.epoch_published,
    ("RewardDistributor", "EpochVetoed"): lambda a, args, ref: a.epoch_outcome("vetoed", args, ref),
    ("RewardDistributor", "EpochFinalized"): lambda a, args, ref: a.epoch_outcome("finalized", args, ref),
    ("RewardDistributor", "Claimed"): _Applier.claimed,
    ("CashbackToken", "Transfer"): _Applier.transfer,
}
"""Events the mirror keeps; the rest (roles, pauses, approvals) are read and skipped."""


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
        self._decoders: dict[tuple[str, bytes], tuple[str, ContractEvent]] | None = None
        self._decoders_for: Deployment | None = None

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
                    applier = _Applier(session)
                    for event in decoded:
                        applier.apply(event)
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

    def _read_chunk(self, deployment: Deployment, last: int, last_hash: str, to: int) -> tuple[list[_Event], str]:
        """Decoded events of blocks last+1..to in chain order, and the hash of block `to`."""
        w3 = self.gateway.w3
        decoders = self._decoders_of(deployment)
        addresses = [
            Web3.to_checksum_address(a) for a in (deployment.token, deployment.registry, deployment.distributor)
        ]
        logs = w3.eth.get_logs({"fromBlock": last + 1, "toBlock": to, "address": addresses})
        # The block we stopped at must still be on the chain, else what we applied was reorganised away.
        tip = _block_hash(w3, last)
        # Block 0 is exempt: anvil regenerates its genesis on reloading a state file.
        if last > 0 and tip != last_hash:
            raise ChainReorganized(
                f"block {last} now has hash {tip}, but the mirror applied {last_hash}: the chain was "
                f"reorganised deeper than CONFIRMATIONS={self.settings.confirmations}. "
                "Run `ledger index --rebuild` (and consider more confirmations)."
            )
        blocks: dict[int, Any] = {}

        def block(number: int) -> Any:
            if number not in blocks:
                blocks[number] = w3.eth.get_block(number)
            return blocks[number]

        events: list[_Event] = []
        for entry in sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"])):
            number = int(entry["blockNumber"])
            header = block(number)
            if _hex(header["hash"]) != _hex(entry["blockHash"]):
                raise ChainReorganized(
                    f"block {number} changed while being read (a reorg in progress); run the indexer again"
                )
            topics = entry["topics"]
            found = decoders.get((Web3.to_checksum_address(entry["address"]), bytes(topics[0]))) if topics else None
            if found is None:
                continue
            contract, event = found
            if (contract, event.event_name) not in _HANDLERS:
                continue
            processed = event.process_log(entry)
            ref = _Ref(
                block_number=number,
                log_index=int(entry["logIndex"]),
                block_hash=_hex(entry["blockHash"]),
                block_time=datetime.fromtimestamp(int(header["timestamp"]), UTC),
                tx_hash=_hex(entry["transactionHash"]),
            )
            args = with_published_debits(
                w3, self.gateway.distributor, event.event_name, dict(processed["args"]), entry["transactionHash"]
            )
            events.append(_Event(contract, event.event_name, args, ref))
        return events, _hex(block(to)["hash"])

    def _decoders_of(self, deployment: Deployment) -> dict[tuple[str, bytes], tuple[str, ContractEvent]]:
        if self._decoders is None or self._decoders_for != deployment:
            table: dict[tuple[str, bytes], tuple[str, ContractEvent]] = {}
            for name in _CONTRACTS:
                contract = self.gateway.contract(name)  # type: ignore[arg-type]
                for item in contract.abi:
                    if item.get("type") == "event" and not item.get("anonymous") and "name" in item:
                        topic = bytes(event_abi_to_log_topic(item))  # type: ignore[arg-type]
                        event = getattr(contract.events, str(item["name"]))()  # type: ignore[typeddict-item]
                        table[(contract.address, topic)] = (name, event)
            self._decoders, self._decoders_for = table, deployment
        return self._decoders

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
