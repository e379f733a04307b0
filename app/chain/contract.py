"""The base of the typed contract clients: one per deployed contract, bound to its address and ABI once."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from web3.contract import Contract
from web3.logs import DISCARD

from app.chain.compiler import load_abis
from app.chain.errors import ContractErrors
from app.chain.keys import Role
from app.chain.transactions import Sent

if TYPE_CHECKING:
    from app.chain.gateway import ChainGateway

# A block to read state at: a number, or the chain's latest / pending block.
BlockId = int | Literal["latest", "pending"]
# Called with (tx hash, signed bytes) before a transaction leaves, so it can be sent again after a loss.
BeforeBroadcast = Callable[[str, bytes], None]


def hex32(value: bytes) -> str:
    """A bytes32 as 0x-prefixed lower-case hex."""
    return "0x" + bytes(value).hex()


def from_hex(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


class ContractClient:
    """Reads and writes of one contract through the gateway (which guards, signs and waits)."""

    contract_name: ClassVar[str]
    # The contracts whose errors a call can end in (the distributor's reach into its vault, for one).
    reverts_of: ClassVar[tuple[str, ...]] = ()

    def __init__(self, gateway: ChainGateway, address: str):
        self.gateway = gateway
        self.address = gateway.w3.to_checksum_address(address)
        self.errors = ContractErrors((self.contract_name, *self.reverts_of))

    @cached_property
    def contract(self) -> Contract:
        """The web3 contract (for app/chain only: the indexer's decoders, the audit's reader)."""
        return self.gateway.w3.eth.contract(address=self.address, abi=load_abis()[self.contract_name])

    def _read(self, fn: Any, block: BlockId = "latest") -> Any:
        return self.gateway.call(fn, block=block)

    def _write(self, fn: Any, role: Role, before_broadcast: BeforeBroadcast | None = None) -> Sent:
        return self.gateway.send(fn, role=role, before_broadcast=before_broadcast)

    def _events_in(self, sent: Sent, name: str) -> list[dict[str, Any]]:
        """The args of every `name` event this contract emitted in a mined transaction."""
        event = getattr(self.contract.events, name)()
        return [dict(e["args"]) for e in event.process_receipt(sent.receipt, errors=DISCARD)]

    def _logs(self, name: str, *, from_block: int, **filters: Any) -> list[Any]:
        event = getattr(self.contract.events, name)()
        return list(self.gateway.guard(lambda: event.get_logs(from_block=from_block, argument_filters=filters or None)))
