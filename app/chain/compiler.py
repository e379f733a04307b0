"""Compiles contracts/src with the project's solc (py-solc-x) into ABI + bytecode, cached by source hash."""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import solcx

from app.paths import ARTIFACTS_DIR, CONTRACTS_SRC, FOUNDRY_TOML, PACKAGE_LOCK, REPO_ROOT, SOLC

# Deployed by us, and BudgetVault (created by RewardDistributor; its ABI decodes its errors).
DEPLOYABLES = (
    "CashbackToken",
    "ConsentRegistry",
    "RewardDistributor",
    "BudgetVault",
    "CampaignRegistry",
    "PaymentRouter",
)


@dataclass(frozen=True)
class Artifact:
    """What the backend needs of one compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str


def _foundry_profile() -> dict[str, Any]:
    # One source of truth for compiler settings: the same as `forge build`.
    with FOUNDRY_TOML.open("rb") as f:
        return tomllib.load(f)["profile"]["default"]


def _sources() -> list[Path]:
    return sorted(CONTRACTS_SRC.rglob("*.sol"))


def source_hash() -> str:
    """Hash of everything that decides the bytecode: sources, settings, dependency versions."""
    h = hashlib.sha256(",".join(DEPLOYABLES).encode())
    for path in [*_sources(), FOUNDRY_TOML, PACKAGE_LOCK]:
        h.update(str(path.relative_to(REPO_ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _standard_input(sources: list[Path] | None = None) -> dict[str, Any]:
    profile = _foundry_profile()
    remappings = [r for r in profile.get("remappings", []) if not r.startswith("forge-std/")]
    return {
        "language": "Solidity",
        "sources": {str(p.relative_to(REPO_ROOT)): {"content": p.read_text()} for p in sources or _sources()},
        "settings": {
            "remappings": remappings,
            "optimizer": {"enabled": profile.get("optimizer", True), "runs": profile.get("optimizer_runs", 200)},
            "evmVersion": profile.get("evm_version", "cancun"),
            "metadata": {"bytecodeHash": profile.get("bytecode_hash", "ipfs")},
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }


def compile_contracts(*, force: bool = False) -> dict[str, Artifact]:
    """The deployable contracts' artifacts, compiled now or read from the cache."""
    digest = source_hash()
    cache_file = ARTIFACTS_DIR / f"contracts-{digest}.json"
    if cache_file.exists() and not force:
        raw = json.loads(cache_file.read_text())
    else:
        output = solcx.compile_standard(
            _standard_input(), solc_binary=SOLC, base_path=str(REPO_ROOT), allow_paths=[str(REPO_ROOT)]
        )
        errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
        if errors:
            raise RuntimeError("solc failed:\n" + "\n".join(e["formattedMessage"] for e in errors))
        raw = {}
        for unit in output["contracts"].values():
            for name, data in unit.items():
                if name in DEPLOYABLES:
                    raw[name] = {"abi": data["abi"], "bytecode": "0x" + data["evm"]["bytecode"]["object"]}
        raw["_hash"] = digest
        ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(raw))
        tmp.replace(cache_file)
    return {name: Artifact(name, raw[name]["abi"], raw[name]["bytecode"]) for name in DEPLOYABLES}


def compile_one(source: Path, name: str) -> Artifact:
    """One contract from any source file of the repository (e.g. a test wallet), with the same settings; not cached."""
    output = solcx.compile_standard(
        _standard_input([source]), solc_binary=SOLC, base_path=str(REPO_ROOT), allow_paths=[str(REPO_ROOT)]
    )
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError("solc failed:\n" + "\n".join(e["formattedMessage"] for e in errors))
    data = output["contracts"][str(source.relative_to(REPO_ROOT))][name]
    return Artifact(name, data["abi"], "0x" + data["evm"]["bytecode"]["object"])


def load_abis() -> dict[str, list[dict[str, Any]]]:
    """Just the ABIs (for pages and decoders)."""
    return {name: a.abi for name, a in compile_contracts().items()}
