"""The audit's own OpenZeppelin StandardMerkleTree: leaf hashes, the tree array, proofs and the dump's text.

Written apart from app/chain/merkle.py (which builds the epochs' trees) so that a bug in one is
caught by the other: leaves are abi-encoded with eth_abi and double-hashed, pairs are sorted before
hashing, and the array is laid out as `StandardMerkleTree.of` lays it out (leaves sorted by hash,
placed from the end of the array backwards).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

from eth_abi import encode
from eth_utils import keccak

SALTED = ("address", "uint256", "bytes32")
UNSALTED = ("address", "uint256")
# The root the programme publishes for an epoch in which nobody has earned anything (docs/epochs.md).
EMPTY_ROOT = keccak(b"ledger: no account has earned anything yet")

LeafValues = tuple[str, int, bytes | None]  # account, cumulative amount, salt (None: unsalted)


def encoding(leaves: Sequence[LeafValues]) -> tuple[str, ...]:
    return UNSALTED if leaves and leaves[0][2] is None else SALTED


def leaf_hash(account: str, cumulative: int, salt: bytes | None) -> bytes:
    values: list[object] = [account, cumulative] if salt is None else [account, cumulative, salt]
    return keccak(keccak(encode(list(UNSALTED if salt is None else SALTED), values)))


def pair(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


def tree(leaves: Sequence[LeafValues]) -> tuple[list[bytes], list[int]]:
    """(the tree array, each leaf's index in it), as StandardMerkleTree.of builds them."""
    if not leaves:
        return [EMPTY_ROOT], []
    hashes = sorted((leaf_hash(*leaf), k) for k, leaf in enumerate(leaves))
    size = 2 * len(leaves) - 1
    nodes = [b""] * size
    where = [0] * len(leaves)
    for position, (digest, k) in enumerate(hashes):
        nodes[size - 1 - position] = digest
        where[k] = size - 1 - position
    for i in range(size - len(leaves) - 1, -1, -1):
        nodes[i] = pair(nodes[2 * i + 1], nodes[2 * i + 2])
    return nodes, where


def root(leaves: Sequence[LeafValues]) -> bytes:
    return tree(leaves)[0][0]


def proof_root(leaf: LeafValues, nodes: Sequence[bytes], index: int) -> bytes | None:
    """The root a stored proof reaches: the leaf's hash folded with its siblings (None: off the tree)."""
    node = leaf_hash(*leaf)
    while index > 0:
        sibling = index + 1 if index % 2 else index - 1
        if sibling >= len(nodes):
            return None
        node = pair(node, nodes[sibling])
        index = (index - 1) // 2
    return node


def dump_chunks(leaves: Sequence[LeafValues], nodes: Sequence[bytes], where: Sequence[int]) -> Iterator[str]:
    """The JSON text of `StandardMerkleTree.dump()` (format standard-v1), values in the leaves' order."""
    yield f'{{"format":"standard-v1","leafEncoding":{json.dumps(list(encoding(leaves)))},"tree":['
    yield ",".join(f'"0x{n.hex()}"' for n in nodes)
    yield '],"values":['
    yield ",".join(
        f'{{"value":[{",".join(_quoted(a, c, s))}],"treeIndex":{i}}}'
        for (a, c, s), i in zip(leaves, where, strict=True)
    )
    yield "]}"


def _quoted(account: str, cumulative: int, salt: bytes | None) -> list[str]:
    values = [account, str(cumulative)] + ([] if salt is None else ["0x" + salt.hex()])
    return [f'"{v}"' for v in values]
