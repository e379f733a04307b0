"""Purchase voids: the operator takes an implausible purchase out of settlement, with an audited reason.

A void is a row of its own (who, when, why); the purchase itself stays, so epochs already settled stay
verifiable. An epoch applies every void recorded before it is computed (up to `max_void_id`, committed in
its manifest with `voids_hash`): a voided purchase is neither scored nor paid from that epoch on. What an
earlier epoch paid for it stays paid (cumulative amounts never go down).
"""

from __future__ import annotations

import json

import duckdb
from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from app.errors import Conflict, InvalidInput, NotFound
from app.ingestion import BadRow, no_control
from app.models.purchases import Purchase, PurchaseVoid

MAX_REASON = 500
# publishEpoch packs each brand's debit into 96 bits (app/chain/merkle.pack_debit).
MAX_DEBIT = 2**96 - 1


def void_purchase(session: Session, purchase_id: int, *, reason: str, voided_by: str) -> PurchaseVoid:
    """Records the void of one purchase; refuses an unknown or already voided purchase and an empty reason."""
    reason = reason.strip()
    if not 3 <= len(reason) <= MAX_REASON:
        raise InvalidInput(f"reason: say why in 3 to {MAX_REASON} characters")
    try:
        no_control("reason", reason)
    except BadRow as exc:
        raise InvalidInput(str(exc)) from None
    if session.get(Purchase, purchase_id) is None:
        raise NotFound(f"no purchase with id {purchase_id}")
    existing = session.exec(select(PurchaseVoid).where(PurchaseVoid.purchase_id == purchase_id)).first()
    if existing is not None:
        raise Conflict(
            f"purchase {purchase_id} was voided already, at {existing.voided_at:%Y-%m-%dT%H:%M:%SZ} by "
            f"{existing.voided_by}: {existing.reason}"
        )
    void = PurchaseVoid(purchase_id=purchase_id, reason=reason, voided_by=voided_by)
    session.add(void)
    session.commit()
    session.refresh(void)
    return void


def not_voided_in(manifest: str | None) -> ColumnElement[bool]:
    """A condition on Purchase: not voided by the voids an epoch applied (its manifest's max_void_id)."""
    max_void_id = int(json.loads(manifest or "{}").get("max_void_id", 0))
    applied = select(PurchaseVoid.purchase_id).where(col(PurchaseVoid.id) <= max_void_id)
    return col(Purchase.id).not_in(applied)


# -- in the epoch job (DuckDB over the store) ----------------------------------------------------


def latest_void_id(con: duckdb.DuckDBPyConnection) -> int:
    """The newest void's id: an epoch applies the voids up to it (the same set when it is resumed)."""
    return int(con.execute("SELECT coalesce(max(id), 0) FROM store.purchase_voids").fetchone()[0])  # type: ignore[index]


def not_voided_sql(max_void_id: int) -> str:
    """A condition on purchases' `id`: not voided by a void up to `max_void_id`."""
    return f"id NOT IN (SELECT purchase_id FROM store.purchase_voids WHERE id <= {int(max_void_id)})"


def voids_hash(con: duckdb.DuckDBPyConnection, max_void_id: int) -> str:
    """sha256 over the applied voids in id order (docs/epochs.md): one line per void,
    `id|purchase_id|voided_by|voided_at in µs since 1970|sha256 hex of the reason`, joined by newlines."""
    (digest,) = con.execute(  # type: ignore[misc]
        f"""SELECT sha256(coalesce(string_agg(concat_ws('|', id, purchase_id, voided_by,
                    epoch_us(CAST(voided_at AS TIMESTAMP)), sha256(reason)), chr(10) ORDER BY id), ''))
        FROM store.purchase_voids WHERE id <= {int(max_void_id)}"""
    ).fetchone()
    return "0x" + digest


def check_settleable(debits: list[tuple[str, int]]) -> None:
    """Refuses debits publishEpoch cannot carry, naming the brand, before anything is stored or sent."""
    over = [f"{brand} owes {amount} units" for brand, amount in debits if amount > MAX_DEBIT]
    if over:
        raise Conflict(
            "this epoch cannot be settled: a brand's debit exceeds what one epoch can carry on chain "
            f"(2^96 - 1 units): {'; '.join(over)}. Void the implausible purchases "
            "(`ledger purchases void <id> --reason ...`) and run the epoch again",
            over=over,
        )
