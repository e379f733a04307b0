"""Audit check: the mirror tables equal a fresh re-index of the chain up to the mirror's own block."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from app.audit.chain import ChainReader, mirror_dump
from app.audit.report import CheckResult, jsonable
from app.config import Settings
from app.models.mirror import MIRROR_TABLES, IndexerCursor

_KEYS = {
    model.__table__.name: tuple(c.name for c in model.__table__.primary_key.columns)  # type: ignore[attr-defined]
    for model in MIRROR_TABLES
}


def check_mirror(result: CheckResult, settings: Settings, engine: Engine, chain: ChainReader) -> None:
    with Session(engine) as session:
        cursor = session.get(IndexerCursor, 1)
        stored = mirror_dump(session)
    stored_rows = sum(len(rows) for rows in stored.values())
    if cursor is None:
        if stored_rows:
            result.fail({"table": "indexer_cursor"}, "a cursor", None, "mirror rows exist without a cursor")
        result.summary = "the mirror has not been indexed yet: nothing to compare"
        result.figures = {"tables": [], "indexed_block": None}
        return
    rebuilt = chain.reindex(settings, cursor.last_block)
    tables = []
    for table in stored:
        mine, theirs = _keyed(table, stored[table]), _keyed(table, rebuilt.get(table, []))
        tables.append({"table": table, "mirror": len(mine), "chain": len(theirs)})
        for key in sorted(set(mine) | set(theirs)):
            got, want = mine.get(key), theirs.get(key)
            if got == want:
                continue
            record = {"table": table, "key": dict(key)}
            if got is None:
                evidence = f"row {dict(key)} of {table} is on chain but missing from the mirror"
            elif want is None:
                evidence = f"row {dict(key)} of {table} is in the mirror but not on chain"
            else:
                columns = sorted(c for c in want if want[c] != got.get(c))
                evidence = f"row {dict(key)} of {table} differs in {', '.join(columns)}"
            result.fail(record, want, got, evidence)
    result.figures = {"tables": tables, "indexed_block": cursor.last_block}
    result.summary = (
        f"{stored_rows} mirror rows up to block {cursor.last_block} compared with a re-index from block "
        f"{chain.deployment.block}: {len(result.discrepancies)} differ"
    )


def _keyed(table: str, rows: list[dict]) -> dict[tuple, dict[str, Any]]:
    names = _KEYS[table]
    out = {}
    for row in rows:
        normal = {k: jsonable(v) for k, v in row.items()}
        out[tuple((n, normal[n]) for n in names)] = normal
    return out
