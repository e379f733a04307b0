"""Epoch reward trees built exactly as OpenZeppelin's StandardMerkleTree (JS, 1.0.8), salted leaves, debits.

leaf = keccak256(keccak256(abi.encode(account, cumulativeAmount, salt))) (types address, uint256,
bytes32); leaves sorted by hash; the tree is one array holding a complete binary tree (root at 0,
children of i at 2i+1 and 2i+2, the k-th leaf in hash order at len-1-k); a parent hashes its two
children in sorted order. Proofs, multiproofs and `dump()` are that library's, so an auditor's
`StandardMerkleTree.load(dump).root` is the root on chain, and OpenZeppelin's MerkleProof (the
contract) accepts the proofs.

The salt (docs/privacy.md) is a keyed hash of the account and epoch under a secret key: a claim proof
shows the sibling leaves' hashes, and without the salt a neighbour's amount (a multiple of a small
unit) would be found by trying amounts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import IO, Any, NamedTuple

from eth_utils import to_checksum_address

# safe-pysha3's C keccak: about 5x faster per call than eth-utils' default backend, which is what
# keeps a 1,000,000-leaf epoch tree to a few seconds (see bench/epoch.py).
from sha3 import keccak_256

LEAF_TYPES = ("address", "uint256", "bytes32")
# The distributor before it took a salt (main's ABI): leaves of (account, cumulativeAmount) only.
UNSALTED_LEAF_TYPES = ("address", "uint256")
DUMP_FORMAT = "standard-v1"

_PAD = bytes(12)
_SALT_DOMAIN = b"ledger/leaf-salt/v1"
_ZERO_ACCOUNT = "0x" + "00" * 20


class Leaf(NamedTuple):
    """One account's leaf: its cumulative amount in the token's smallest unit and its salt (None: unsalted)."""

    account: str  # 0x + 40 lowercase hex digits
    cumulative: int
    salt: bytes | None

    def encoded(self) -> bytes:
        """abi.encode of the leaf's values (all static types: one 32-byte word each)."""
        words = _PAD + bytes.fromhex(self.account[2:]) + self.cumulative.to_bytes(32, "big")
        return words + self.salt if self.salt is not None else words

    def hash(self) -> bytes:
        return keccak_256(keccak_256(self.encoded()).digest()).digest()

    def value(self) -> list[str]:
        """The leaf as the JS library's value: hex address, decimal string amount, hex salt."""
        out = [self.account, str(self.cumulative)]
        return out + ["0x" + self.salt.hex()] if self.salt is not None else out


def salt_for(key: bytes, epoch: int, account: str) -> bytes:
    """The salt of `account`'s leaf in epoch `epoch`: a keyed keccak256 (a PRF: keccak has no length
    extension), new each epoch so one account's leaves cannot be linked across epochs either."""
    return _salter(key)(epoch)(account)


def _salter(key: bytes) -> Callable[[int], Callable[[str], bytes]]:
    prefix = _SALT_DOMAIN + keccak_256(key).digest()

    def for_epoch(epoch: int) -> Callable[[str], bytes]:
        base = keccak_256(prefix + epoch.to_bytes(8, "big"))

        def salt(account: str) -> bytes:
            h = base.copy()
            h.update(bytes.fromhex(account[2:]))
            return h.digest()

        return salt

    return for_epoch


def epoch_leaves(amounts: Iterable[tuple[str, int]], *, epoch: int, key: bytes | None) -> list[Leaf]:
    """Leaves of epoch `epoch` from (account, cumulative) pairs, sorted by account; unsalted when `key` is None.

    Refuses what no claim could use: a zero or oversized amount, the zero address (issue 10, item 7).
    """
    pairs = sorted((account.lower(), cumulative) for account, cumulative in amounts)
    for account, cumulative in pairs:
        if not 0 < cumulative < 2**256 or len(account) != 42 or account == _ZERO_ACCOUNT:
            raise ValueError(f"not a claimable leaf: account {account!r}, cumulative amount {cumulative}")
    new = tuple.__new__  # a NamedTuple's own constructor costs twice as much, per leaf of a million
    if key is None:
        return [new(Leaf, (account, cumulative, None)) for account, cumulative in pairs]
    salt = _salter(key)(epoch)
    return [new(Leaf, (account, cumulative, salt(account))) for account, cumulative in pairs]


def _parent(a: bytes, b: bytes) -> bytes:
    return keccak_256(a + b).digest() if a < b else keccak_256(b + a).digest()


def _sibling(i: int) -> int:
    return i + 1 if i % 2 else i - 1


@dataclass(frozen=True)
class MultiProof:
    """OpenZeppelin's multiproof: the leaves in the order the proof consumes them, siblings and flags."""

    leaves: list[Leaf]
    proof: list[bytes]
    flags: list[bool]


@dataclass(frozen=True)
class Proof:
    """One account's leaf in an epoch's tree and the path from it to the root."""

    account: str
    cumulative: int
    salt: bytes | None
    proof: list[bytes]
    root: bytes

    @property
    def leaf(self) -> Leaf:
        return Leaf(self.account, self.cumulative, self.salt)

    def verifies(self) -> bool:
        return verify(self.proof, self.root, self.leaf)

    def claim_args(self) -> tuple[Any, ...]:
        """The distributor's `claim` arguments: (account, cumulative, salt, proof), no salt on an unsalted tree."""
        salt = () if self.salt is None else (self.salt,)
        return (self.account_checksummed, self.cumulative, *salt, self.proof)

    @property
    def account_checksummed(self) -> str:
        return to_checksum_address(self.account)


def claim_many_args(proofs: Sequence[Proof]) -> tuple[Any, ...]:
    """The distributor's `claimMany` arguments for these proofs (accounts, cumulatives, [salts,] proofs)."""
    columns = [list(column) for column in zip(*(p.claim_args() for p in proofs), strict=True)] if proofs else []
    return tuple(columns)


# The root published when no account has earned anything yet: the contract refuses a zero root, and
# no leaf can hash to this. Its dump is a one-node tree with no values (the JS library loads it).
EMPTY_ROOT = keccak_256(b"ledger: no account has earned anything yet").digest()


class StandardTree:
    """One epoch's tree: `nodes` is the JS library's `tree` array, `leaves` sorted by account."""

    def __init__(self, leaves: Sequence[Leaf], nodes: list[bytes], tree_index: list[int], leaf_encoding: Sequence[str]):
        self.leaves = list(leaves)
        self.nodes = nodes
        self.tree_index = tree_index  # tree_index[k]: where leaves[k] sits in `nodes`
        self.leaf_encoding = tuple(leaf_encoding)

    @cached_property
    def _position(self) -> dict[str, int]:
        return {leaf.account: k for k, leaf in enumerate(self.leaves)}

    @property
    def root(self) -> bytes:
        return self.nodes[0]

    def leaf(self, account: str) -> Leaf | None:
        k = self._position.get(account.lower())
        return None if k is None else self.leaves[k]

    def proof(self, account: str) -> list[bytes]:
        """Sibling hashes from the account's leaf up to the root (KeyError if it has no leaf)."""
        return path(self.nodes.__getitem__, self.tree_index[self._position[account.lower()]])

    def leaf_proof(self, account: str) -> Proof:
        """The account's leaf with its proof (KeyError if it has no leaf)."""
        leaf = self.leaves[self._position[account.lower()]]
        return Proof(leaf.account, leaf.cumulative, leaf.salt, self.proof(account), self.root)

    def multiproof(self, accounts: Iterable[str]) -> MultiProof:
        """One proof for several leaves, as the JS library's getMultiProof builds it."""
        indices = sorted((self.tree_index[self._position[a.lower()]] for a in accounts), reverse=True)
        if any(a == b for a, b in zip(indices, indices[1:], strict=False)):
            raise ValueError("cannot prove a leaf twice in one multiproof")
        stack, proof, flags = list(indices), [], []
        while stack and stack[0] > 0:
            j = stack.pop(0)
            s, p = _sibling(j), (j - 1) // 2
            if stack and stack[0] == s:
                flags.append(True)
                stack.pop(0)
            else:
                flags.append(False)
                proof.append(self.nodes[s])
            stack.append(p)
        if not indices:
            proof.append(self.nodes[0])
        by_index = {self.tree_index[k]: leaf for k, leaf in enumerate(self.leaves)}
        return MultiProof([by_index[i] for i in indices], proof, flags)

    def dump(self) -> dict:
        """The JS library's `dump()` (format standard-v1), values in account order."""
        return json.loads("".join(self.dump_chunks()))

    def dump_chunks(self) -> Iterator[str]:
        """The dump as JSON text in pieces, for writing a million-leaf tree without one huge string."""
        step = 65_536
        yield f'{{"format":"{DUMP_FORMAT}","leafEncoding":{json.dumps(list(self.leaf_encoding))},"tree":["0x'
        for start in range(0, len(self.nodes), step):
            digits = b"".join(self.nodes[start : start + step]).hex()
            prefix = '","0x' if start else ""
            yield prefix + '","0x'.join([digits[i : i + 64] for i in range(0, len(digits), 64)])
        yield '"],"values":['
        for start in range(0, len(self.leaves), step):
            part = zip(self.leaves[start : start + step], self.tree_index[start : start + step], strict=True)
            yield ("," if start else "") + ",".join(
                f'{{"value":["{a}","{c}","0x{s.hex()}"],"treeIndex":{i}}}'
                if s is not None
                else f'{{"value":["{a}","{c}"],"treeIndex":{i}}}'
                for (a, c, s), i in part
            )
        yield "]}"

    def write_dump(self, out: IO[str]) -> None:
        for chunk in self.dump_chunks():
            out.write(chunk)


def build_tree(leaves: Sequence[Leaf]) -> StandardTree:
    """The tree `StandardMerkleTree.of(values, leafEncoding)` builds over these leaves (EMPTY_ROOT if none)."""
    if not leaves:
        return StandardTree([], [EMPTY_ROOT], [], LEAF_TYPES)
    salted = {leaf.salt is not None for leaf in leaves}
    if len(salted) != 1:
        raise ValueError("a tree's leaves are either all salted or all unsalted")
    if len({leaf.account for leaf in leaves}) != len(leaves):
        raise ValueError("an account may have only one leaf in a tree")
    k256, pad = keccak_256, _PAD
    hashed = sorted(
        (
            k256(
                k256(pad + bytes.fromhex(a[2:]) + c.to_bytes(32, "big") + (s if s is not None else b"")).digest()
            ).digest(),
            k,
        )
        for k, (a, c, s) in enumerate(leaves)
    )
    size = 2 * len(leaves) - 1
    nodes: list[bytes] = [b""] * size
    tree_index = [0] * len(leaves)
    for position, (_, k) in enumerate(hashed):
        tree_index[k] = size - 1 - position
    nodes[size - len(leaves) :] = [digest for digest, _ in reversed(hashed)]
    for i in range(size - 1 - len(leaves), -1, -1):
        a, b = nodes[2 * i + 1], nodes[2 * i + 2]
        nodes[i] = k256(a + b).digest() if a < b else k256(b + a).digest()
    return StandardTree(leaves, nodes, tree_index, LEAF_TYPES if salted == {True} else UNSALTED_LEAF_TYPES)


def path(node_at: Callable[[int], bytes], index: int) -> list[bytes]:
    """The proof of the leaf at tree index `index`: its sibling, then each ancestor's sibling below the root."""
    proof: list[bytes] = []
    while index > 0:
        proof.append(node_at(_sibling(index)))
        index = (index - 1) // 2
    return proof


def process_proof(leaf_hash: bytes, proof: Sequence[bytes]) -> bytes:
    node = leaf_hash
    for sibling in proof:
        node = _parent(node, sibling)
    return node


def verify(proof: Sequence[bytes], root: bytes, leaf: Leaf) -> bool:
    """What the distributor checks on a claim (OpenZeppelin MerkleProof.verify)."""
    return process_proof(leaf.hash(), proof) == root


def verify_multiproof(multiproof: MultiProof, root: bytes) -> bool:
    """OpenZeppelin's processMultiProof over the multiproof's leaves."""
    stack = [leaf.hash() for leaf in multiproof.leaves]
    proof = list(multiproof.proof)
    if len(stack) + len(proof) != len(multiproof.flags) + 1:
        return False
    for flag in multiproof.flags:
        if not stack or (not flag and not proof) or (flag and len(stack) < 2):
            return False
        a = stack.pop(0)
        b = stack.pop(0) if flag else proof.pop(0)
        stack.append(_parent(a, b))
    return (stack or proof)[-1] == root


@lru_cache
def distributor_takes_salt() -> bool:
    """Whether the compiled RewardDistributor's `claim` takes a salt (until the contract change lands, it does not)."""
    from app.chain.compiler import load_abis

    claim = next(f for f in load_abis()["RewardDistributor"] if f.get("type") == "function" and f["name"] == "claim")
    return any(i["name"] == "salt" and i["type"] == "bytes32" for i in claim["inputs"])


def pack_debit(brand: str, amount: int) -> int:
    """One entry of publishEpoch's `debits`: the brand in the high 160 bits, the amount in the low 96."""
    if not 0 <= amount < 2**96:
        raise ValueError(f"a brand's debit must be below 2^96, got {amount}")
    return (int(brand, 16) << 96) | amount


def unpack_debit(debit: int) -> tuple[str, int]:
    """(brand address, amount) of a packed debit (address not checksummed)."""
    return "0x" + (debit >> 96).to_bytes(20, "big").hex(), debit & (2**96 - 1)
