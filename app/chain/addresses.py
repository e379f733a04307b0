"""Addresses and hashes as the chain spells them (EIP-55 checksums, keccak256), for code outside app/chain."""

from __future__ import annotations

from eth_hash.auto import keccak as _raw_keccak
from eth_utils import is_checksum_address, keccak, to_checksum_address


def checksum(address: str) -> str:
    """The EIP-55 spelling of a 20-byte hex address; ValueError if it is not one."""
    return str(to_checksum_address(address))


def is_checksummed(address: str) -> bool:
    """Whether `address` is spelt with its EIP-55 checksum."""
    return bool(is_checksum_address(address))


def keccak256(data: bytes | str) -> bytes:
    """keccak256 of bytes, or of a text's UTF-8 bytes."""
    return bytes(keccak(text=data) if isinstance(data, str) else keccak(data))


def checksum_lower(lower: str) -> str:
    """EIP-55 form of a lower-case 0x address, as `checksum` but with less overhead (ingestion's hot path)."""
    body = lower[2:]
    digest = _raw_keccak(body.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if d > "7" else c for c, d in zip(body, digest[:40], strict=True))
