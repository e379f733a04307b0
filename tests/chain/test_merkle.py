"""Epoch reward trees against OpenZeppelin's StandardMerkleTree (the npm package, run by Node) and its rules."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from app.chain.merkle import (
    EMPTY_ROOT,
    LEAF_TYPES,
    UNSALTED_LEAF_TYPES,
    Leaf,
    build_tree,
    epoch_leaves,
    salt_for,
    verify,
    verify_multiproof,
)
from app.chain.proofs import TreeFiles, write_tree
from tests.factories import openzeppelin

KEY = b"test-leaf-salt-key"
UNIT = 5 * 10**15  # rewards are multiples of this: what made unsalted leaves guessable


def accounts(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return ["0x" + rng.randbytes(20).hex() for _ in range(n)]


def leaves(n: int, *, salted: bool = True, seed: int = 1) -> list[Leaf]:
    rng = random.Random(seed)
    amounts = [(a, rng.randint(1, 10**6) * UNIT) for a in accounts(n, seed)]
    if n > 2:
        amounts[1] = (amounts[1][0], 2**256 - 1)  # the largest uint256 a leaf can hold
    return epoch_leaves(amounts, epoch=7, key=KEY if salted else None)


def hexes(nodes: list[bytes]) -> list[str]:
    return ["0x" + n.hex() for n in nodes]


@pytest.mark.parametrize(
    ("n", "salted"), [(1, True), (2, True), (3, True), (7, True), (64, True), (101, True), (5, False)]
)
def test_tree_is_openzeppelins_standard_tree(n: int, salted: bool, tmp_path: Path) -> None:
    ours = leaves(n, salted=salted)
    tree = build_tree(ours)
    assert tree.leaf_encoding == (LEAF_TYPES if salted else UNSALTED_LEAF_TYPES)
    root = "0x" + tree.root.hex()
    chosen = [ours[i].account for i in sorted(random.Random(n).sample(range(n), min(n, 3)))]
    multi = tree.multiproof(chosen)
    assert verify_multiproof(multi, tree.root)
    result = openzeppelin(
        {
            "leafEncoding": list(tree.leaf_encoding),
            "values": [leaf.value() for leaf in ours],
            "root": root,
            "dump": tree.dump(),
            "proofs": [{"value": leaf.value(), "proof": hexes(tree.proof(leaf.account))} for leaf in ours],
            "multiproof": {
                "leaves": [leaf.value() for leaf in multi.leaves],
                "proof": hexes(multi.proof),
                "proofFlags": multi.flags,
            },
        },
        tmp_path,
    )
    assert result["ofRoot"] == root  # StandardMerkleTree.of(same leaves, types).root
    assert result["loadRoot"] == root  # StandardMerkleTree.load(our dump).root
    assert result["ofDumpEqual"]  # our dump is byte for byte the library's own
    assert result["proofsVerified"] == [True] * n  # StandardMerkleTree.verify accepts every proof
    assert result["proofsEqualLibrary"] == [True] * n
    assert result["loadedProofsVerified"] == [True] * n
    assert result["multiproofVerified"] and result["multiproofEqualLibrary"]


def test_written_files_hold_the_library_dump_and_every_proof(tmp_path: Path) -> None:
    ours = leaves(37)
    tree = write_tree(tmp_path / "epoch", ours, final=True)
    files = TreeFiles(tmp_path / "epoch")
    dump = json.loads(files.dump_path.read_text())
    proofs = [files.proof(leaf.account) for leaf in ours]
    assert all(p is not None and p.verifies() and p.leaf == leaf for p, leaf in zip(proofs, ours, strict=True))
    assert files.proof(accounts(1, seed=99)[0]) is None
    result = openzeppelin(
        {
            "leafEncoding": list(LEAF_TYPES),
            "values": [leaf.value() for leaf in ours],
            "root": "0x" + tree.root.hex(),
            "dump": dump,
            "proofs": [{"value": p.leaf.value(), "proof": hexes(p.proof)} for p in proofs if p],
            "multiproof": None,
        },
        tmp_path,
    )
    assert result["loadRoot"] == "0x" + tree.root.hex() and result["ofDumpEqual"]
    assert result["proofsVerified"] == [True] * len(ours)


def test_empty_epoch_dump_loads_to_the_empty_root(tmp_path: Path) -> None:
    tree = write_tree(tmp_path / "epoch", [], final=True)
    assert tree.root == EMPTY_ROOT
    assert TreeFiles(tmp_path / "epoch").proof(accounts(1)[0]) is None
    dump = json.loads(TreeFiles(tmp_path / "epoch").dump_path.read_text())
    result = openzeppelin(
        {"leafEncoding": list(LEAF_TYPES), "values": [], "root": "0x" + EMPTY_ROOT.hex(), "dump": dump, "proofs": []},
        tmp_path,
    )
    assert result["loadRoot"] == "0x" + EMPTY_ROOT.hex()


def test_salt_is_secret_per_epoch_and_account() -> None:
    a, b = accounts(2)
    assert salt_for(KEY, 3, a) == salt_for(KEY, 3, a.upper().replace("0X", "0x"))
    assert len({salt_for(KEY, 3, a), salt_for(KEY, 4, a), salt_for(KEY, 3, b), salt_for(b"other", 3, a)}) == 4


def test_neighbours_amount_cannot_be_guessed_from_a_proof() -> None:
    """The sibling leaf in a proof no longer matches any (account, amount) an attacker tries."""
    ours = leaves(2)
    tree = build_tree(ours)
    mine, neighbour = ours
    (sibling,) = tree.proof(mine.account)
    assert sibling == neighbour.hash()
    guesses = {Leaf(neighbour.account, k * UNIT, None).hash() for k in range(1, 2_000)}
    guesses.add(Leaf(neighbour.account, neighbour.cumulative, None).hash())  # even the right amount
    assert sibling not in guesses
    unsalted = epoch_leaves([(leaf.account, leaf.cumulative) for leaf in ours], epoch=7, key=None)
    assert build_tree(unsalted).proof(mine.account)[0] in guesses  # what the salt closes


def test_proof_fails_for_another_amount_or_salt() -> None:
    ours = leaves(9)
    tree = build_tree(ours)
    leaf = ours[4]
    proof = tree.proof(leaf.account)
    assert verify(proof, tree.root, leaf)
    assert not verify(proof, tree.root, leaf._replace(cumulative=leaf.cumulative + 1))
    assert not verify(proof, tree.root, leaf._replace(salt=bytes(32)))


@pytest.mark.parametrize(
    ("account", "amount"),
    [("0x" + "00" * 20, 5), ("0x" + "11" * 20, 0), ("0x" + "11" * 20, 2**256), ("0x1234", 5)],
)
def test_unclaimable_leaves_are_refused(account: str, amount: int) -> None:
    with pytest.raises(ValueError, match="not a claimable leaf"):
        epoch_leaves([(account, amount)], epoch=1, key=KEY)


def test_one_leaf_per_account_and_one_encoding_per_tree() -> None:
    a, b = accounts(2)
    with pytest.raises(ValueError, match="only one leaf"):
        build_tree([Leaf(a, 1, bytes(32)), Leaf(a, 2, bytes(32))])
    with pytest.raises(ValueError, match="all salted or all unsalted"):
        build_tree([Leaf(a, 1, bytes(32)), Leaf(b, 2, None)])
