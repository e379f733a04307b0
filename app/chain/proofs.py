"""An epoch's Merkle tree on disk: sorted leaves, the tree array and the JS library's dump; a proof is a few reads.

Files in the epoch's folder: `leaves.bin` (per leaf, sorted by address: 20-byte address, 32-byte
cumulative amount, 32-byte salt, 4-byte index into the tree array), `tree.bin` (the tree array's
32-byte nodes, root first, as OpenZeppelin's StandardMerkleTree lays it out), `tree.json` (root,
leaf encoding, counts) and `standard-tree.json` (that library's `dump()`, for auditors). They are
derived from the `epoch_rewards` table and the salt key and can always be rebuilt from them; they
are written under temporary names and renamed when complete.
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.chain.merkle import UNSALTED_LEAF_TYPES, Leaf, Proof, StandardTree, build_tree, claim_many_args, path

__all__ = ["Proof", "Record", "TreeFiles", "claim_many_args", "write_tree"]

_RECORD = 20 + 32 + 32 + 4
DUMP_FILE = "standard-tree.json"
_FINAL = ("leaves.bin", "tree.bin", "tree.json", DUMP_FILE)


def write_tree(directory: Path, leaves: Sequence[Leaf], *, final: bool) -> StandardTree:
    """Builds the epoch's tree over these leaves and writes its files.

    With `final=False` the files keep temporary names (`*.tmp`) until `TreeFiles.finalize`.
    """
    directory.mkdir(parents=True, exist_ok=True)
    leaves = sorted(leaves, key=lambda leaf: leaf.account)
    tree = build_tree(leaves)
    suffix = "" if final else ".tmp"
    meta = {
        "root": "0x" + tree.root.hex(),
        "leaves": len(leaves),
        "nodes": len(tree.nodes),
        "leaf_encoding": list(tree.leaf_encoding),
    }
    temporary = [directory / f"{name}.part" for name in _FINAL]
    zero = bytes(32)
    temporary[0].write_bytes(
        b"".join(
            bytes.fromhex(a[2:]) + c.to_bytes(32, "big") + (s or zero) + i.to_bytes(4, "big")
            for (a, c, s), i in zip(tree.leaves, tree.tree_index, strict=True)
        )
    )
    temporary[1].write_bytes(b"".join(tree.nodes))
    temporary[2].write_text(json.dumps(meta))
    with temporary[3].open("w", encoding="utf-8") as f:
        tree.write_dump(f)
    for part, name in zip(temporary, _FINAL, strict=True):
        part.replace(directory / f"{name}{suffix}")
    return tree


@dataclass(frozen=True)
class Record:
    """One stored leaf and where it sits in the tree array."""

    leaf: Leaf
    tree_index: int


class TreeFiles:
    """Reads proofs and leaves from an epoch's tree files."""

    def __init__(self, directory: Path):
        self.directory = directory

    @property
    def dump_path(self) -> Path:
        return self.directory / DUMP_FILE

    def meta(self) -> dict[str, Any]:
        return json.loads((self.directory / "tree.json").read_text())

    def is_final(self, root: str) -> bool:
        meta = self.directory / "tree.json"
        return (
            meta.exists()
            and json.loads(meta.read_text()).get("root") == root
            and all((self.directory / name).exists() for name in _FINAL)
        )

    def finalize(self, root: str) -> bool:
        """Renames the temporary files of the computing step if they hold `root`; False if not there."""
        meta = self.directory / "tree.json.tmp"
        if not meta.exists() or json.loads(meta.read_text()).get("root") != root:
            return False
        if not all((self.directory / f"{name}.tmp").exists() for name in _FINAL):
            return False
        for name in _FINAL:
            (self.directory / f"{name}.tmp").replace(self.directory / name)
        return True

    def _salted(self, meta: dict[str, Any]) -> bool:
        return tuple(meta.get("leaf_encoding", ())) != UNSALTED_LEAF_TYPES

    def proof(self, account: str) -> Proof | None:
        """The account's leaf and proof as the files hold them, or None if it has no leaf in this epoch."""
        meta = self.meta()
        if meta["leaves"] == 0:
            return None
        key = bytes.fromhex(account.lower().removeprefix("0x"))
        with (
            (self.directory / "leaves.bin").open("rb") as f,
            mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m,
        ):
            count = min(meta["leaves"], len(m) // _RECORD)
            low, high = 0, count
            while low < high:  # binary search over the sorted fixed-size records
                middle = (low + high) // 2
                if m[middle * _RECORD : middle * _RECORD + 20] < key:
                    low = middle + 1
                else:
                    high = middle
            if low >= count or m[low * _RECORD : low * _RECORD + 20] != key:
                return None
            record = self._record(m[low * _RECORD : (low + 1) * _RECORD], self._salted(meta))
        with (self.directory / "tree.bin").open("rb") as f:

            def node(i: int) -> bytes:
                f.seek(i * 32)
                return f.read(32)

            siblings = path(node, record.tree_index)
        leaf = record.leaf
        return Proof(leaf.account, leaf.cumulative, leaf.salt, siblings, bytes.fromhex(meta["root"][2:]))

    def records(self) -> Iterator[Record]:
        """Every stored leaf in file order (by account)."""
        meta = self.meta()
        salted = self._salted(meta)
        data = (self.directory / "leaves.bin").read_bytes()
        for start in range(0, len(data) - _RECORD + 1, _RECORD):
            yield self._record(data[start : start + _RECORD], salted)

    def nodes(self) -> list[bytes]:
        """The stored tree array."""
        data = (self.directory / "tree.bin").read_bytes()
        return [data[i : i + 32] for i in range(0, len(data), 32)]

    @staticmethod
    def _record(raw: bytes, salted: bool) -> Record:
        leaf = Leaf("0x" + raw[:20].hex(), int.from_bytes(raw[20:52], "big"), raw[52:84] if salted else None)
        return Record(leaf, int.from_bytes(raw[84:88], "big"))
