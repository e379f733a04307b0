"""Housekeeping by `ledger up` on a schedule and on demand: purge stale rows, reconcile relays, automatic claims."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from app.chain.gateway import ChainGateway
from app.clock import utcnow
from app.config import Settings
from app.errors import LedgerError
from app.models.auth import CustomerSession, SiweNonce
from app.models.consents import ChangeStatus, ConsentChange, ConsentReceipt, ReceiptStatus
from app.services import auto_claims, relays

log = logging.getLogger(__name__)


@dataclass
class Purged:
    nonces: int = 0
    sessions: int = 0
    pending_changes: int = 0
    pending_receipts: int = 0


def purge(session: Session, settings: Settings) -> Purged:
    """Deletes SIWE nonces past their expiry, ended sessions, and consent requests nobody can submit any more.

    A pending change whose signature deadline has passed (plus PURGE_GRACE_SECONDS) can never be relayed: the
    registry refuses it. It goes, and so does a pending receipt left with no change; sent, relayed and failed
    changes and every receipt that reached the chain stay (proof of consent).
    """
    now = utcnow()
    cutoff = now - timedelta(seconds=settings.purge_grace_seconds)
    out = Purged()
    out.nonces = _deleted(session, delete(SiweNonce).where(col(SiweNonce.expires_at) <= cutoff))
    out.sessions = _deleted(session, delete(CustomerSession).where(col(CustomerSession.expires_at) <= cutoff))
    stale_deadline = int(cutoff.timestamp())
    out.pending_changes = _deleted(
        session,
        delete(ConsentChange).where(
            col(ConsentChange.status) == ChangeStatus.PENDING, col(ConsentChange.deadline) < stale_deadline
        ),
    )
    still_referenced = select(ConsentChange.receipt_id).where(col(ConsentChange.receipt_id).is_not(None))
    out.pending_receipts = _deleted(
        session,
        delete(ConsentReceipt).where(
            col(ConsentReceipt.status) == ReceiptStatus.PENDING,
            col(ConsentReceipt.created_at) <= cutoff,
            col(ConsentReceipt.id).not_in(still_referenced),
        ),
    )
    session.commit()
    return out


def _deleted(session: Session, statement) -> int:  # type: ignore[no-untyped-def]
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


@dataclass
class MaintenanceReport:
    purged: Purged
    reconciled: list[relays.Reconciled] = field(default_factory=list)
    error: str | None = None
    claims: auto_claims.RelayReport | None = None
    claims_error: str | None = None


def run_once(engine: Engine, settings: Settings, chain: ChainGateway) -> MaintenanceReport:
    """One round: purge, reconcile relayed consents with the chain, then the automatic claims (a chain that is
    down is retried next round)."""
    with Session(engine) as session:
        report = MaintenanceReport(purge(session, settings))
        try:
            report.reconciled = relays.reconcile(session, settings, chain)
        except LedgerError as exc:
            report.error = exc.message
        try:
            report.claims = auto_claims.relay(session, settings, chain)
        except LedgerError as exc:
            report.claims_error = exc.message
    return report


def start(engine: Engine, settings: Settings, chain: ChainGateway, stop: threading.Event) -> threading.Thread:
    """Runs `run_once` every MAINTENANCE_INTERVAL_SECONDS until `stop` is set; the API's own chain gateway must
    be passed, so a resent relay shares the relayer's nonce sequence with the API's relays."""

    def loop() -> None:
        while not stop.is_set():
            try:
                report = run_once(engine, settings, chain)
                for r in report.reconciled:
                    log.warning("consent change %s (%s): %s %s", r.change_id, r.action, r.outcome, r.detail)
                for b in report.claims.sent if report.claims else ():
                    log.info("automatic claims: batch %s paid %s to %s accounts", b.batch_id, b.paid, b.accounts)
            except Exception:  # noqa: BLE001 - a failed round is logged; the next one tries again
                log.exception("maintenance round failed")
            stop.wait(settings.maintenance_interval_seconds)

    thread = threading.Thread(target=loop, name="maintenance", daemon=True)
    thread.start()
    return thread
