"""The audit of stored proofs on a real anvil: clean files hold; a flipped node, leaf or dump byte is named."""

from __future__ import annotations

import json

import pytest
from eth_account.signers.local import LocalAccount

from app.chain.merkle import distributor_takes_salt
from tests import factories
from tests.factories import epoch_files, flip, flip_sibling_of, proofs_check, run_audit_cli

pytestmark = pytest.mark.chain


@pytest.fixture()
def settled(settings, engine, w3, deployment_of, operator, dev_accounts) -> list[LocalAccount]:
    return factories.settle_epoch(settings, engine, w3, deployment_of(settings), operator, dev_accounts)


def test_clean_tree_files_pass_with_every_proof_checked(settings, engine, settled) -> None:
    report, proofs = proofs_check(settings, engine)
    assert report["ok"], [c["discrepancies"] for c in report["checks"]]
    assert proofs["status"] == "ok" and proofs["figures"]["proofs_checked"] == 5
    assert proofs["figures"]["epochs_checked"] == [1]
    meta = epoch_files(settings).meta()
    assert meta["leaf_encoding"][-1:] == (["bytes32"] if distributor_takes_salt() else ["uint256"])


def test_one_flipped_node_fails_the_audit_naming_epoch_and_account(settings, engine, settled, tmp_path) -> None:
    alice = settled[0]
    sibling = flip_sibling_of(settings, alice.address)
    report, proofs = proofs_check(settings, engine)
    assert not report["ok"] and proofs["status"] == "failed"
    named = [d for d in proofs["discrepancies"] if d["record"].get("file") == "tree.bin"]
    assert {d["record"]["account"] for d in named} >= {alice.address.lower()}
    assert all(
        d["epoch"] == 1 and d["expected"] == "0x" + epoch_files(settings).proof(alice.address).root.hex() for d in named
    )
    # Only accounts whose proof passes through the flipped node are named.
    leaf_indices = {r.leaf.account: r.tree_index for r in epoch_files(settings).records()}
    assert all(leaf_indices[d["record"]["account"]] != sibling for d in named)
    dump = [d for d in proofs["discrepancies"] if d["record"].get("file") == "standard-tree.json"]
    assert dump == []  # the dump itself is intact

    # The operator's command exits 1 and says which epoch and account.
    done = run_audit_cli(settings, tmp_path / "audit")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"epoch 1: account {alice.address.lower()}: its stored proof does not reach" in done.stdout
    written = json.loads(sorted((tmp_path / "audit").glob("*.json"))[-1].read_text())
    (cli_proofs,) = [c for c in written["checks"] if c["check"] == "proofs"]
    assert any(
        d["epoch"] == 1 and d["record"].get("account") == alice.address.lower() for d in cli_proofs["discrepancies"]
    )


def test_a_changed_stored_amount_is_named(settings, engine, settled) -> None:
    bob = settled[1].address.lower()
    files = epoch_files(settings)
    position = [r.leaf.account for r in files.records()].index(bob)
    flip(files.directory / "leaves.bin", position * 88 + 51)  # the amount's lowest byte
    _, proofs = proofs_check(settings, engine)
    leaves = [d for d in proofs["discrepancies"] if d["record"].get("file") == "leaves.bin"]
    assert [d["record"]["account"] for d in leaves] == [bob]
    assert int(leaves[0]["found"]["cumulative"]) == int(leaves[0]["expected"]["cumulative"]) ^ 1
    # Its stored proof no longer reaches the root either: a claim with it would revert.
    assert any(
        d["record"].get("account") == bob for d in proofs["discrepancies"] if d["record"].get("file") == "tree.bin"
    )


def test_a_corrupt_or_missing_dump_is_named(settings, engine, settled) -> None:
    dump = epoch_files(settings).dump_path
    text = dump.read_text()
    at = text.index('"tree":["0x') + 20
    dump.write_text(text[:at] + ("0" if text[at] != "0" else "1") + text[at + 1 :])
    _, proofs = proofs_check(settings, engine)
    (found,) = proofs["discrepancies"]
    assert found["epoch"] == 1 and found["record"] == {"epoch": 1, "file": "standard-tree.json", "offset": at}
    dump.unlink()
    _, proofs = proofs_check(settings, engine)
    (found,) = proofs["discrepancies"]
    assert found["found"] == "missing"


def test_unreadable_tree_files_are_named(settings, engine, settled) -> None:
    (epoch_files(settings).directory / "tree.json").write_text("{not json")
    _, proofs = proofs_check(settings, engine)
    assert proofs["status"] == "failed" and proofs["discrepancies"][0]["epoch"] == 1
    assert "unreadable" in proofs["discrepancies"][0]["evidence"]
