"""The chain gateway: the only code in the app that talks to the chain (reads, relayed transactions)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any, Literal, TypeVar

import requests
from eth_account import Account
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ProviderConnectionError, TransactionNotFound, Web3RPCError
from web3.types import BlockParams, TxReceipt

from app.chain.compiler import load_abis
from app.chain.deployment import Deployment, load_deployment
from app.chain.errors import ContractRevert
from app.chain.keys import Role
from app.chain.transactions import Sender, Sent
from app.config import Settings
from app.errors import ChainRefused, ChainUnavailable

T = TypeVar("T")

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

    # -- guarded access -------------------------------------------------------------------

    def guard(self, action: Callable[[], T]) -> T:
        """Runs `action`, turning an unreachable chain into ChainUnavailable and reverts into ChainRefused."""
        try:
            return action()
        except ContractRevert as revert:
            raise ChainRefused(
                f"the contract refused: {revert}", error=revert.name, args=_jsonable(revert.args_)
            ) from revert
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
        self, name: Literal["CashbackToken", "ConsentRegistry", "RewardDistributor", "CampaignRegistry"]
    ) -> Contract:
        d = self.deployment
        address = {
            "CashbackToken": d.token,
            "ConsentRegistry": d.registry,
            "RewardDistributor": d.distributor,
            "CampaignRegistry": d.campaigns,
        }[name]
        return self.w3.eth.contract(address=Web3.to_checksum_address(address), abi=self._abis[name])

    @property
    def token(self) -> Contract:
        return self.contract("CashbackToken")

    @property
    def registry(self) -> Contract:
        return self.contract("ConsentRegistry")

    @property
    def distributor(self) -> Contract:
        return self.contract("RewardDistributor")

    # -- reads and writes -----------------------------------------------------------------

    def call(self, fn: ContractFunction, block: int | BlockParams = "latest") -> Any:
        """A read-only call."""
        return self.guard(lambda: fn.call(block_identifier=block))

    def receipt(self, tx_hash: str) -> TxReceipt | None:
        """The receipt of a mined transaction; None if this chain has no such transaction (mined or pending)."""

        def read() -> TxReceipt | None:
            try:
                return self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return None

        return self.guard(read)

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
        return int(self.guard(lambda: self.w3.eth.block_number))

    def confirmed(self, block_number: int) -> bool:
        """Whether a block is at least CONFIRMATIONS deep (0: mined is enough)."""
        return self.head - block_number >= self.settings.confirmations


def _jsonable(args: dict[str, Any]) -> dict[str, Any]:
    return {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in args.items()}
