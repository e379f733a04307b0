"""Development only: CASH (and gas) for a local brand wallet on anvil, so the console's deposit can be tried."""

from __future__ import annotations

from dataclasses import dataclass

from app.chain.addresses import checksum
from app.chain.anvil import mint_as_distributor
from app.chain.gateway import ChainGateway
from app.errors import InvalidInput

ANVIL_CHAIN_ID = 31337
GAS_MONEY = 10**18  # 1 ETH, for the approve and the deposit


@dataclass(frozen=True)
class DevCash:
    address: str
    minted: int
    balance: int


def give_dev_cash(chain: ChainGateway, address: str, amount: int) -> DevCash:
    """Mints `amount` CASH units to `address` as the distributor (impersonated: anvil only) and tops up its gas."""
    if chain.chain_id != ANVIL_CHAIN_ID:
        raise InvalidInput(f"dev-cash runs on anvil (chain id {ANVIL_CHAIN_ID}) only, not on chain {chain.chain_id}")
    if amount <= 0:
        raise InvalidInput("the amount must be a positive number of CASH units")
    to = checksum(address)
    chain.guard(
        lambda: mint_as_distributor(
            chain.w3, chain.token.contract, chain.distributor.address, to, amount, gas_money=GAS_MONEY
        )
    )
    return DevCash(to, amount, chain.token.balance_of(to))
