"""Validated field types shared by request and response models: addresses, hashes, signatures, amounts."""

from __future__ import annotations

import re
from typing import Annotated

from eth_utils import to_checksum_address
from pydantic import AfterValidator, Field

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_BYTES32 = re.compile(r"^0x[0-9a-fA-F]{64}$")
_SIGNATURE = re.compile(r"^0x[0-9a-fA-F]{130}$")


def _address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError("must be a 0x-prefixed 20-byte hex address")
    return to_checksum_address(value)


def _bytes32(value: str) -> str:
    if not _BYTES32.match(value):
        raise ValueError("must be a 0x-prefixed 32-byte hex string")
    return value.lower()


def _signature(value: str) -> str:
    if not _SIGNATURE.match(value):
        raise ValueError("must be a 0x-prefixed 65-byte hex signature")
    return value.lower()


Address = Annotated[str, AfterValidator(_address)]
"""An EVM address, returned in checksum form."""

Bytes32 = Annotated[str, AfterValidator(_bytes32)]
"""A 32-byte hash as 0x-hex."""

Signature = Annotated[str, AfterValidator(_signature)]
"""A 65-byte ECDSA signature (r || s || v) as 0x-hex."""

TokenAmount = Annotated[int, Field(ge=0, lt=2**96)]
"""CASH in its smallest unit (18 decimals); never a float. Bounded by the contracts' uint96 prices."""
