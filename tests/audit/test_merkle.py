"""The audit's own StandardMerkleTree agrees with the epochs' (app/chain/merkle.py) and with OpenZeppelin's npm one."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path

import pytest

from app.audit import merkle
from app.chain import merkle as epochs_merkle
from app.paths import REPO_ROOT

SCRIPT = REPO_ROOT / "tests" / "chain" / "standard_tree.mjs"
KEY = b"test-leaf-salt-key"
UNIT = 5 * 10**15


def epoch_tree_leaves(n: int, *, salted: bool) -> list[epochs_merkle.Leaf]:
    # The same leaves tests/chain/test_merkle.py checks the epochs' tree on, largest uint256 included.
    rng = random.Random(n)
    amounts = [("0x" + rng.randbytes(20).hex(), rng.randint(1, 10**6) * UNIT) for _ in range(n)]
    if n > 2:
        amounts[1] = (amounts[1][0], 2**256 - 1)
    return epochs_merkle.epoch_leaves(amounts, epoch=7, key=KEY if salted else None)


@pytest.mark.parametrize(
    ("n", "salted"), [(0, True), (1, True), (2, True), (3, True), (7, True), (64, True), (101, True), (5, False)]
)
def test_audit_tree_equals_the_epochs_tree(n: int, salted: bool) -> None:
    leaves = epoch_tree_leaves(n, salted=salted)
    theirs = epochs_merkle.build_tree(leaves)
    values = [(leaf.account, leaf.cumulative, leaf.salt) for leaf in leaves]
    nodes, where = merkle.tree(values)
    assert nodes == theirs.nodes and where == theirs.tree_index
    assert merkle.root(values) == theirs.root
    assert "".join(merkle.dump_chunks(values, nodes, where)) == "".join(theirs.dump_chunks())
    for value, index, leaf in zip(values, where, leaves, strict=True):
        assert merkle.leaf_hash(*value) == leaf.hash()
        assert merkle.proof_root(value, nodes, index) == theirs.root


def test_audit_tree_is_openzeppelins_standard_tree(tmp_path: Path) -> None:
    leaves = epoch_tree_leaves(11, salted=True)
    values = [(leaf.account, leaf.cumulative, leaf.salt) for leaf in leaves]
    nodes, where = merkle.tree(values)
    root = "0x" + nodes[0].hex()
    source = tmp_path / "tree-input.json"
    source.write_text(
        json.dumps(
            {
                "leafEncoding": list(merkle.SALTED),
                "values": [leaf.value() for leaf in leaves],
                "root": root,
                "dump": json.loads("".join(merkle.dump_chunks(values, nodes, where))),
                "proofs": [],
            }
        )
    )
    done = subprocess.run(
        ["node", str(SCRIPT), str(source)], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["ofRoot"] == root and result["loadRoot"] == root and result["ofDumpEqual"]


def test_a_wrong_pair_order_changes_the_root() -> None:
    # The sorted-pair rule is what makes proofs order-free; hashing unsorted gives another root.
    values = [(leaf.account, leaf.cumulative, leaf.salt) for leaf in epoch_tree_leaves(3, salted=True)]
    nodes, _ = merkle.tree(values)
    unsorted = merkle.keccak(nodes[1] + nodes[2]) if nodes[1] > nodes[2] else merkle.keccak(nodes[2] + nodes[1])
    assert unsorted != nodes[0] == merkle.pair(nodes[1], nodes[2])
