"""The typed CampaignRegistry client on a real anvil: deployed with the others, commit/reveal, events, errors."""

from __future__ import annotations

import json
import secrets
import time

import pytest
from web3 import Web3

from app.chain import campaigns as cc
from app.chain.compiler import load_abis
from app.chain.deployment import Deployment, ensure_deployed
from app.chain.gateway import ChainGateway

pytestmark = pytest.mark.chain


def test_every_abi_error_has_its_exception() -> None:
    abi = [i["name"] for i in load_abis()["CampaignRegistry"] if i["type"] == "error"]
    own = {"CampaignExists", "CampaignNotFound", "TooLateToCommit", "InvalidWindow", "InvalidHoldout"}
    assert own <= set(cc.ERRORS)
    # OpenZeppelin's access-control errors are the gateway's generic ChainRefused; the registry's own are typed.
    registry_errors = {n for n in abi if not n.startswith(("AccessControl", "SafeCast"))}
    assert registry_errors == set(cc.ERRORS)


def test_deployed_with_the_others_and_roles_granted(settings, deployment_of, w3: Web3, role_keys) -> None:
    d = deployment_of(settings)
    assert d.campaigns and w3.eth.get_code(Web3.to_checksum_address(d.campaigns)) != b""
    contract = w3.eth.contract(address=Web3.to_checksum_address(d.campaigns), abi=load_abis()["CampaignRegistry"])
    operator_role = contract.functions.OPERATOR_ROLE().call()
    assert contract.functions.hasRole(operator_role, role_keys.operator.address).call()
    assert contract.functions.owner().call() == role_keys.admin.address
    assert contract.functions.defaultAdminDelay().call() > 0


def test_a_deployment_file_from_before_campaigns_is_completed(settings, deployment_of, w3: Web3, role_keys) -> None:
    d: Deployment = deployment_of(settings)
    path = settings.deployments_dir / f"{d.chain_id}.json"
    old = json.loads(path.read_text())
    del old["campaigns"]
    path.write_text(json.dumps(old))
    completed, created = ensure_deployed(w3, role_keys, settings.deployments_dir, challenge_window=2)
    assert not created and completed.registry == d.registry and completed.campaigns not in ("", d.campaigns)
    assert json.loads(path.read_text())["campaigns"] == completed.campaigns


def test_commit_reveal_events_and_typed_refusals(settings, w3: Web3, dev_accounts) -> None:
    client = cc.CampaignRegistryClient(ChainGateway(settings))
    key, params, salt = (secrets.token_bytes(32) for _ in range(3))
    brand = dev_accounts[4].address
    now = int(w3.eth.get_block("latest")["timestamp"])
    commitment = cc.commitment_of(params, salt)
    assert client.campaign(key) is None
    with pytest.raises(cc.InvalidHoldout):
        client.commit(key, brand, commitment, 5_001, now + 100, now + 200)
    with pytest.raises(cc.TooLateToCommit):
        client.commit(key, brand, commitment, 1_000, now - 1, now + 200)
    # The chain's clock, not this machine's: earlier tests on the shared anvil may have moved it ahead.
    starts = max(int(time.time()), now) + 3
    client.commit(key, brand, commitment, 1_000, starts, starts + 1)
    with pytest.raises(cc.CampaignExists):
        client.commit(key, brand, commitment, 1_000, starts, starts + 1)
    with pytest.raises(cc.TooEarlyToReveal):
        client.reveal(key, params, salt, b"\x07" * 32)
    # Past the end on the chain's clock (moved, not waited for: the chain may be well ahead of this machine).
    while int(w3.eth.get_block("latest")["timestamp"]) < starts + 2:
        w3.provider.make_request("evm_increaseTime", [1])  # type: ignore[arg-type]
        w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    with pytest.raises(cc.CommitmentMismatch) as wrong:
        client.reveal(key, params, secrets.token_bytes(32), b"\x07" * 32)
    assert wrong.value.status_code == 409 and wrong.value.detail["error"] == "CommitmentMismatch"
    client.reveal(key, params, salt, b"\x07" * 32)
    record = client.campaign(key)
    assert record is not None and record.revealed and record.salt == "0x" + salt.hex()
    assert record.brand == brand and record.holdout_bps == 1_000 and record.committed_at < starts
    committed, revealed = [e for e in client.events() if e.campaign_key == "0x" + key.hex()]
    assert isinstance(committed, cc.CampaignCommitted) and committed.commitment == "0x" + commitment.hex()
    assert isinstance(revealed, cc.CampaignRevealed) and revealed.results_hash == "0x" + "07" * 32
    assert client.block_time(committed.block) < committed.starts_at
    customer = dev_accounts[0].address
    assert (
        client.bucket_of(salt, customer)
        == int.from_bytes(Web3.keccak(salt + bytes.fromhex(customer[2:])), "big") % 10_000
    )
