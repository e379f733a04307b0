"""The BudgetVault's typed client: where brands' budgets sit, apart from what claims can reach."""

from __future__ import annotations

from typing import ClassVar

from app.chain.addresses import checksum
from app.chain.contract import BlockId, ContractClient


class BudgetVaultClient(ContractClient):
    """IBudgetVault: only its distributor moves CASH out; the backend reads who that is and what it holds."""

    contract_name: ClassVar[str] = "BudgetVault"

    def distributor(self, *, block: BlockId = "latest") -> str:
        return checksum(self._read(self.contract.functions.distributor(), block))

    def token(self, *, block: BlockId = "latest") -> str:
        return checksum(self._read(self.contract.functions.token(), block))

    def holdings(self, *, block: BlockId = "latest") -> int:
        """The CASH the vault holds: every brand's budget, reserves included."""
        return self.gateway.token.balance_of(self.address, block=block)
