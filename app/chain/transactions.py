"""Sends transactions from one local key: nonce tracking, EIP-1559 fees, receipts, reverts decoded."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

import requests
from eth_account.signers.local import LocalAccount
from eth_typing import Hash32
from eth_utils import keccak
from web3 import Web3
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound, Web3RPCError
from web3.types import Nonce, TxParams, TxReceipt, Wei

from app.chain.errors import as_revert


class TransactionFailed(Exception):
    """A transaction was mined but reverted."""

    def __init__(self, tx_hash: str, receipt: TxReceipt):
        super().__init__(f"transaction {tx_hash} reverted in block {receipt['blockNumber']}")
        self.tx_hash = tx_hash
        self.receipt = receipt


@dataclass
class Sent:
    """A mined, successful transaction."""

    tx_hash: str
    receipt: TxReceipt

    @property
    def block_number(self) -> int:
        return int(self.receipt["blockNumber"])

    @property
    def gas_used(self) -> int:
        return int(self.receipt["gasUsed"])


class Sender:
    """Signs and sends transactions for one account, serialising nonces across threads."""

    def __init__(self, w3: Web3, account: LocalAccount, *, receipt_timeout: float = 120):
        self.w3 = w3
        self.account = account
        self.receipt_timeout = receipt_timeout
        self._lock = threading.Lock()
        self._next_nonce: int | None = None

    @property
    def address(self) -> str:
        return self.account.address

    def _nonce(self) -> int:
        pending = self.w3.eth.get_transaction_count(self.account.address, "pending")
        if self._next_nonce is None or pending > self._next_nonce:
            self._next_nonce = pending
        return self._next_nonce

    def send(
        self,
        call: ContractFunction | ContractConstructor,
        *,
        gas: int | None = None,
        before_broadcast: Callable[[str, bytes], None] | None = None,
    ) -> Sent:
        """Estimates (surfacing a revert as its named ContractRevert), signs, sends, waits for the receipt.

        `before_broadcast(tx_hash, raw)` sees the signed transaction before it leaves, so a caller can
        keep it to send again if the chain loses it (a restart, a reorg).
        """
        with self._lock:
            tx: TxParams = {"from": self.account.address, "chainId": self.w3.eth.chain_id}
            if gas is None:
                try:
                    gas = int(call.estimate_gas(tx) * 1.2) + 10_000
                except ContractLogicError as exc:
                    # Named custom error (ConsentNotCovering, InvalidProof, ...) instead of raw data.
                    revert = as_revert(exc)
                    if revert is not None:
                        raise revert from exc
                    raise
            tx["gas"] = gas
            tx["nonce"] = Nonce(self._nonce())
            base_fee = self.w3.eth.get_block("latest").get("baseFeePerGas", 0)
            tip = self.w3.eth.max_priority_fee if base_fee else Wei(0)
            tx["maxPriorityFeePerGas"] = tip
            tx["maxFeePerGas"] = Wei(2 * int(base_fee) + tip)
            built = call.build_transaction(tx)
            # eth-account types its input as a plain dict; web3's TxParams is a TypedDict of the same keys.
            signed = self.account.sign_transaction(cast(dict[str, Any], built))
            if before_broadcast is not None:
                before_broadcast(Web3.to_hex(signed.hash), bytes(signed.raw_transaction))
            try:
                tx_hash = self._broadcast(signed.raw_transaction)
            except BaseException:
                self._next_nonce = None  # unknown whether it went out: re-read the nonce next time
                raise
            self._next_nonce = tx["nonce"] + 1
        receipt = self._await_receipt(tx_hash, signed.raw_transaction)
        hex_hash = Web3.to_hex(tx_hash)
        if receipt["status"] != 1:
            raise TransactionFailed(hex_hash, receipt)
        return Sent(hex_hash, receipt)

    def resend(self, raw: bytes) -> Sent | None:
        """Sends an already signed transaction again and waits for it; None if another took its nonce."""
        tx_hash = Hash32(keccak(raw))
        with self._lock:
            self._next_nonce = None  # the chain may have gone back (restart, reorg): read the nonce again
            try:
                self.w3.eth.send_raw_transaction(raw)
            except Web3RPCError as exc:
                message = str(exc).lower()
                if "nonce too low" in message:
                    try:
                        receipt = self.w3.eth.get_transaction_receipt(tx_hash)
                    except TransactionNotFound:
                        return None  # the nonce went to another transaction: these bytes can never be mined
                    return self._sent(tx_hash, receipt)
                if not any(s in message for s in ("already known", "already imported")):
                    raise
        return self._sent(tx_hash, self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout))

    @staticmethod
    def _sent(tx_hash: bytes, receipt: TxReceipt) -> Sent:
        hex_hash = Web3.to_hex(tx_hash)
        if receipt["status"] != 1:
            raise TransactionFailed(hex_hash, receipt)
        return Sent(hex_hash, receipt)

    def _broadcast(self, raw: bytes, attempts: int = 3) -> bytes:
        """Sends a signed transaction, retrying the very same bytes (same nonce, same hash) on a
        dropped connection, so a retry can never become a second transaction."""
        tx_hash = keccak(raw)
        for attempt in range(attempts):
            try:
                return bytes(self.w3.eth.send_raw_transaction(raw))
            except Web3RPCError as exc:
                # A previous attempt reached the node after all.
                if any(s in str(exc).lower() for s in ("already known", "nonce too low", "already imported")):
                    return tx_hash
                raise
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.2 * 2**attempt)
        return tx_hash

    def _await_receipt(self, tx_hash: bytes, raw: bytes) -> TxReceipt:
        """Waits for the receipt; if it takes too long, re-broadcasts the same transaction once."""
        tx_hash32 = Hash32(tx_hash)  # a keccak digest: 32 bytes
        try:
            return self.w3.eth.wait_for_transaction_receipt(tx_hash32, timeout=self.receipt_timeout)
        except TimeExhausted:
            self._broadcast(raw)
            return self.w3.eth.wait_for_transaction_receipt(tx_hash32, timeout=self.receipt_timeout)
