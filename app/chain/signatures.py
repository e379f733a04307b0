"""Who signed what: an EOA's ECDSA signature, or a contract wallet's ERC-1271 `isValidSignature` asked on chain."""

from __future__ import annotations

from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_account.messages import SignableMessage, _hash_eip191_message, encode_defunct, encode_typed_data
from eth_utils import function_signature_to_4byte_selector, to_checksum_address
from web3.exceptions import ContractLogicError

from app.chain.gateway import ChainGateway

ERC1271_MAGIC = function_signature_to_4byte_selector("isValidSignature(bytes32,bytes)")  # 0x1626ba7e
# A wallet's check is a view call; the cap keeps a hostile wallet from making the API spin on it.
ERC1271_GAS_CAP = 500_000


def _recovered(message: SignableMessage, signature: bytes) -> str | None:
    try:
        return str(Account.recover_message(message, signature=signature))
    except Exception:  # noqa: BLE001 - not a valid ECDSA signature (it may still be a contract wallet's)
        return None


def signs(chain: ChainGateway, address: str, message: SignableMessage, signature: bytes) -> bool:
    """Whether `address` signed `message`: as OpenZeppelin's SignatureChecker, ECDSA first, then ERC-1271
    if the address holds code, so the API accepts exactly the signatures the registry accepts."""
    address = to_checksum_address(address)
    if _recovered(message, signature) == address:
        return True
    if not chain.code_at(address):
        return False
    digest = _hash_eip191_message(message)
    data = ERC1271_MAGIC + encode(["bytes32", "bytes"], [digest, signature])

    def ask() -> bytes:
        try:
            return bytes(chain.w3.eth.call({"to": address, "data": data, "gas": ERC1271_GAS_CAP}))  # type: ignore[typeddict-item]
        except ContractLogicError:
            return b""  # the wallet reverted: not its signature

    answer = chain.guard(ask)
    return len(answer) >= 32 and answer[:4] == ERC1271_MAGIC


def signs_typed_data(chain: ChainGateway, address: str, document: dict[str, Any], signature: bytes) -> bool:
    """Whether `address` (an EOA or an ERC-1271 wallet) signed this EIP-712 document."""
    return signs(chain, address, encode_typed_data(full_message=document), signature)


def signs_text(chain: ChainGateway, address: str, text: str, signature: bytes) -> bool:
    """Whether `address` signed `text` with personal_sign (EIP-191), e.g. a SIWE message."""
    return signs(chain, address, encode_defunct(text=text), signature)
