"""The sender on a real anvil: re-sending the same signed bytes never makes a second transaction."""

from __future__ import annotations

import pytest
from eth_account import Account
from web3 import Web3

from app.chain.compiler import compile_contracts
from app.chain.transactions import Sender

pytestmark = pytest.mark.chain


def _registry(w3: Web3, deployment):  # type: ignore[no-untyped-def]
    return w3.eth.contract(address=deployment.registry, abi=compile_contracts()["ConsentRegistry"].abi)


def test_rebroadcast_of_same_bytes_is_one_transaction(w3: Web3, deployment, operator) -> None:
    registry = _registry(w3, deployment)
    sender = Sender(w3, operator)
    brand = Account.create().address
    nonce = w3.eth.get_transaction_count(operator.address)
    tx = registry.functions.registerBrand(brand).build_transaction(
        {"from": operator.address, "nonce": nonce, "gas": 200_000, "chainId": w3.eth.chain_id}
    )
    raw = operator.sign_transaction(tx).raw_transaction
    first = sender._broadcast(raw)
    w3.eth.wait_for_transaction_receipt(first)
    again = sender._broadcast(raw)  # as after a dropped connection: the node already has it
    assert again == first
    assert registry.functions.isBrand(brand).call()
    assert w3.eth.get_transaction_count(operator.address) == nonce + 1


def test_nonce_recovers_after_an_outside_transaction(w3: Web3, deployment, operator) -> None:
    registry = _registry(w3, deployment)
    sender = Sender(w3, operator)
    sender.send(registry.functions.registerBrand(Account.create().address))
    # Another process uses the same key meanwhile; the sender must not reuse its nonce.
    Sender(w3, operator).send(registry.functions.registerBrand(Account.create().address))
    sent = sender.send(registry.functions.registerBrand(Account.create().address))
    assert sent.receipt["status"] == 1
    assert Web3.to_checksum_address(sent.receipt["from"]) == operator.address
