"""docs/audit.md says what the code does: purchases_hash as written there, no re-registration or CASH purchase flow."""

from __future__ import annotations

import hashlib
from datetime import datetime

from app.audit import PurchaseRecord, purchases_hash
from app.paths import REPO_ROOT

DOC = (REPO_ROOT / "docs" / "audit.md").read_text()


def _as_the_doc_says(rows: list[tuple[int, int, int, int, int]]) -> str:
    """One line `id|customer_id|brand_id|amount|epoch_us` per purchase; per 65,536-id chunk the lines joined by
    a newline in id order and sha256'd; the chunks' hex digests concatenated in chunk order and sha256'd."""
    chunks: dict[int, list[str]] = {}
    for i, c, b, a, us in sorted(rows):
        chunks.setdefault(i // 65536, []).append(f"{i}|{c}|{b}|{a}|{us}")
    digests = "".join(hashlib.sha256("\n".join(chunks[k]).encode()).hexdigest() for k in sorted(chunks))
    return "0x" + hashlib.sha256(digests.encode()).hexdigest()


def test_purchases_hash_is_what_the_doc_describes() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901)
    us = (moment - datetime(1970, 1, 1)).days * 86_400_000_000 + (3 * 3600 + 4 * 60 + 5) * 1_000_000 + 678901
    rows = [(70_000, 2, 1, 999, us), (1, 7, 3, 600_001, us), (2, 7, 1, 5, us)]
    records = [PurchaseRecord(i, c, b, f"0x{c:040x}", f"0x{b:040x}", a, moment) for i, c, b, a, _ in rows]
    assert purchases_hash(records) == _as_the_doc_says(rows)
    assert "joined by `\\n` in id order" in DOC and "row hashes" not in DOC


def test_the_doc_claims_no_flow_that_does_not_exist() -> None:
    assert "re-registering makes them cover again" not in DOC
    assert "There is no re-registration flow" in DOC and "`BrandRetired`" in DOC
    assert "no purchase paid in CASH" in DOC
