"""The audit: re-derives the ledger from the chain's events and the records each epoch commits to (docs/audit.md)."""

from app.audit.chain import ChainEvent, ChainReader
from app.audit.checks.consent import check_consents
from app.audit.html import STYLE_HASH, render_html
from app.audit.records import PurchaseRecord, load_purchases, purchases_hash
from app.audit.report import CheckResult, Discrepancy, latest_report, reports_dir, write_report
from app.audit.verifier import Verifier, verify

__all__ = [
    "STYLE_HASH",
    "ChainEvent",
    "ChainReader",
    "CheckResult",
    "Discrepancy",
    "PurchaseRecord",
    "Verifier",
    "check_consents",
    "latest_report",
    "load_purchases",
    "purchases_hash",
    "render_html",
    "reports_dir",
    "verify",
    "write_report",
]
