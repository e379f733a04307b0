"""The one event-log reader: the programme's contracts' logs by block range, decoded, in chain order.

The indexer reads a chunk after its cursor; the audit reads everything from the deployment block
(`read_events`). Each event comes with where the chain put it (block, its hash and time, log index,
transaction). EpochPublished carries only the hash of its debits: the reader completes it with the
debits of its publishing transaction, checked against that hash.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import event_abi_to_log_topic, keccak
from web3 import Web3

from app.chain.addresses import checksum_lower
from app.chain.deployment import Deployment
from app.chain.distributor import Debit, EpochPublished
from app.chain.gateway import ChainGateway
from app.errors import ChainMismatch

LOG_CHUNK_BLOCKS = 10_000
# The contracts whose events make the ledger (BudgetVault's moves show as the token's Transfers).
CONTRACTS = ("CashbackToken", "ConsentRegistry", "RewardDistributor", "PaymentRouter")


class ChainReorganized(ChainMismatch):
    """A block already read is no longer on the chain (a reorg deeper than confirmations)."""

    code = "chain_reorganized"


@dataclass(frozen=True)
class ChainEvent:
    """A decoded event of one of the programme's contracts, where the chain put it."""

    contract: str
    name: str
    args: dict[str, Any]
    block: int
    log_index: int
    tx_hash: str
    block_hash: str
    block_time: datetime  # the block's timestamp, UTC

    @property
    def timestamp(self) -> int:
        """The block's time in unix seconds (the contracts' clock)."""
        return int(self.block_time.timestamp())

    @property
    def block_number(self) -> int:
        return self.block

    def columns(self) -> dict[str, Any]:
        """Where the event sits, as the mirror tables' columns."""
        return {
            "block_number": self.block,
            "log_index": self.log_index,
            "block_hash": self.block_hash,
            "block_time": self.block_time,
            "tx_hash": self.tx_hash,
        }


def _int(value: Any) -> int:
    """A JSON-RPC quantity (hex string or int) as an int."""
    return int(value, 16) if isinstance(value, str) else int(value)


def _hex(value: Any) -> str:
    return Web3.to_hex(value).lower()


# -- EpochPublished's debits -----------------------------------------------------------------------


def debits_hash(debits: Iterable[tuple[str, int, int]]) -> bytes:
    """IRewardDistributor's `debitsHash`: keccak256 over each debit's three ABI words, concatenated."""
    return keccak(b"".join(abi_encode(["address", "uint96", "uint96"], list(d)) for d in debits))


def _published_debits(w3: Web3, name: str, args: dict[str, Any], tx_hash: Any) -> dict[str, Any]:
    if name != "EpochPublished":
        return args
    tx = w3.eth.get_transaction(tx_hash)
    decoder = w3.eth.contract(abi=_distributor_abi())
    function, inputs = decoder.decode_function_input(tx["input"])
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


def _distributor_abi() -> list[dict[str, Any]]:
    from app.chain.compiler import load_abis

    return load_abis()["RewardDistributor"]


def with_published_debits(w3: Web3, _distributor: Any, name: str, args: dict[str, Any], tx_hash: Any) -> dict:
    """An event's args, for EpochPublished completed with the `debits` of its publishing transaction.

    (The second argument is not used: kept for the audit's call until it reads through `read_events`.)
    """
    return _published_debits(w3, name, args, tx_hash)


def decode_debits(args: dict[str, Any]) -> list[tuple[str, int, int]]:
    """[(brand, from reserve, from budget)] of an EpochPublished event (completed by the reader)."""
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


def epochs_published(events: Iterable[ChainEvent]) -> list[EpochPublished]:
    """The EpochPublished events among `events`, typed, with their debits, in chain order."""
    return [
        EpochPublished(
            int(e.args["epoch"]),
            _hex(e.args["root"]),
            _hex(e.args["commitment"]),
            int(e.args["total"]),
            int(e.args["finalisesAt"]),
            e.tx_hash,
            e.block,
            tuple(Debit(*d) for d in decode_debits(e.args)),
        )
        for e in events
        if (e.contract, e.name) == ("RewardDistributor", "EpochPublished")
    ]


def decode_claim(args: dict[str, Any]) -> tuple[str, int, int]:
    """(account, amount, cumulative amount) of a Claimed event."""
    return args["account"], int(args["amount"]), int(args["cumulativeAmount"])


# -- decoding ---------------------------------------------------------------------------------------


def _normalised(kind: str, value: Any) -> Any:
    """What web3's decoder gives for an ABI value: EIP-55 addresses, lists for arrays, bytes, ints."""
    if kind == "address":
        return checksum_lower(value)
    if kind.endswith("[]"):
        return [_normalised(kind[:-2], v) for v in value]
    return value


class EventDecoder:
    """Decodes one event's logs with eth_abi straight from its ABI: the same arguments as web3's
    `process_log` (tests/chain/test_event_decoding.py holds them equal), about 20 times faster, which the
    indexer needs at 100,000 consents. Indexed arguments are all static types in these contracts."""

    def __init__(self, abi: Mapping[str, Any]):
        self.name = str(abi["name"])
        inputs = list(abi["inputs"])
        self._indexed = [(str(i["name"]), str(i["type"])) for i in inputs if i["indexed"]]
        self._data = [(str(i["name"]), str(i["type"])) for i in inputs if not i["indexed"]]
        self._data_types = [t for _, t in self._data]
        if any(t.endswith("[]") or t in ("string", "bytes") or t.startswith("tuple") for _, t in self._indexed):
            raise ValueError(f"{self.name}: an indexed dynamic argument is stored hashed; not decodable here")

    def args(self, topics: list[Any], data: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (name, kind), topic in zip(self._indexed, topics[1:], strict=True):
            out[name] = _normalised(kind, abi_decode([kind], bytes(topic))[0])
        values = abi_decode(self._data_types, bytes(data)) if self._data else ()
        for (name, kind), value in zip(self._data, values, strict=True):
            out[name] = _normalised(kind, value)
        return out


# -- the reader ------------------------------------------------------------------------------------


class EventReader:
    """Reads and decodes the contracts' logs of a block range; block headers are remembered while it lives."""

    def __init__(self, gateway: ChainGateway, *, chunk_blocks: int = LOG_CHUNK_BLOCKS):
        self.gateway = gateway
        self.chunk_blocks = chunk_blocks
        self._decoders: dict[tuple[str, bytes], tuple[str, EventDecoder]] | None = None
        self._decoders_for: Deployment | None = None
        self._headers: dict[int, Any] = {}

    @property
    def w3(self) -> Web3:
        return self.gateway.w3

    def header(self, number: int) -> Any:
        if number not in self._headers:
            self._headers[number] = self.w3.eth.get_block(number)
        return self._headers[number]

    def forget_headers(self) -> None:
        self._headers.clear()

    def block_time(self, number: int) -> datetime:
        return datetime.fromtimestamp(int(self.header(number)["timestamp"]), UTC)

    def read(
        self, from_block: int, to_block: int, *, names: Collection[tuple[str, str]] | None = None
    ) -> list[ChainEvent]:
        """Decoded events of blocks from_block..to_block in chain order; only (contract, event) in `names` if
        given. Raises ChainReorganized when a block changes while it is read."""
        deployment = self.gateway.deployment
        decoders = self._decoders_of(deployment)
        addresses = [
            Web3.to_checksum_address(a)
            for a in (deployment.token, deployment.registry, deployment.distributor, deployment.payments)
            if a  # a deployment from before PaymentRouter has none
        ]
        logs: list[Any] = []
        for start in range(from_block, to_block + 1, self.chunk_blocks):
            end = min(start + self.chunk_blocks - 1, to_block)
            logs.extend(self.w3.eth.get_logs({"fromBlock": start, "toBlock": end, "address": addresses}))
        events: list[ChainEvent] = []
        seen: dict[int, str] = {}  # block number -> the hash its logs carry
        for entry in sorted(logs, key=lambda e: (int(e["blockNumber"]), int(e["logIndex"]))):
            topics = entry["topics"]
            found = decoders.get((Web3.to_checksum_address(entry["address"]), bytes(topics[0]))) if topics else None
            if found is None:
                continue
            contract, event = found
            if names is not None and (contract, event.name) not in names:
                continue
            number = int(entry["blockNumber"])
            block_hash = _hex(entry["blockHash"])
            if seen.setdefault(number, block_hash) != block_hash:
                raise ChainReorganized(
                    f"block {number} changed while being read (a reorg in progress); run the indexer again"
                )
            stamp = entry.get("blockTimestamp")
            if stamp is None:  # a node that does not put the block's time in its logs: read the header
                header = self.header(number)
                if _hex(header["hash"]) != block_hash:
                    raise ChainReorganized(
                        f"block {number} changed while being read (a reorg in progress); run the indexer again"
                    )
                stamp = header["timestamp"]
            raw = event.args(list(topics), entry["data"])
            args = _published_debits(self.w3, event.name, raw, entry["transactionHash"])
            events.append(
                ChainEvent(
                    contract=contract,
                    name=event.name,
                    args=args,
                    block=number,
                    log_index=int(entry["logIndex"]),
                    tx_hash=_hex(entry["transactionHash"]),
                    block_hash=block_hash,
                    block_time=datetime.fromtimestamp(_int(stamp), UTC),
                )
            )
        return events

    def _decoders_of(self, deployment: Deployment) -> dict[tuple[str, bytes], tuple[str, EventDecoder]]:
        if self._decoders is None or self._decoders_for != deployment:
            table: dict[tuple[str, bytes], tuple[str, EventDecoder]] = {}
            for name in CONTRACTS:
                if name == "PaymentRouter" and not deployment.payments:
                    continue
                contract = self.gateway.contract(name)  # type: ignore[arg-type]
                for item in contract.abi:
                    if item.get("type") == "event" and not item.get("anonymous") and "name" in item:
                        topic = bytes(event_abi_to_log_topic(item))  # type: ignore[arg-type]
                        table[(contract.address, topic)] = (name, EventDecoder(item))
            self._decoders, self._decoders_for = table, deployment
        return self._decoders


def read_events(gateway: ChainGateway, *, to_block: int, from_block: int | None = None) -> list[ChainEvent]:
    """Every event of the programme's contracts from the deployment block (or `from_block`) to `to_block`,
    decoded, in chain order: what the audit re-derives the ledger from."""
    start = gateway.deployment.block if from_block is None else from_block
    return gateway.guard(lambda: EventReader(gateway).read(start, to_block))
