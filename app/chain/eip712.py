"""EIP-712 typed data of ConsentRegistry: the same type strings as the contract, signed by customers."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

DOMAIN_NAME = "ConsentRegistry"
DOMAIN_VERSION = "1"

# When a signature was made, which unordered nonce it uses and until when it may be relayed: the
# tail of every signed message (the registry refuses grants signed at or before the last revoke,
# signatures at or before the signer's cutoff, used nonces and deadlines beyond signedAt + 1 day).
_TIMING = [
    {"name": "signedAt", "type": "uint40"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]

# Field lists in the contract's order; tests pin keccak(type string) to the contract's typehashes.
TYPES: dict[str, list[dict[str, str]]] = {
    "Grant": [
        {"name": "customer", "type": "address"},
        {"name": "brand", "type": "address"},
        {"name": "purpose", "type": "uint8"},
        {"name": "categories", "type": "uint64"},
        {"name": "expiresAt", "type": "uint40"},
        {"name": "price", "type": "uint96"},
        {"name": "receiptHash", "type": "bytes32"},
        {"name": "noticeHash", "type": "bytes32"},
        *_TIMING,
    ],
    "Narrow": [
        {"name": "customer", "type": "address"},
        {"name": "brand", "type": "address"},
        {"name": "purpose", "type": "uint8"},
        {"name": "categories", "type": "uint64"},
        {"name": "expiresAt", "type": "uint40"},
        *_TIMING,
    ],
    "Revoke": [
        {"name": "customer", "type": "address"},
        {"name": "brand", "type": "address"},
        {"name": "purpose", "type": "uint8"},
        *_TIMING,
    ],
    "Invalidate": [
        {"name": "signer", "type": "address"},
        {"name": "wordPos", "type": "uint256"},
        {"name": "mask", "type": "uint256"},
        {"name": "cutoff", "type": "uint40"},
        *_TIMING,
    ],
    "AccessLimits": [
        {"name": "brand", "type": "address"},
        {"name": "allowance", "type": "uint96"},
        {"name": "maxPrice", "type": "uint96"},
        *_TIMING,
    ],
}

EIP712_DOMAIN = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def type_string(primary: str) -> str:
    """The canonical EIP-712 type string, e.g. `Revoke(address customer,...)`."""
    fields = ",".join(f"{f['type']} {f['name']}" for f in TYPES[primary])
    return f"{primary}({fields})"


def typehash(primary: str) -> bytes:
    return keccak(text=type_string(primary))


def typed_data(primary: str, message: dict[str, Any], *, chain_id: int, registry: str) -> dict[str, Any]:
    """The full typed-data document a wallet signs (eth_signTypedData_v4 shape)."""
    return {
        "types": {"EIP712Domain": EIP712_DOMAIN, primary: TYPES[primary]},
        "primaryType": primary,
        "domain": {
            "name": DOMAIN_NAME,
            "version": DOMAIN_VERSION,
            "chainId": chain_id,
            "verifyingContract": registry,
        },
        "message": message,
    }


def timing(message: dict[str, Any]) -> tuple[int, int, int]:
    """The (signedAt, nonce, deadline) tuple the registry's `*BySig` functions take."""
    return int(message["signedAt"]), int(message["nonce"]), int(message["deadline"])


def sign_typed_data(private_key: str | bytes, document: dict[str, Any]) -> bytes:
    """Signs a typed-data document with a local key (what a wallet does); 65-byte r||s||v."""
    signed = Account.sign_message(encode_typed_data(full_message=document), private_key)
    return bytes(signed.signature)


def recover_signer(document: dict[str, Any], signature: bytes) -> str:
    """The address that signed `document` (EOAs only; contract wallets are checked on chain)."""
    return Account.recover_message(encode_typed_data(full_message=document), signature=signature)
