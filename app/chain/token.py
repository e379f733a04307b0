"""The CashbackToken's typed client: balances, supply and permit nonces of CASH."""

from __future__ import annotations

from typing import ClassVar

from app.chain.addresses import checksum
from app.chain.contract import BlockId, ContractClient


class CashbackTokenClient(ContractClient):
    """ICashbackToken (an ERC-20): the reads the backend uses; only the vault and distributor move CASH."""

    contract_name: ClassVar[str] = "CashbackToken"

    def balance_of(self, account: str, *, block: BlockId = "latest") -> int:
        return int(self._read(self.contract.functions.balanceOf(checksum(account)), block))

    def total_supply(self, *, block: BlockId = "latest") -> int:
        return int(self._read(self.contract.functions.totalSupply(), block))

    def permit_nonce(self, owner: str) -> int:
        """The owner's next EIP-2612 permit nonce."""
        return int(self._read(self.contract.functions.nonces(checksum(owner))))

    def decimals(self) -> int:
        return int(self._read(self.contract.functions.decimals()))
