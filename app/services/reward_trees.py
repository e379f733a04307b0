"""Each epoch's reward tree: salted leaves from the committed rewards, its files, proofs checked and repaired."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path

from sqlmodel import Session, col, select

from app.analytics.store import analytics
from app.chain.merkle import Leaf, StandardTree, distributor_takes_salt, epoch_leaves, salt_for
from app.chain.proofs import Proof, TreeFiles, write_tree
from app.config import Settings
from app.errors import Conflict, NotFound
from app.models.epochs import Epoch, EpochReward, EpochStatus

log = logging.getLogger(__name__)

# Every account's cumulative amount after epoch ?, sorted: the Merkle tree's leaves.
_LEAVES_SQL = """
SELECT account, CAST(arg_max(CAST(cumulative AS HUGEINT), epoch) AS VARCHAR) AS cumulative
FROM store.epoch_rewards WHERE epoch <= ?
GROUP BY account
HAVING arg_max(CAST(cumulative AS HUGEINT), epoch) > 0
ORDER BY account
"""


def salt_key(settings: Settings) -> bytes | None:
    """The key leaf salts derive from; None while the deployed distributor takes no salt (main's contract)."""
    return settings.leaf_salt_key.get_secret_value().encode() if distributor_takes_salt() else None


def leaves_for(settings: Settings, number: int, amounts: Iterable[tuple[str, int]]) -> list[Leaf]:
    """Epoch `number`'s leaves from (account, cumulative amount) pairs, salted under the configured key."""
    return epoch_leaves(amounts, epoch=number, key=salt_key(settings))


def committed_leaves(settings: Settings, number: int) -> list[Leaf]:
    """Epoch `number`'s leaves as the stored rewards (`epoch_rewards`) commit them."""
    with analytics(settings) as con:
        rows = con.execute(_LEAVES_SQL, [number]).fetchall()
    return leaves_for(settings, number, [(a, int(c)) for a, c in rows])


def epoch_dir(settings: Settings, number: int) -> Path:
    return settings.data_dir / "epochs" / str(number)


def rebuild(settings: Settings, number: int, root: str | None) -> StandardTree:
    """Writes epoch `number`'s tree files anew from the committed leaves; Conflict if they miss the published root."""
    tree = write_tree(epoch_dir(settings, number), committed_leaves(settings, number), final=True)
    if "0x" + tree.root.hex() != root:
        raise Conflict(f"epoch {number}: the stored rewards no longer give the published root {root}")
    return tree


def committed_leaf(session: Session, settings: Settings, number: int, account: str) -> Leaf | None:
    """The account's leaf in epoch `number` from the stored rewards (its latest cumulative up to then)."""
    cumulative = session.exec(
        select(EpochReward.cumulative)
        .where(EpochReward.account == account.lower(), col(EpochReward.epoch) <= number)
        .order_by(col(EpochReward.epoch).desc())
    ).first()
    if not cumulative:
        return None
    key = salt_key(settings)
    salt = salt_for(key, number, account) if key is not None else None
    return Leaf(account.lower(), int(cumulative), salt)


def _stored_proof(settings: Settings, epoch: Epoch, expected: Leaf | None, account: str) -> Proof | None | str:
    """The files' proof if it is right (the committed leaf, reaching the epoch's root), else why it is not."""
    try:
        proof = TreeFiles(epoch_dir(settings, epoch.number)).proof(account)
    except (OSError, ValueError, KeyError, json.JSONDecodeError) as exc:
        return f"unreadable ({type(exc).__name__}: {exc})"
    if proof is None:
        return None if expected is None else "the account's leaf is missing"
    if expected is None or proof.leaf != expected:
        return "the stored leaf differs from the committed one"
    if "0x" + proof.root.hex() != epoch.root:
        return "the files name another root"
    if not proof.verifies():
        return "the stored proof does not reach the root"
    return proof


def checked_proof(session: Session, settings: Settings, epoch: Epoch, account: str) -> Proof | None:
    """The account's proof in a settled epoch, checked against the committed leaf and the published root.

    A corrupt or missing tree file is rebuilt from the committed leaves before anything is refused,
    so one flipped byte on disk never turns into a wrong proof served or a claim refused.
    """
    expected = committed_leaf(session, settings, epoch.number, account)
    found = _stored_proof(settings, epoch, expected, account)
    if not isinstance(found, str):
        return found
    log.warning("epoch %s: tree files wrong for %s (%s); rebuilding them", epoch.number, account, found)
    rebuild(settings, epoch.number, epoch.root)
    found = _stored_proof(settings, epoch, expected, account)
    if isinstance(found, str):
        raise Conflict(f"epoch {epoch.number}: no valid proof for {account} even after rebuilding: {found}")
    return found


def dump_path(session: Session, settings: Settings, number: int) -> Path:
    """The settled epoch's tree in OpenZeppelin's dump format (rebuilt first if missing or not the epoch's root)."""
    epoch = session.get(Epoch, number)
    if epoch is None or epoch.status != EpochStatus.DONE:
        raise NotFound(f"no settled epoch {number}")
    files = TreeFiles(epoch_dir(settings, number))
    if not (files.is_final(epoch.root or "") and _dump_root(files.dump_path) == epoch.root):
        log.warning("epoch %s: tree dump missing or wrong; rebuilding the tree files", number)
        rebuild(settings, number, epoch.root)
    return files.dump_path


def _dump_root(path: Path) -> str | None:
    # The root is the dump's first node, near the top of the file: no need to parse a million-leaf dump.
    try:
        with path.open("rb") as f:
            head = f.read(512).decode("ascii", errors="replace")
    except OSError:
        return None
    start = head.find('"tree":["')
    return head[start + 9 : start + 9 + 66] if start >= 0 else None
