"""Deploys the three contracts to a chain once and remembers their addresses per chain."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import BlockNotFound

from app.chain.compiler import Artifact, compile_contracts, source_hash
from app.chain.transactions import Sender


@dataclass(frozen=True)
class Deployment:
    """Where the programme's contracts live on one chain."""

    chain_id: int
    genesis_hash: str
    block: int
    block_hash: str
    token: str
    registry: str
    distributor: str
    operator: str
    relayer: str
    source_hash: str


def _store_file(store_dir: Path, chain_id: int) -> Path:
    return store_dir / f"{chain_id}.json"


def genesis_hash(w3: Web3) -> str:
    return Web3.to_hex(w3.eth.get_block(0)["hash"])


def block_hash(w3: Web3, number: int) -> str | None:
    """The hash of block `number`, or None if this chain has no such block yet."""
    try:
        return Web3.to_hex(w3.eth.get_block(number)["hash"])
    except BlockNotFound:
        return None


def is_same_chain(w3: Web3, deployment: Deployment) -> bool:
    """Whether the chain at `w3` is the one `deployment` was made on.

    Identity is the hash of the deployment's block, not the genesis hash: anvil regenerates its
    genesis block when it reloads a dumped state (seen with anvil 1.7.1 --state), while later
    blocks keep their hashes; a fresh chain, even with the same chain id and the same contract
    addresses, has another hash at that height.
    """
    return w3.eth.chain_id == deployment.chain_id and block_hash(w3, deployment.block) == deployment.block_hash


def load_deployment(w3: Web3, store_dir: Path) -> Deployment | None:
    """The remembered deployment if it is still on this chain (same genesis, code present)."""
    path = _store_file(store_dir, w3.eth.chain_id)
    if not path.exists():
        return None
    try:
        known = Deployment(**json.loads(path.read_text()))
    except TypeError:  # written by an older version without block_hash
        return None
    if not is_same_chain(w3, known):
        return None
    if any(
        w3.eth.get_code(Web3.to_checksum_address(a)) in (b"", None)
        for a in (known.token, known.registry, known.distributor)
    ):
        return None
    return known


def _deploy_one(w3: Web3, sender: Sender, artifact: Artifact, *args: object) -> tuple[ChecksumAddress, int]:
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    sent = sender.send(factory.constructor(*args))
    address = sent.receipt["contractAddress"]
    assert address is not None, "a successful contract creation's receipt names the new contract"
    return Web3.to_checksum_address(address), sent.block_number


def deploy(w3: Web3, operator: LocalAccount, relayer_address: str) -> Deployment:
    """Deploys token, registry and distributor with the operator as admin; grants roles."""
    artifacts = compile_contracts()
    sender = Sender(w3, operator)
    token, first_block = _deploy_one(w3, sender, artifacts["CashbackToken"], operator.address)
    registry, _ = _deploy_one(w3, sender, artifacts["ConsentRegistry"], operator.address)
    distributor, _ = _deploy_one(w3, sender, artifacts["RewardDistributor"], token, operator.address)
    # One unit keeps the distributor's token balance slot non-zero for good, so no epoch
    # publication pays 20,000 gas to create it (bench/gas.md).
    cash = w3.eth.contract(address=token, abi=artifacts["CashbackToken"].abi)
    sender.send(cash.functions.mint(distributor, 1))
    reg = w3.eth.contract(address=registry, abi=artifacts["ConsentRegistry"].abi)
    relayer_role = reg.functions.RELAYER_ROLE().call()
    if relayer_address != operator.address:
        sender.send(reg.functions.grantRole(relayer_role, relayer_address))
    return Deployment(
        chain_id=w3.eth.chain_id,
        genesis_hash=genesis_hash(w3),
        block=first_block,
        block_hash=block_hash(w3, first_block) or "",
        token=token,
        registry=registry,
        distributor=distributor,
        operator=operator.address,
        relayer=Web3.to_checksum_address(relayer_address),
        source_hash=source_hash(),
    )


def ensure_deployed(w3: Web3, operator: LocalAccount, relayer_address: str, store_dir: Path) -> tuple[Deployment, bool]:
    """The deployment on this chain, deploying first if there is none. Returns (deployment, created)."""
    known = load_deployment(w3, store_dir)
    if known is not None:
        return known, False
    fresh = deploy(w3, operator, relayer_address)
    store_dir.mkdir(parents=True, exist_ok=True)
    path = _store_file(store_dir, fresh.chain_id)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(fresh), indent=2) + "\n")
    tmp.replace(path)
    return fresh, True
