"""The compiled artifacts on a real anvil: signed consent, access, root, claim, balances."""

from __future__ import annotations

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from app.chain import eip712
from app.chain.deployment import Deployment, ensure_deployed
from app.chain.errors import ContractRevert
from app.chain.keys import RoleKeys
from app.chain.merkle import verify
from app.chain.transactions import Sender
from tests.factories import SaltedTree, contracts, pass_challenge_window, signature_timing

pytestmark = pytest.mark.chain

MARKETING = 1
INTERESTS, PURCHASES = 1 << 0, 1 << 1


def test_typehashes_match_contract(w3: Web3, deployment: Deployment) -> None:
    _, registry, _ = contracts(w3, deployment)
    for primary in eip712.TYPES:
        getter = {"AccessLimits": "ACCESS_LIMITS"}.get(primary, primary.upper())
        assert getattr(registry.functions, f"{getter}_TYPEHASH")().call() == eip712.typehash(primary), primary


def test_consent_access_epoch_claim_roundtrip(
    w3: Web3,
    deployment: Deployment,
    role_keys: RoleKeys,
    dev_accounts: list[LocalAccount],
) -> None:
    token, registry, distributor = contracts(w3, deployment)
    ops, relay = Sender(w3, role_keys.operator), Sender(w3, role_keys.relayer)
    record = Sender(w3, role_keys.recorder)
    customer, other, brand = dev_accounts[0], dev_accounts[1], dev_accounts[2]

    ops.send(registry.functions.registerBrand(brand.address))
    budget = 1_000 * 10**18
    ops.send(distributor.functions.fund(brand.address, budget, b"\x44" * 32))
    Sender(w3, brand).send(registry.functions.setAccessLimits((budget, 500 * 10**18)))

    # The customer signs a grant with their own key; the relayer sends it.
    price = 250 * 10**18
    terms = {
        "customer": customer.address,
        "brand": brand.address,
        "purpose": MARKETING,
        "categories": INTERESTS | PURCHASES,
        "expiresAt": 0,
        "price": price,
        "receiptHash": b"\x11" * 32,
        "noticeHash": b"\x22" * 32,
    }
    timing = signature_timing(w3)
    doc = eip712.typed_data("Grant", {**terms, **timing}, chain_id=w3.eth.chain_id, registry=deployment.registry)
    signature = eip712.sign_typed_data(customer.key, doc)
    assert eip712.recover_signer(doc, signature) == customer.address
    relay.send(registry.functions.grantBySig(tuple(terms.values()), eip712.timing(timing), signature))
    assert registry.functions.covers(customer.address, brand.address, MARKETING, INTERESTS).call()
    assert registry.functions.isNonceUsed(customer.address, timing["nonce"]).call()

    # Replaying the same signature fails (its nonce is used).
    with pytest.raises(ContractRevert) as refused:
        relay.send(registry.functions.grantBySig(tuple(terms.values()), eip712.timing(timing), signature))
    assert refused.value.name == "NonceAlreadyUsed"

    # The recorder records the brand's access at the agreed price; a customer without consent is
    # skipped and reported, not a reason to refuse the batch.
    sent = record.send(
        registry.functions.recordAccess(
            brand.address, MARKETING, INTERESTS, [customer.address, other.address], [price, price], b"\x01" * 32
        )
    )
    (event,) = registry.events.AccessRecorded().process_receipt(sent.receipt)
    assert event["args"]["customers"] == [customer.address]
    assert event["args"]["prices"] == [price]
    (skipped,) = registry.events.AccessSkipped().process_receipt(sent.receipt)
    assert skipped["args"]["customers"] == [other.address] and skipped["args"]["reasons"] == [0]  # NotCovered
    assert distributor.functions.reservedOf(brand.address).call() == price

    # The operator publishes a root over a few accounts; it pays only after the challenge window.
    owed = {customer.address: price, other.address: 40 * 10**18, dev_accounts[3].address: 7}
    tree = SaltedTree(owed)
    total = sum(owed.values())
    debit = (brand.address, price, total - price)  # the access from the reserve, the rest from the budget
    ops.send(distributor.functions.publishEpoch(1, tree.root, b"\x33" * 32, [debit], [], 0))
    assert distributor.functions.pendingEpoch().call()[1] == tree.root
    assert distributor.functions.budgetOf(brand.address).call() == budget - total
    assert distributor.functions.reservedOf(brand.address).call() == 0

    with pytest.raises(ContractRevert):  # no root is claimable inside the window
        Sender(w3, customer).send(distributor.functions.claim(*tree.claim_args(customer.address)))
    pass_challenge_window(w3, distributor.functions.pendingEpoch().call()[2])
    relay.send(distributor.functions.finalizeEpoch())
    assert distributor.functions.claimableRoot().call() == tree.root

    # The customer claims with their own key; a relayer claims for the others in one batch.
    assert verify(tree.claim_args(customer.address)[3], tree.root, tree.tree.leaf(customer.address.lower()))
    Sender(w3, customer).send(distributor.functions.claim(*tree.claim_args(customer.address)))
    rest = [tree.claim_args(a) for a in sorted(owed) if a != customer.address]
    relay.send(distributor.functions.claimMany(*(list(column) for column in zip(*rest, strict=True))))
    for account in owed:
        assert token.functions.balanceOf(account).call() == owed[account]
        assert distributor.functions.claimed(account).call() == owed[account]
    assert token.functions.balanceOf(deployment.distributor).call() == 0
    assert token.functions.balanceOf(deployment.vault).call() == budget - total
    assert token.functions.totalSupply().call() == budget

    # Nothing is paid twice.
    with pytest.raises(ContractRevert) as refused:
        Sender(w3, customer).send(distributor.functions.claim(*tree.claim_args(customer.address)))
    assert refused.value.name == "NothingToClaim"


def test_ensure_deployed_reuses_addresses(w3: Web3, role_keys: RoleKeys, tmp_path) -> None:
    first, created = ensure_deployed(w3, role_keys, tmp_path, challenge_window=5)
    again, created_again = ensure_deployed(w3, role_keys, tmp_path, challenge_window=5)
    assert created and not created_again
    assert again == first


def test_each_role_has_its_own_key(w3: Web3, deployment: Deployment, role_keys: RoleKeys) -> None:
    _, registry, distributor = contracts(w3, deployment)
    addresses = role_keys.addresses()
    assert len(set(addresses.values())) == len(addresses)
    expected = {
        (registry, "DEFAULT_ADMIN_ROLE"): "admin",
        (registry, "OPERATOR_ROLE"): "operator",
        (registry, "RECORDER_ROLE"): "recorder",
        (registry, "PAUSER_ROLE"): "pauser",
        (distributor, "DEFAULT_ADMIN_ROLE"): "admin",
        (distributor, "OPERATOR_ROLE"): "operator",
        (distributor, "FUNDER_ROLE"): "operator",
        (distributor, "AUDITOR_ROLE"): "auditor",
        (distributor, "PAUSER_ROLE"): "pauser",
    }
    for (contract, name), holder in expected.items():
        role = getattr(contract.functions, name)().call()
        for other, address in addresses.items():
            assert contract.functions.hasRole(role, address).call() == (other == holder), (name, other)
    assert registry.functions.distributor().call() == deployment.distributor
    assert distributor.functions.challengeWindow().call() == deployment.challenge_window
