"""The chain gateway: carries every call to the chain (guard, role senders, receipts, head) and holds the clients.

Services use the typed clients (`gateway.registry`, `.distributor`, `.vault`, `.token`, `.payments`), never web3.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, TypeVar

import requests
from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractLogicError, ProviderConnectionError, TransactionNotFound, Web3RPCError
from web3.types import TxReceipt

from app.chain.compiler import load_abis
from app.chain.contract import BlockId, ContractClient
from app.chain.deployment import Deployment, load_deployment
from app.chain.distributor import RewardDistributorClient
from app.chain.errors import ContractRevert, as_revert
from app.chain.keys import Role
from app.chain.payments import PaymentRouterClient
from app.chain.registry import ConsentRegistryClient
from app.chain.token import CashbackTokenClient
from app.chain.transactions import Sender, Sent
from app.chain.vault import BudgetVaultClient
from app.config import Settings
from app.errors import ChainUnavailable

T = TypeVar("T")
C = TypeVar("C", bound="ContractClient")


@dataclass(frozen=True)
class BlockInfo:
    """A block's number and time (unix seconds, the chain's clock)."""

    number: int
    timestamp: int


@dataclass(frozen=True)
class Receipt:
    """A mined transaction's receipt, as the pages and the reconciliation read it."""

    tx_hash: str
    succeeded: bool
    block_number: int
    sender: str
    to: str | None
    gas_used: int
    log_count: int


# What a dead or unreachable endpoint raises through web3's HTTP provider.
_UNREACHABLE = (requests.exceptions.ConnectionError, requests.exceptions.Timeout, ProviderConnectionError, OSError)


class ChainGateway:
    """Reads contracts and sends each role's transactions (app/chain/keys.py), mapping failures to domain errors."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.w3 = Web3(Web3.HTTPProvider(settings.rpc_url, request_kwargs={"timeout": 10}))
        self._lock = threading.Lock()
        self._deployment: Deployment | None = None
        self._senders: dict[Role, Sender] = {}
        self._chain_id: int | None = None
        self._clients: dict[tuple[type, str, str], object] = {}

    # -- guarded access -------------------------------------------------------------------

    def guard(self, action: Callable[[], T]) -> T:
        """Runs `action`, turning an unreachable chain into ChainUnavailable and reverts into ChainRefused."""
        try:
            return action()
        except ContractRevert:
            raise  # already the named custom error (a ChainRefused)
        except ContractLogicError as exc:  # a read that reverted
            revert = as_revert(exc)
            if revert is None:
                raise
            raise revert from exc
        except _UNREACHABLE as exc:
            raise ChainUnavailable(
                f"the chain at {self.settings.rpc_url} does not answer: {type(exc).__name__}"
            ) from exc
        except Web3RPCError as exc:
            raise ChainUnavailable(f"the chain at {self.settings.rpc_url} failed a request: {exc}") from exc

    @property
    def chain_id(self) -> int:
        """The chain id: from settings if given, else asked once and remembered."""
        if self.settings.chain_id is not None:
            return self.settings.chain_id
        if self._chain_id is None:
            self._chain_id = int(self.guard(lambda: self.w3.eth.chain_id))
        return self._chain_id

    def is_available(self) -> bool:
        try:
            self.w3.eth.chain_id  # noqa: B018 - a round trip
            return True
        except _UNREACHABLE:
            return False

    # -- deployment and contracts ---------------------------------------------------------

    @property
    def deployment(self) -> Deployment:
        with self._lock:
            if self._deployment is None:
                found = self.guard(lambda: load_deployment(self.w3, self.settings.deployments_dir))
                if found is None:
                    raise ChainUnavailable(
                        f"the contracts are not deployed on the chain at {self.settings.rpc_url}; run `ledger up`"
                    )
                self._deployment = found
            return self._deployment

    @cached_property
    def _abis(self) -> dict[str, list[dict[str, Any]]]:
        return load_abis()

    def contract(
        self,
        name: Literal[
            "CashbackToken", "ConsentRegistry", "RewardDistributor", "BudgetVault", "CampaignRegistry", "PaymentRouter"
        ],
    ) -> Contract:
        """The web3 contract (app/chain only; services use the typed clients below)."""
        d = self.deployment
        address = {
            "CashbackToken": d.token,
            "ConsentRegistry": d.registry,
            "RewardDistributor": d.distributor,
            "BudgetVault": d.vault,
            "CampaignRegistry": d.campaigns,
            "PaymentRouter": d.payments,
        }[name]
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=self._abis[name])

    def _client(self, kind: type[C], address: str) -> C:
        d = self.deployment
        key = (kind, d.block_hash, address)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = kind(self, address)
            return self._clients[key]  # type: ignore[return-value]

    @property
    def registry(self) -> ConsentRegistryClient:
        return self._client(ConsentRegistryClient, self.deployment.registry)

    @property
    def distributor(self) -> RewardDistributorClient:
        return self._client(RewardDistributorClient, self.deployment.distributor)

    @property
    def vault(self) -> BudgetVaultClient:
        return self._client(BudgetVaultClient, self.deployment.vault)

    @property
    def token(self) -> CashbackTokenClient:
        return self._client(CashbackTokenClient, self.deployment.token)

    @property
    def payments(self) -> PaymentRouterClient:
        return self._client(PaymentRouterClient, self.deployment.payments)

    # -- reads and writes -----------------------------------------------------------------

    def call(self, fn: ContractFunction, block: BlockId = "latest") -> Any:
        """A read-only call (for the clients; a revert comes back as its named custom error)."""
        return self.guard(lambda: fn.call(block_identifier=block))

    def block(self, number: BlockId = "latest") -> BlockInfo:
        """A block's number and time: the clock the contracts judge deadlines and expiries by."""
        found = self.guard(lambda: self.w3.eth.get_block(number))
        return BlockInfo(int(found["number"]), int(found["timestamp"]))

    def code_at(self, address: str) -> bytes:
        """The code deployed at `address` (empty for an externally owned account)."""
        return bytes(self.guard(lambda: self.w3.eth.get_code(Web3.to_checksum_address(address))))

    def receipt(self, tx_hash: str) -> Receipt | None:
        """The receipt of a mined transaction; None if this chain has no such transaction (mined or pending)."""

        def read() -> TxReceipt | None:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return None

        found = self.guard(read)
        if found is None:
            return None
        return Receipt(
            tx_hash=Web3.to_hex(found["transactionHash"]),
            succeeded=found["status"] == 1,
            block_number=int(found["blockNumber"]),
            sender=str(found["from"]),
            to=str(found["to"]) if found.get("to") else None,
            gas_used=int(found["gasUsed"]),
            log_count=len(found["logs"]),
        )

    def sender(self, role: Role) -> Sender:
        with self._lock:
            if role not in self._senders:
                self._senders[role] = Sender(self.w3, Account.from_key(self.settings.role_keys()[role]))
            return self._senders[role]

    def send(
        self,
        call: ContractFunction | ContractConstructor,
        *,
        role: Role = "relayer",
        before_broadcast: Callable[[str, bytes], None] | None = None,
    ) -> Sent:
        """Sends a transaction with the key of `role` and waits for its receipt."""
        return self.guard(lambda: self.sender(role).send(call, before_broadcast=before_broadcast))

    def resend(self, raw: bytes, *, role: Role = "relayer") -> Sent | None:
        """Sends a signed transaction of `role` again (the same bytes, hash and nonce); None if its nonce is taken."""
        return self.guard(lambda: self.sender(role).resend(raw))

    @property
    def head(self) -> int:
        """The latest block's number."""
        return int(self.guard(lambda: self.w3.eth.block_number))

    def confirmed(self, block_number: int) -> bool:
        """Whether a block is at least CONFIRMATIONS deep (0: mined is enough)."""
        return self.head - block_number >= self.settings.confirmations
