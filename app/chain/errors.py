"""Decodes revert data against the contracts' ABIs into the contract's named custom error."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode
from eth_utils import keccak, to_bytes, to_checksum_address
from web3.exceptions import ContractCustomError, ContractLogicError

from app.chain.compiler import load_abis


@dataclass(frozen=True)
class ContractRevert(Exception):
    """A contract refused a call, with its custom error's name and arguments."""

    name: str
    args_: dict[str, Any]
    raw: str

    def __str__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.args_.items())
        return f"{self.name}({inner})"


@lru_cache
def _errors_by_selector() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table: dict[bytes, tuple[str, list[str], list[str]]] = {}
    for abi in load_abis().values():
        for item in abi:
            if item.get("type") != "error":
                continue
            types = [i["type"] for i in item["inputs"]]
            names = [i["name"] for i in item["inputs"]]
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            table[selector] = (item["name"], types, names)
    return table


def decode_revert(data: str | bytes | None) -> ContractRevert | None:
    """The named error for revert `data`, or None when the selector is unknown."""
    if not data:
        return None
    raw = to_bytes(hexstr=data) if isinstance(data, str) else bytes(data)
    entry = _errors_by_selector().get(raw[:4])
    if entry is None:
        return None
    name, types, names = entry
    values = [
        to_checksum_address(v) if t == "address" else v
        for t, v in zip(types, decode(types, raw[4:]) if types else (), strict=True)
    ]
    return ContractRevert(name, dict(zip(names, values, strict=True)), "0x" + raw.hex())


def as_revert(exc: BaseException) -> ContractRevert | None:
    """The named contract error behind a web3 exception, if it is one."""
    if isinstance(exc, ContractCustomError | ContractLogicError):
        data = exc.data if isinstance(exc.data, str) else getattr(exc, "message", None)
        return decode_revert(data) if isinstance(data, str) and data.startswith("0x") else None
    return None
