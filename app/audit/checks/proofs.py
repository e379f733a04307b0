"""The audit of stored proofs: every settled epoch's tree files against its on-chain root and its committed leaves.

A claim is only as good as the proof the API serves from `data/epochs/N/`. For every epoch published
on chain whose proofs are stored, this check rebuilds the tree from the committed leaves (the
`epoch_rewards` rows and the salts) and compares: the files' root with the chain's, every stored leaf
with its committed one, every stored proof (recomputed from `tree.bin`) with the on-chain root, and
the auditors' dump (`standard-tree.json`) with the tree it must be. A wrong file is named with the
epoch and the accounts it would fail; the API rebuilds such files before it serves a proof.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from app.audit import merkle, records
from app.audit.chain import ChainEvent, decode_epoch
from app.audit.merkle import LeafValues
from app.audit.report import CheckResult
from app.config import Settings

MAX_ACCOUNTS_LISTED = 10  # failing accounts named one by one per epoch; the rest are counted
_REBUILD = "the API rebuilds the files from the committed leaves before it serves a proof (or run `ledger epoch run`)"


def check_proof_files(result: CheckResult, settings: Settings, engine: Engine, events: list[ChainEvent]) -> None:
    """Fills `result` (the `proofs` check of the audit report)."""
    published = [decode_epoch(e.args) for e in events if e.name == "EpochPublished"]
    done = records.settled_epochs(engine)
    checked, pending, proofs = [], [], 0
    for number, root, *_ in published:
        if number not in done:
            pending.append(number)  # published, proofs not stored yet: the epoch job finishes it
            continue
        proofs += _check_epoch(result, settings, number, root)
        checked.append(number)
    result.figures = {"epochs_checked": checked, "proofs_checked": proofs, "epochs_without_stored_proofs": pending}
    result.summary = (
        f"{proofs} stored proofs in {len(checked)} settled epochs checked against the on-chain roots and the "
        "committed leaves"
    )


def _check_epoch(result: CheckResult, settings: Settings, number: int, chain_root: str) -> int:
    def fail(record: dict[str, Any], expected: Any, found: Any, evidence: str) -> None:
        result.fail({"epoch": number} | record, expected, found, evidence, epoch=number)

    committed = records.committed_leaves(settings, number)
    expected_nodes, expected_where = merkle.tree(committed)
    expected_root = _hex(expected_nodes[0])
    if expected_root != chain_root:
        fail(
            {"source": "epoch_rewards"},
            chain_root,
            expected_root,
            "the committed leaves (stored rewards with their salts) do not give the on-chain root, so tree files "
            "cannot be rebuilt from them; the stored files are checked against the chain's root alone",
        )
    files = records.tree_files(settings, number)
    try:
        meta = files.meta()
        stored_records = list(files.records())
        nodes = files.nodes()
    except (OSError, ValueError, KeyError) as exc:
        fail(
            {"file": str(files.directory)},
            "readable tree files",
            f"{type(exc).__name__}: {exc}",
            f"unreadable; {_REBUILD}",
        )
        return 0
    if meta.get("root") != chain_root:
        fail({"file": "tree.json"}, chain_root, meta.get("root"), f"the tree files name another root; {_REBUILD}")

    stored: dict[str, LeafValues] = {r.leaf.account: records.leaf_values(r.leaf) for r in stored_records}
    wanted = {leaf[0]: leaf for leaf in committed}
    differing = [a for a in sorted(stored.keys() | wanted.keys()) if stored.get(a) != wanted.get(a)]
    for account in differing[:MAX_ACCOUNTS_LISTED]:
        fail(
            {"account": account, "file": "leaves.bin"},
            _leaf(wanted.get(account)),
            _leaf(stored.get(account)),
            f"account {account}: the stored leaf is not the committed one; {_REBUILD}",
        )
    _more(fail, differing, "leaves.bin", "stored leaves differ from the committed ones")

    intact = expected_root == chain_root and nodes == expected_nodes and not differing
    if not intact:
        # Some node differs: name every account whose stored proof misses the chain's root.
        wrong = [(r, reached) for r, reached in _proof_roots(stored_records, nodes) if reached != chain_root]
        for record, reached in wrong[:MAX_ACCOUNTS_LISTED]:
            fail(
                {"account": record.leaf.account, "file": "tree.bin", "tree_index": record.tree_index},
                chain_root,
                reached,
                f"account {record.leaf.account}: its stored proof does not reach the on-chain root, so a claim "
                f"with it would revert InvalidProof; {_REBUILD}",
            )
        _more(fail, [r.leaf.account for r, _ in wrong], "tree.bin", "stored proofs miss the on-chain root")
        if not wrong and nodes != expected_nodes:
            first = next((i for i, (a, b) in enumerate(zip(nodes, expected_nodes, strict=False)) if a != b), 0)
            fail(
                {"file": "tree.bin", "tree_index": first},
                f"{len(expected_nodes)} nodes, node {first} = {_hex(expected_nodes[first])}",
                f"{len(nodes)} nodes, node {first} = {_hex(nodes[first]) if first < len(nodes) else None}",
                f"the stored tree array differs from the one the committed leaves give; {_REBUILD}",
            )

    if expected_root == chain_root:
        dump = merkle.dump_chunks(committed, expected_nodes, expected_where)
    else:  # the dump must at least be the stored tree's
        leaves: list[LeafValues] = [records.leaf_values(r.leaf) for r in stored_records]
        dump = merkle.dump_chunks(leaves, nodes, [r.tree_index for r in stored_records])
    offset = _first_difference(dump, files.dump_path)
    if offset is not None:
        fail(
            {"file": files.dump_path.name, "offset": offset},
            "StandardMerkleTree dump of the epoch's tree",
            f"differs from character {offset}" if offset >= 0 else "missing",
            f"the auditors' dump is not the epoch's tree: StandardMerkleTree.load would not give the on-chain root "
            f"or would list other leaves; {_REBUILD}",
        )
    return len(stored_records)


def _proof_roots(stored: Iterable[Any], nodes: list[bytes]) -> list[tuple[Any, str | None]]:
    """Each stored record with the root its stored proof reaches (None: the proof runs off the tree)."""
    out = []
    for record in stored:
        reached = merkle.proof_root(records.leaf_values(record.leaf), nodes, record.tree_index)
        out.append((record, None if reached is None else _hex(reached)))
    return out


def _first_difference(chunks: Iterable[str], file: Path) -> int | None:
    """Offset of the first character where the file differs from the text (-1: no file), or None if equal."""
    if not file.exists():
        return -1
    offset = 0
    with file.open("r", encoding="ascii", errors="replace", newline="") as f:
        for chunk in chunks:
            found = f.read(len(chunk))
            if found != chunk:
                same = (i for i, (a, b) in enumerate(zip(found, chunk, strict=False)) if a != b)
                return offset + next(same, len(found))
            offset += len(chunk)
        return offset if f.read(1) else None


def _more(fail: Any, accounts: list[str], file: str, what: str) -> None:
    if len(accounts) > MAX_ACCOUNTS_LISTED:
        fail(
            {"file": file, "accounts": len(accounts)},
            0,
            len(accounts),
            f"{len(accounts)} {what}; the first {MAX_ACCOUNTS_LISTED} are listed above",
        )


def _leaf(leaf: LeafValues | None) -> dict[str, str] | None:
    if leaf is None:
        return None
    account, cumulative, salt = leaf
    return {"account": account, "cumulative": str(cumulative), "salt": "0x" + salt.hex() if salt else ""}


def _hex(value: bytes) -> str:
    return "0x" + value.hex()
