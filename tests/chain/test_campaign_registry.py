"""CampaignRegistry on a real anvil: the Python holdout assignment is the contract's, commit and reveal."""

from __future__ import annotations

import secrets

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from app.analytics import experiments
from app.chain.compiler import compile_contracts
from app.chain.errors import ContractRevert
from app.chain.transactions import Sender

pytestmark = pytest.mark.chain


def _deploy(w3: Web3, operator: LocalAccount):  # type: ignore[no-untyped-def]
    artifact = compile_contracts()["CampaignRegistry"]
    sender = Sender(w3, operator)
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    sent = sender.send(factory.constructor(0, operator.address, operator.address))
    return w3.eth.contract(address=sent.receipt["contractAddress"], abi=artifact.abi), sender


def test_python_assignment_equals_the_contracts_bucket(w3: Web3, operator: LocalAccount) -> None:
    registry, _ = _deploy(w3, operator)
    salt = secrets.token_bytes(32)
    for _ in range(40):
        customer = Web3.to_checksum_address(secrets.token_bytes(20))
        assert experiments.assignment_bucket(salt, customer) == registry.functions.bucketOf(salt, customer).call()


def test_commit_then_reveal_opens_only_the_committed_salt(
    w3: Web3, operator: LocalAccount, dev_accounts: list[LocalAccount]
) -> None:
    registry, sender = _deploy(w3, operator)
    brand = dev_accounts[3].address
    campaign_id, params, salt = secrets.token_bytes(32), secrets.token_bytes(32), secrets.token_bytes(32)
    now = w3.eth.get_block("latest")["timestamp"]
    commitment = registry.functions.commitmentOf(params, salt).call()
    assert commitment == Web3.keccak(params + salt)  # abi.encode of two bytes32 is their concatenation
    sender.send(registry.functions.commit(campaign_id, brand, commitment, 1_000, now + 60, now + 120))

    w3.provider.make_request("evm_increaseTime", [200])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    with pytest.raises(ContractRevert) as refused:
        sender.send(registry.functions.reveal(campaign_id, params, secrets.token_bytes(32), b"\x00" * 32))
    assert refused.value.name == "CommitmentMismatch"
    sender.send(registry.functions.reveal(campaign_id, params, salt, b"\x01" * 32))
    customer = dev_accounts[0].address
    assert registry.functions.inHoldout(campaign_id, customer).call() == experiments.in_holdout(salt, customer, 1_000)
