"""Audit check: every consent change the store holds as in force is on the chain, in its block, at CONFIRMATIONS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.models.consents import ChangeStatus, ConsentAction, ConsentChange

if TYPE_CHECKING:
    from app.audit.chain import ChainEvent
    from app.audit.report import CheckResult

_EVENT = {
    ConsentAction.GRANT: "ConsentGranted",
    ConsentAction.NARROW: "ConsentNarrowed",
    ConsentAction.REVOKE: "ConsentRevoked",
}


def check_confirmations(result: CheckResult, engine: Engine, events: list[ChainEvent], audited_block: int) -> None:
    """Compares the store's relayed changes with the registry's events up to the audited block (head minus
    CONFIRMATIONS): a change recorded as relayed whose transaction the chain lost (a restart from older
    state, a reorg), or that sits in another block than recorded, is a discrepancy."""
    on_chain: dict[tuple[str, str], int] = {}  # (tx hash, event) -> block
    for e in events:
        if e.contract == "ConsentRegistry" and e.name in _EVENT.values():
            on_chain[(e.tx_hash.lower(), e.name)] = e.block
    with Session(engine) as session:
        relayed = session.exec(
            select(ConsentChange)
            .where(col(ConsentChange.status) == ChangeStatus.RELAYED)
            .order_by(col(ConsentChange.relayed_at))
        ).all()
        waiting = len(
            session.exec(select(ConsentChange.id).where(col(ConsentChange.status) == ChangeStatus.SENT)).all()
        )
    missing = 0
    for change in relayed:
        event = _EVENT[ConsentAction(change.action)]
        record = {
            "consent_change": change.id,
            "action": change.action,
            "receipt_id": change.receipt_id,
            "tx_hash": change.tx_hash,
            "block": change.block_number,
        }
        block = on_chain.get(((change.tx_hash or "").lower(), event))
        if block is None:
            missing += 1
            result.fail(
                record,
                f"a {event} event in transaction {change.tx_hash} at or before block {audited_block}",
                "no such event on this chain",
                f"the store holds this {change.action} as relayed and in force, but the chain does not confirm it "
                "(lost in a restart or reorg, or not yet at CONFIRMATIONS depth); run `ledger reconcile`",
            )
        elif block != change.block_number:
            result.fail(
                record,
                change.block_number,
                block,
                f"the {event} of transaction {change.tx_hash} is in block {block}, not {change.block_number}",
            )
    result.summary = (
        f"{len(relayed)} relayed consent changes checked against the registry's events; "
        f"{missing} not confirmed by the chain; {waiting} sent and awaiting confirmation (not in force yet)"
    )
    result.figures = {"relayed": len(relayed), "not_confirmed": missing, "awaiting_confirmation": waiting}
