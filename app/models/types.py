"""Validated field types shared by request and response models: addresses, hashes, signatures, amounts."""

from __future__ import annotations

import re
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, Field
from sqlalchemy.types import TypeDecorator

from app.chain.addresses import checksum as to_checksum_address

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


Address = Annotated[str, AfterValidator(_address), Field(json_schema_extra={"pattern": _ADDRESS.pattern})]
"""An EVM address, returned in checksum form."""

Bytes32 = Annotated[str, AfterValidator(_bytes32), Field(json_schema_extra={"pattern": _BYTES32.pattern})]
"""A 32-byte hash as 0x-hex."""

Signature = Annotated[str, AfterValidator(_signature), Field(json_schema_extra={"pattern": _SIGNATURE.pattern})]
"""A 65-byte ECDSA signature (r || s || v) as 0x-hex."""

TokenAmount = Annotated[int, Field(ge=0, lt=2**96)]
"""CASH in its smallest unit (18 decimals); never a float. Bounded by the contracts' uint96 prices."""


# -- database column types ------------------------------------------------------------------------

UINT_DIGITS = 78  # len(str(2**256 - 1))


class UintString(TypeDecorator[int]):
    """An unsigned integer of up to 256 bits, stored exactly as its decimal string."""

    impl = sa.String(UINT_DIGITS)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        number = int(value)
        if number < 0 or number >= 2**256:
            raise ValueError(f"not a uint256: {number}")
        return str(number)

    def process_result_value(self, value: Any, dialect: Any) -> int | None:
        return None if value is None else int(value)
