"""Relayed consent changes kept in step with the chain: one submit per signature, resent or failed after a crash.

A relayed change counts ("in force") only once the chain has its transaction at CONFIRMATIONS
depth. A chain that restarts from an older state, or reorganises, can drop a transaction the
database recorded: `reconcile` looks at every change sent recently and, for each one the chain
no longer has, sends the very same signed transaction again while the customer's signed nonce is
still unused (or, if the relayer's own nonce went to another transaction since, relays the same
customer signature in a new transaction); when the nonce was used by something else or the
signature's deadline passed, it marks the change failed and says why, which the customer sees
in the consent view.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import update
from sqlmodel import Session, col, or_, select

from app.chain.gateway import ChainGateway
from app.clock import utcnow
from app.config import Settings
from app.errors import ChainRefused, Conflict
from app.models.consents import ChangeStatus, ConsentAction, ConsentChange, ConsentReceipt, ReceiptStatus

log = logging.getLogger(__name__)

Outcome = Literal["confirmed", "awaiting confirmations", "resent", "relayed anew", "found", "failed"]


# ---------------------------------------------------------------------------------------------
# The registry's nonce of a signed change: the one place that knows how nonces work on chain
# ---------------------------------------------------------------------------------------------


def signed_nonce_used(chain: ChainGateway, change: ConsentChange, customer: str) -> bool:
    """Whether the registry has consumed the nonce this change was signed with (by it or another change).

    Unordered nonces (a Permit2-style bitmap): used by a relay or invalidated by the customer.
    """
    return chain.registry.is_nonce_used(customer, change.nonce)


# ---------------------------------------------------------------------------------------------
# One submit per signed change
# ---------------------------------------------------------------------------------------------


def refuse_resubmit(change: ConsentChange) -> None:
    """409 for a change that was submitted already (relayed, on its way, or failed)."""
    if change.status == ChangeStatus.RELAYED:
        raise Conflict(
            f"this {change.action} was relayed already in transaction {change.tx_hash}; it counts once",
            tx_hash=change.tx_hash,
        )
    if change.status == ChangeStatus.SENT:
        raise Conflict(
            f"this {change.action} was already submitted and is on its way to the chain"
            + (f" (transaction {change.tx_hash})" if change.tx_hash else "")
            + "; it counts once",
            tx_hash=change.tx_hash,
        )
    if change.status == ChangeStatus.FAILED:
        raise Conflict(f"this {change.action} failed: {change.failure}; ask for new typed data and sign again")


# Changes a request of this process is relaying right now: reconciliation leaves them to it.
_in_flight: set[str] = set()
_in_flight_lock = threading.Lock()


def claim(session: Session, change: ConsentChange, signature: str) -> None:
    """Takes the change from pending to sent atomically, so concurrent submits of one signature relay it once."""
    taken = session.execute(
        update(ConsentChange)
        .where(col(ConsentChange.id) == change.id, col(ConsentChange.status) == ChangeStatus.PENDING)
        .values(status=ChangeStatus.SENT, signature=signature)
    )
    session.commit()
    session.refresh(change)
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        refuse_resubmit(change)
        raise Conflict("this change was already submitted")
    with _in_flight_lock:
        _in_flight.add(change.id)


def done(change: ConsentChange) -> None:
    """The request relaying `change` has finished, one way or another."""
    with _in_flight_lock:
        _in_flight.discard(change.id)


def release(session: Session, change: ConsentChange) -> None:
    """Back to pending after a refusal that happened before anything was broadcast (the customer may retry)."""
    session.rollback()
    session.refresh(change)
    if change.status == ChangeStatus.SENT and change.relay_tx is None:
        change.status = ChangeStatus.PENDING
        change.signature = None
        session.commit()


def keeper(session: Session, change: ConsentChange):  # type: ignore[no-untyped-def]
    """The before-broadcast hook: keeps the signed relay transaction, so it can be sent again after a crash."""

    def keep(tx_hash: str, raw: bytes) -> None:
        change.tx_hash = tx_hash
        change.relay_tx = "0x" + raw.hex()
        session.commit()

    return keep


# ---------------------------------------------------------------------------------------------
# Reconciling what was sent with what the chain has
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reconciled:
    change_id: str
    action: str
    outcome: Outcome
    tx_hash: str | None
    detail: str = ""


def reconcile(session: Session, settings: Settings, chain: ChainGateway) -> list[Reconciled]:
    """Checks every change sent, or relayed within RECONCILE_WINDOW_SECONDS, against the chain."""
    since = utcnow() - timedelta(seconds=settings.reconcile_window_seconds)
    changes = session.exec(
        select(ConsentChange)
        .where(
            or_(
                col(ConsentChange.status) == ChangeStatus.SENT,
                (col(ConsentChange.status) == ChangeStatus.RELAYED) & (col(ConsentChange.relayed_at) >= since),
            )
        )
        .order_by(col(ConsentChange.created_at))
    ).all()
    with _in_flight_lock:
        busy = set(_in_flight)
    results = []
    for change in changes:
        if change.id in busy:
            continue
        try:
            results.append(_reconcile_one(session, chain, change))
        except ChainRefused as refused:  # sent again, the registry said no (e.g. its deadline passed meanwhile)
            session.rollback()
            why = f"the registry refused it when it was sent again ({refused.detail.get('error') or refused.message})"
            results.append(_fail(session, chain, change, why, _result_of(change)))
    return [r for r in results if r is not None]


def _result_of(change: ConsentChange):  # type: ignore[no-untyped-def]
    return lambda outcome, detail="": Reconciled(change.id, change.action, outcome, change.tx_hash, detail)


def _reconcile_one(session: Session, chain: ChainGateway, change: ConsentChange) -> Reconciled | None:
    from app.services.consents import _find_relayed, _record_relayed

    document = json.loads(change.typed_data)
    customer = document["message"]["customer"]

    result = _result_of(change)

    mined = chain.receipt(change.tx_hash) if change.tx_hash else None
    if mined is not None and mined.succeeded:
        block = mined.block_number
        was = (change.status, change.block_number)
        _record_relayed(session, chain, change, document, str(change.tx_hash), block)
        if was == (change.status, change.block_number):
            return None  # nothing changed
        return result("confirmed" if change.status == ChangeStatus.RELAYED else "awaiting confirmations")

    # The chain does not have the transaction: lost in a restart or reorg, or never broadcast.
    if signed_nonce_used(chain, change, customer):
        found = _find_relayed(chain, change, customer)
        if found is not None:
            _record_relayed(session, chain, change, document, *found)
            return result("found")
        why = "its signed nonce was used or invalidated since (another change of yours, or your invalidation)"
        return _fail(session, chain, change, why, result)
    latest = chain.block().timestamp
    if max(latest, int(utcnow().timestamp())) >= change.deadline:
        return _fail(session, chain, change, "its signature expired before the chain kept it", result)
    if change.relay_tx is not None:
        sent = chain.resend(bytes.fromhex(change.relay_tx.removeprefix("0x")))
        if sent is not None:
            _record_relayed(session, chain, change, document, sent.tx_hash, sent.block_number)
            return result("resent")
    # The relayer's nonce went to another transaction since: relay the same customer signature anew.
    from app.services.consents import send_signed_change

    assert change.signature is not None
    signature = bytes.fromhex(change.signature.removeprefix("0x"))
    sent = send_signed_change(chain, change, document, signature, before_broadcast=keeper(session, change))
    _record_relayed(session, chain, change, document, sent.tx_hash, sent.block_number)
    return result("relayed anew")


def _fail(session: Session, chain: ChainGateway, change: ConsentChange, why: str, result: Any) -> Reconciled:
    from app.services.consents import consent_on_chain

    change.status = ChangeStatus.FAILED
    change.failure = f"the chain lost this {change.action} and it could not be sent again: {why}"
    receipt = session.get(ConsentReceipt, change.receipt_id) if change.receipt_id else None
    if receipt is not None:
        on_chain = consent_on_chain(chain, receipt.customer_address, receipt.brand_address, receipt.purpose)
        if change.action == ConsentAction.GRANT:
            receipt.status = ReceiptStatus.FAILED
            receipt.activated_at = None
            # The grant it had superseded is the one in force again, if the chain still holds it.
            for previous in session.exec(
                select(ConsentReceipt).where(
                    ConsentReceipt.customer_id == receipt.customer_id,
                    ConsentReceipt.brand_id == receipt.brand_id,
                    ConsentReceipt.purpose == receipt.purpose,
                    ConsentReceipt.status == ReceiptStatus.SUPERSEDED,
                    ConsentReceipt.receipt_hash == on_chain.receipt_hash,
                )
            ):
                previous.status = ReceiptStatus.ACTIVE
        elif change.action == ConsentAction.REVOKE and on_chain.receipt_hash == receipt.receipt_hash:
            receipt.status = ReceiptStatus.ACTIVE  # the revocation did not happen: the consent still holds
            receipt.withdrawn_at = None
            receipt.withdrawal_tx_hash = None
    session.commit()
    log.warning("consent change %s failed: %s", change.id, change.failure)
    return result("failed", change.failure)  # type: ignore[no-any-return]
