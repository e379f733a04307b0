"""Deploys the contracts to a chain once and remembers their addresses and role keys per chain."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.exceptions import BlockNotFound

from app.chain.compiler import Artifact, compile_contracts, source_hash
from app.chain.keys import RoleKeys
from app.chain.transactions import Sender

# Seconds a transfer of the admin role waits (AccessControlDefaultAdminRules).
ADMIN_DELAY = 2 * 86_400


@dataclass(frozen=True)
class Deployment:
    """Where the programme's contracts live on one chain, and which key holds each role."""

    chain_id: int
    genesis_hash: str
    block: int
    block_hash: str
    token: str
    registry: str
    distributor: str
    vault: str
    admin: str
    operator: str
    relayer: str
    recorder: str
    auditor: str
    pauser: str
    challenge_window: int
    source_hash: str
    # CampaignRegistry (campaign holdouts committed before the start); empty in a file written before it
    # existed, which ensure_deployed completes by deploying just this contract.
    campaigns: str = ""
    # PaymentRouter (permit-and-pay of CASH to brands); empty in a file written before it existed,
    # which ensure_deployed completes the same way.
    payments: str = ""


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


def deploy(w3: Web3, keys: RoleKeys, *, challenge_window: int, admin_delay: int = ADMIN_DELAY) -> Deployment:
    """Deploys registry and distributor (which creates the token and its vault) with the admin key, each
    role granted to its own key by the constructors, then binds the distributor (docs/contracts.md)."""
    artifacts = compile_contracts()
    admin = Sender(w3, keys.admin)
    role = keys.addresses()
    registry, first_block = _deploy_one(
        w3,
        admin,
        artifacts["ConsentRegistry"],
        admin_delay,
        role["admin"],
        role["operator"],
        role["recorder"],
        role["pauser"],
    )
    # The operator also funds budgets (FUNDER_ROLE): funding mints only into a brand's budget, against a
    # payment the operator received off chain.
    distributor, _ = _deploy_one(
        w3,
        admin,
        artifacts["RewardDistributor"],
        registry,
        challenge_window,
        admin_delay,
        role["admin"],
        role["operator"],
        role["operator"],
        role["auditor"],
        role["pauser"],
    )
    bound = w3.eth.contract(address=distributor, abi=artifacts["RewardDistributor"].abi)
    token = Web3.to_checksum_address(bound.functions.token().call())
    vault = Web3.to_checksum_address(bound.functions.vault().call())
    reg = w3.eth.contract(address=registry, abi=artifacts["ConsentRegistry"].abi)
    admin.send(reg.functions.bindDistributor(distributor))
    campaigns = deploy_campaigns(w3, keys, admin_delay=admin_delay)
    payments = deploy_payment_router(w3, keys, token)
    return Deployment(
        chain_id=w3.eth.chain_id,
        genesis_hash=genesis_hash(w3),
        block=first_block,
        block_hash=block_hash(w3, first_block) or "",
        token=token,
        registry=registry,
        distributor=distributor,
        vault=vault,
        challenge_window=challenge_window,
        source_hash=source_hash(),
        campaigns=campaigns,
        payments=payments,
        **{name: Web3.to_checksum_address(address) for name, address in role.items()},
    )


def deploy_campaigns(w3: Web3, keys: RoleKeys, *, admin_delay: int = ADMIN_DELAY) -> str:
    """Deploys CampaignRegistry with the admin key: admin behind `admin_delay`, the operator commits and reveals
    for brands (a brand's own address may too)."""
    role = keys.addresses()
    address, _ = _deploy_one(
        w3,
        Sender(w3, keys.admin),
        compile_contracts()["CampaignRegistry"],
        admin_delay,
        role["admin"],
        role["operator"],
    )
    return address


def deploy_payment_router(w3: Web3, keys: RoleKeys, token: str) -> str:
    """Deploys PaymentRouter for CASH with the admin key (it holds no role and no state but its domain)."""
    address, _ = _deploy_one(w3, Sender(w3, keys.admin), compile_contracts()["PaymentRouter"], token)
    return address


def _has_code(w3: Web3, address: str) -> bool:
    return bool(address) and w3.eth.get_code(Web3.to_checksum_address(address)) not in (b"", None)


def ensure_deployed(w3: Web3, keys: RoleKeys, store_dir: Path, *, challenge_window: int) -> tuple[Deployment, bool]:
    """The deployment on this chain, deploying first if there is none. Returns (deployment, created)."""
    known = load_deployment(w3, store_dir)
    if known is not None:
        # Deployed before CampaignRegistry or PaymentRouter existed: add them, keeping every other contract.
        completed = known
        if not _has_code(w3, completed.campaigns):
            completed = replace(completed, campaigns=deploy_campaigns(w3, keys))
        if not _has_code(w3, completed.payments):
            completed = replace(completed, payments=deploy_payment_router(w3, keys, completed.token))
        if completed != known:
            _store(store_dir, completed)
        return completed, False
    fresh = deploy(w3, keys, challenge_window=challenge_window)
    _store(store_dir, fresh)
    return fresh, True


def ensure_deployed_at(
    rpc_url: str, keys: RoleKeys, store_dir: Path, *, challenge_window: int
) -> tuple[Deployment, bool]:
    """`ensure_deployed` on the chain answering at `rpc_url`."""
    return ensure_deployed(Web3(Web3.HTTPProvider(rpc_url)), keys, store_dir, challenge_window=challenge_window)


def _store(store_dir: Path, deployment: Deployment) -> None:
    store_dir.mkdir(parents=True, exist_ok=True)
    path = _store_file(store_dir, deployment.chain_id)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(deployment), indent=2) + "\n")
    tmp.replace(path)
