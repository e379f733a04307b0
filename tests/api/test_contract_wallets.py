"""Smart-contract wallets (ERC-1271) through the API: a MockERC1271Wallet signs in by SIWE (npm siwe + its
owner's ethers Wallet) and grants a consent the relayer puts on chain; a stranger's signature is refused."""

from __future__ import annotations

from app.chain.eip712 import sign_typed_data
from tests.conftest import DEV_KEYS, make_brand
from tests.factories import deploy_wallet, node_sign, standard_fields


def test_a_contract_wallet_signs_in_and_grants_a_consent(client, settings, w3, operator, admin_headers, dev_accounts):
    owner_key, owner = DEV_KEYS[3], dev_accounts[3]
    wallet = deploy_wallet(w3, operator, owner.address)
    brand, _ = make_brand(client, admin_headers, dev_accounts[5], name="Acme")

    signed = node_sign(owner_key, fields=standard_fields(client, settings, wallet))
    assert wallet in signed["message"] and owner.address not in signed["message"]
    answer = client.post("/auth/siwe/verify", json={"message": signed["message"], "signature": signed["signature"]})
    assert answer.status_code == 200, answer.text
    assert answer.json()["address"] == wallet
    headers = {"Authorization": f"Bearer {answer.json()['token']}"}

    typed = client.post(
        "/consents/typed-data",
        json={"action": "grant", "brand": brand["id"], "purpose": "marketing", "categories": ["cart"], "no_end": True},
        headers=headers,
    ).json()
    assert typed["typed_data"]["message"]["customer"] == wallet
    stranger = "0x" + sign_typed_data(DEV_KEYS[4], typed["typed_data"]).hex()
    refused = client.post("/consents", json={"request_id": typed["request_id"], "signature": stranger}, headers=headers)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"] == "invalid_signature"

    by_owner = "0x" + sign_typed_data(owner_key, typed["typed_data"]).hex()
    relayed = client.post("/consents", json={"request_id": typed["request_id"], "signature": by_owner}, headers=headers)
    assert relayed.status_code == 200, relayed.text
    assert relayed.json()["consent"]["in_force"] is True
    listed = client.get("/consents", headers=headers).json()
    assert [(c["status"], c["receipt_on_chain"], c["on_chain"]["in_force"]) for c in listed] == [("active", True, True)]


def test_a_contract_wallet_sign_in_by_a_stranger_is_refused(client, settings, w3, operator, dev_accounts) -> None:
    wallet = deploy_wallet(w3, operator, dev_accounts[3].address)
    signed = node_sign(DEV_KEYS[4], fields=standard_fields(client, settings, wallet))
    answer = client.post("/auth/siwe/verify", json={"message": signed["message"], "signature": signed["signature"]})
    assert answer.status_code == 401, answer.text
    assert "not from the address" in answer.json()["message"]
