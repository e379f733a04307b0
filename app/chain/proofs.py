"""An epoch's Merkle tree on disk: sorted leaves and every level, so any account's proof is a few reads.

Files in the epoch's folder: `leaves.bin` (per leaf: 20-byte address, 32-byte cumulative amount,
sorted by address), `tree.bin` (every level's 32-byte nodes, leaves first) and `tree.json` (root,
leaf count, level offsets). They are derived from the `epoch_rewards` table and can always be
rebuilt from it; they are written under temporary names and renamed when complete.
"""

from __future__ import annotations

import json
import mmap
from dataclasses import dataclass
from pathlib import Path

from app.chain.merkle import MerkleTree, cumulative_tree

_LEAF_SIZE = 52  # 20-byte address + 32-byte amount
_FINAL = ("leaves.bin", "tree.bin", "tree.json")


@dataclass(frozen=True)
class Proof:
    account: str
    cumulative: int
    proof: list[bytes]
    root: bytes


def write_tree(directory: Path, leaves: list[tuple[str, int]], *, final: bool) -> MerkleTree:
    """Builds the tree over (account, cumulative) sorted by account and writes its files.

    With `final=False` the files keep temporary names (`*.tmp`) until `TreeFiles.finalize`.
    """
    directory.mkdir(parents=True, exist_ok=True)
    leaves = sorted(leaves)
    tree = cumulative_tree(leaves)
    suffix = "" if final else ".tmp"
    offsets, position = [], 0
    for level in tree.levels:
        offsets.append(position)
        position += len(level)
    meta = {
        "root": "0x" + tree.root.hex(),
        "leaves": len(leaves),
        "level_offsets": offsets,
        "level_sizes": [len(level) for level in tree.levels],
    }
    temporary = [directory / f"{name}.part" for name in _FINAL]
    temporary[0].write_bytes(b"".join(bytes.fromhex(a[2:]) + amount.to_bytes(32, "big") for a, amount in leaves))
    with temporary[1].open("wb") as f:
        for level in tree.levels:
            f.write(b"".join(level))
    temporary[2].write_text(json.dumps(meta))
    for part, name in zip(temporary, _FINAL, strict=True):
        part.replace(directory / f"{name}{suffix}")
    return tree


class TreeFiles:
    """Reads proofs from an epoch's tree files."""

    def __init__(self, directory: Path):
        self.directory = directory

    def is_final(self, root: str) -> bool:
        meta = self.directory / "tree.json"
        return (
            meta.exists()
            and json.loads(meta.read_text())["root"] == root
            and all((self.directory / name).exists() for name in _FINAL)
        )

    def finalize(self, root: str) -> bool:
        """Renames the temporary files of the computing step if they hold `root`; False if not there."""
        meta = self.directory / "tree.json.tmp"
        if not meta.exists() or json.loads(meta.read_text())["root"] != root:
            return False
        if not all((self.directory / f"{name}.tmp").exists() for name in _FINAL):
            return False
        for name in _FINAL:
            (self.directory / f"{name}.tmp").replace(self.directory / name)
        return True

    def proof(self, account: str) -> Proof | None:
        """The account's cumulative amount and proof, or None if it has no leaf in this epoch."""
        meta = json.loads((self.directory / "tree.json").read_text())
        if meta["leaves"] == 0:
            return None
        key = bytes.fromhex(account.lower().removeprefix("0x"))
        with (
            (self.directory / "leaves.bin").open("rb") as f,
            mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m,
        ):
            low, high = 0, meta["leaves"]
            while low < high:  # binary search over the sorted fixed-size records
                middle = (low + high) // 2
                if m[middle * _LEAF_SIZE : middle * _LEAF_SIZE + 20] < key:
                    low = middle + 1
                else:
                    high = middle
            index = low
            record = m[index * _LEAF_SIZE : (index + 1) * _LEAF_SIZE]
            if index >= meta["leaves"] or record[:20] != key:
                return None
            amount = int.from_bytes(record[20:], "big")
        path: list[bytes] = []
        with (self.directory / "tree.bin").open("rb") as f:
            for offset, size in zip(meta["level_offsets"][:-1], meta["level_sizes"][:-1], strict=True):
                sibling = index ^ 1
                if sibling < size:
                    f.seek((offset + sibling) * 32)
                    path.append(f.read(32))
                index //= 2
        return Proof("0x" + key.hex(), amount, path, bytes.fromhex(meta["root"][2:]))
