"""The compiled artifacts on a real anvil: signed consent, access, root, claim, balances."""

from __future__ import annotations

import time

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from app.chain import eip712
from app.chain.deployment import Deployment, ensure_deployed
from app.chain.errors import ContractRevert
from app.chain.merkle import build_tree, claim_many_args, distributor_takes_salt, epoch_leaves, pack_debit
from app.chain.transactions import Sender
from tests.factories import contracts

pytestmark = pytest.mark.chain

MARKETING = 1
INTERESTS, PURCHASES = 1 << 0, 1 << 1


def test_typehashes_match_contract(w3: Web3, deployment: Deployment) -> None:
    _, registry, _ = contracts(w3, deployment)
    assert registry.functions.GRANT_TYPEHASH().call() == eip712.typehash("Grant")
    assert registry.functions.NARROW_TYPEHASH().call() == eip712.typehash("Narrow")
    assert registry.functions.REVOKE_TYPEHASH().call() == eip712.typehash("Revoke")


def test_consent_access_epoch_claim_roundtrip(
    w3: Web3, deployment: Deployment, operator: LocalAccount, relayer: LocalAccount, dev_accounts: list[LocalAccount]
) -> None:
    token, registry, distributor = contracts(w3, deployment)
    ops, relay = Sender(w3, operator), Sender(w3, relayer)
    customer, other, brand = dev_accounts[0], dev_accounts[1], dev_accounts[2]

    ops.send(registry.functions.registerBrand(brand.address))

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
    deadline = int(time.time()) + 3600
    nonce = registry.functions.nonces(customer.address).call()
    doc = eip712.typed_data(
        "Grant", {**terms, "nonce": nonce, "deadline": deadline}, chain_id=w3.eth.chain_id, registry=deployment.registry
    )
    signature = eip712.sign_typed_data(customer.key, doc)
    assert eip712.recover_signer(doc, signature) == customer.address
    relay.send(registry.functions.grantBySig(tuple(terms.values()), deadline, signature))
    assert registry.functions.covers(customer.address, brand.address, MARKETING, INTERESTS).call()
    assert registry.functions.nonces(customer.address).call() == nonce + 1

    # Replaying the same signature fails (the nonce moved on).
    with pytest.raises(ContractRevert) as refused:
        relay.send(registry.functions.grantBySig(tuple(terms.values()), deadline, signature))
    assert refused.value.name == "InvalidSignature"

    # The relayer records the brand's access; the event names the customer and price.
    sent = relay.send(
        registry.functions.recordAccess(brand.address, MARKETING, INTERESTS, [customer.address], b"\x01" * 32)
    )
    (event,) = registry.events.AccessRecorded().process_receipt(sent.receipt)
    assert event["args"]["customers"] == [customer.address]
    assert event["args"]["prices"] == [price]
    # A customer without consent makes the batch revert.
    with pytest.raises(ContractRevert) as refused:
        relay.send(
            registry.functions.recordAccess(
                brand.address, MARKETING, INTERESTS, [customer.address, other.address], b"\x02" * 32
            )
        )
    assert refused.value.name == "ConsentNotCovering"
    assert refused.value.args_["customer"] == other.address

    # The brand funds its budget; the operator publishes a root over a few accounts.
    budget = 1_000 * 10**18
    ops.send(token.functions.mint(brand.address, budget))
    brand_sender = Sender(w3, brand)
    brand_sender.send(token.functions.approve(deployment.distributor, budget))
    brand_sender.send(distributor.functions.deposit(brand.address, budget))

    owed = {customer.address: price, other.address: 40 * 10**18, dev_accounts[3].address: 7}
    accounts = sorted(owed)
    tree = build_tree(epoch_leaves(owed.items(), epoch=1, key=b"salt-key" if distributor_takes_salt() else None))
    total = sum(owed.values())
    ops.send(distributor.functions.publishEpoch(1, tree.root, b"\x33" * 32, [pack_debit(brand.address, total)]))
    assert distributor.functions.currentRoot().call() == tree.root
    assert distributor.functions.budgetOf(brand.address).call() == budget - total

    # The customer claims with their own key; a relayer claims for the others in one batch.
    mine = tree.leaf_proof(customer.address)
    assert mine.verifies() and mine.cumulative == price
    Sender(w3, customer).send(distributor.functions.claim(*mine.claim_args()))
    rest = [tree.leaf_proof(a) for a in accounts if a != customer.address]
    relay.send(distributor.functions.claimMany(*claim_many_args(rest)))
    for account in accounts:
        assert token.functions.balanceOf(account).call() == owed[account]
        assert distributor.functions.claimed(account).call() == owed[account]
    assert token.functions.balanceOf(deployment.distributor).call() == 1  # the deployment's seed unit
    vault = distributor.functions.vault().call()
    assert token.functions.balanceOf(vault).call() == budget - total

    # Nothing is paid twice.
    with pytest.raises(ContractRevert) as refused:
        Sender(w3, customer).send(distributor.functions.claim(*mine.claim_args()))
    assert refused.value.name == "NothingToClaim"


def test_ensure_deployed_reuses_addresses(w3: Web3, operator: LocalAccount, relayer: LocalAccount, tmp_path) -> None:
    first, created = ensure_deployed(w3, operator, relayer.address, tmp_path)
    again, created_again = ensure_deployed(w3, operator, relayer.address, tmp_path)
    assert created and not created_again
    assert again == first
