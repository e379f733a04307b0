"""The contracts' custom errors as exception classes, one per error, generated from the ABIs on first use.

`errors.NotANarrowing` (or `chain.registry.errors.NotANarrowing`) is a subclass of ContractRevert, itself
a ChainRefused, so callers catch the refusal they mean and the API still answers 409 for any other.
Classes are made the first time one is asked for (the ABIs come from the compile cache), and revert
data is decoded by selector into an instance of its class carrying the error's named arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any, ClassVar

from eth_abi import decode
from eth_utils import keccak, to_bytes, to_checksum_address
from web3.exceptions import ContractCustomError, ContractLogicError

from app.chain.compiler import load_abis
from app.errors import ChainRefused


class ContractRevert(ChainRefused):
    """A contract refused a call with one of its custom errors; `name` and `args_` say which and why."""

    error_name: ClassVar[str] = ""
    signature: ClassVar[str] = ""
    selector: ClassVar[bytes] = b""
    inputs: ClassVar[tuple[tuple[str, str], ...]] = ()  # (name, ABI type) of each argument

    def __init__(self, args_: dict[str, Any], raw: str = "0x", *, name: str | None = None):
        self.name = name or self.error_name
        self.args_ = args_
        self.raw = raw
        inner = ", ".join(f"{k}={v}" for k, v in args_.items())
        super().__init__(f"the contract refused: {self.name}({inner})", error=self.name, args=_jsonable(args_))


def _jsonable(args: dict[str, Any]) -> dict[str, Any]:
    return {k: ("0x" + v.hex() if isinstance(v, bytes) else v) for k, v in args.items()}


@lru_cache
def _classes() -> dict[str, type[ContractRevert]]:
    """Every custom error of the programme's contracts by name (one class per name and signature)."""
    made: dict[str, type[ContractRevert]] = {}
    for abi in load_abis().values():
        for item in abi:
            if item.get("type") != "error":
                continue
            inputs = tuple((str(i["name"]), str(i["type"])) for i in item["inputs"])
            signature = f"{item['name']}({','.join(t for _, t in inputs)})"
            known = made.get(item["name"])
            if known is not None:
                # The same error declared by two contracts (ZeroAddress, LengthMismatch): one class.
                assert known.signature == signature, f"two errors named {item['name']}: {known.signature}, {signature}"
                continue
            made[item["name"]] = type(
                item["name"],
                (ContractRevert,),
                {
                    "__doc__": f"The custom error `{signature}`.",
                    "__module__": __name__,
                    "error_name": item["name"],
                    "signature": signature,
                    "selector": keccak(text=signature)[:4],
                    "inputs": inputs,
                },
            )
    return made


@lru_cache
def _by_selector() -> dict[bytes, type[ContractRevert]]:
    return {cls.selector: cls for cls in _classes().values()}


def error_class(name: str) -> type[ContractRevert]:
    """The class of custom error `name`; AttributeError if no contract of the programme declares it."""
    found = _classes().get(name)
    if found is None:
        raise AttributeError(f"no contract of the programme declares an error {name!r}")
    return found


def all_errors() -> dict[str, type[ContractRevert]]:
    """Every custom error class by name (for the pages' wording and its test)."""
    return dict(_classes())


def __getattr__(name: str) -> type[ContractRevert]:
    # `errors.NotANarrowing`: the generated class (module attributes are looked up here only when missing).
    if name.startswith("__"):
        raise AttributeError(name)
    return error_class(name)


class ContractErrors:
    """The custom errors one contract can revert with, as attributes: `registry.errors.NotANarrowing`."""

    def __init__(self, contracts: Iterable[str]):
        self._contracts = tuple(contracts)

    @property
    def names(self) -> frozenset[str]:
        return _error_names(self._contracts)

    def __getattr__(self, name: str) -> type[ContractRevert]:
        if name.startswith("_") or name not in self.names:
            raise AttributeError(f"{' / '.join(self._contracts)} declares no error {name!r}")
        return error_class(name)


@lru_cache
def _error_names(contracts: tuple[str, ...]) -> frozenset[str]:
    abis = load_abis()
    return frozenset(item["name"] for c in contracts for item in abis[c] if item.get("type") == "error")


def decode_revert(data: str | bytes | None) -> ContractRevert | None:
    """The named error for revert `data`, or None when the selector is unknown."""
    if not data:
        return None
    raw = to_bytes(hexstr=data) if isinstance(data, str) else bytes(data)
    cls = _by_selector().get(raw[:4])
    if cls is None:
        return None
    types = [t for _, t in cls.inputs]
    values = [
        to_checksum_address(v) if t == "address" else v
        for t, v in zip(types, decode(types, raw[4:]) if types else (), strict=True)
    ]
    return cls(dict(zip((n for n, _ in cls.inputs), values, strict=True)), "0x" + raw.hex())


def as_revert(exc: BaseException) -> ContractRevert | None:
    """The named contract error behind a web3 exception, if it is one."""
    if isinstance(exc, ContractRevert):
        return exc
    if isinstance(exc, ContractCustomError | ContractLogicError):
        data = exc.data if isinstance(exc.data, str) else getattr(exc, "message", None)
        return decode_revert(data) if isinstance(data, str) and data.startswith("0x") else None
    return None
