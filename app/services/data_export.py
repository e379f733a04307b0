"""Everything held about one customer for the export (GDPR art. 20): their rows of each table, and their profile.

Each table that refers to a customer (tests/api/test_export.py walks the schema for them) is listed in
EXPORTED with how the customer's rows are found, or in NOT_EXPORTED with why not. Rows are exported as
stored, every column, so the archive says what the database says; JSON documents stored as text (consent
receipts, typed data) stay text, so their hashes can be recomputed from the export byte for byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, func, or_, select
from sqlmodel import Session, SQLModel

from app.clock import utcnow
from app.config import Settings
from app.models.accounts import Customer
from app.models.types import UintString
from app.services.my_data import held_profile

FORMAT = "loyalty-ledger/customer-export/1"
"""The archive's format and version (docs/data-rights.md)."""

Where = Callable[[Table, Customer], ColumnElement[bool]]


def _by_id(table: Table, customer: Customer) -> ColumnElement[bool]:
    return table.c.customer_id == customer.id


def _by_address(*columns: str) -> Where:
    def where(table: Table, customer: Customer) -> ColumnElement[bool]:
        return or_(*(func.lower(table.c[c]) == customer.address.lower() for c in columns))

    return where


def _of_purchases(table: Table, customer: Customer) -> ColumnElement[bool]:
    purchases = SQLModel.metadata.tables["purchases"]
    return table.c.purchase_id.in_(select(purchases.c.id).where(purchases.c.customer_id == customer.id))


EXPORTED: dict[str, tuple[str, Where]] = {
    "customers": ("Your account: address and the personal fields you gave", lambda t, c: t.c.id == c.id),
    "purchases": ("Your purchases at each brand: amount, time, order id", _by_id),
    "purchase_items": ("What each purchase held", _of_purchases),
    "purchase_voids": ("Purchases a brand voided (returned or cancelled), and why", _of_purchases),
    "purchase_refunds": ("Refunds a brand reported for your purchases (full or partial)", _by_id),
    "payment_quotes": ("Payments with CASH you were offered to sign: brand, amount, what they were for", _by_id),
    "payments": ("Your payments with CASH on chain, with their transaction", _by_address("payer")),
    "interest_events": ("Views, cart adds and abandons the brands reported", _by_id),
    "customer_sessions": ("Your sign-ins (the session token's hash is left out)", _by_id),
    "consent_receipts": ("Your consent receipts, each with the document whose hash is on chain", _by_id),
    "consent_changes": ("Each grant, narrowing and revocation you signed, and its transaction", _by_id),
    "signed_requests": ("Other requests you signed (invalidating your signatures)", _by_address("signer")),
    "mirror_consents": ("Your consents as the registry holds them now", _by_address("customer")),
    "mirror_consent_events": ("Every consent event of yours on chain", _by_address("customer")),
    "mirror_accesses": ("Brands' recorded accesses to your data, with their transaction", _by_address("customer")),
    "mirror_skipped_accesses": ("Accesses the registry refused for you, and why", _by_address("customer")),
    "epoch_scores": ("Your RFM scores, segment and tier at each epoch", _by_id),
    "behaviour_changes": ("Changes of your behaviour the epochs noticed", _by_id),
    "epoch_rewards": ("What you earned in each epoch (the leaf of its Merkle tree)", _by_address("account")),
    "epoch_carries": ("Cashback owed to you and carried to a later epoch", _by_address("account")),
    "epoch_offer_lines": ("Offer bonuses owed for your purchases", _by_id),
    "epoch_offer_rewards": ("Offer bonuses paid to you per brand and epoch", _by_address("account")),
    "epoch_brand_rate_lines": ("A brand's own extra rate your purchases earned: category, tier, bps", _by_id),
    "mirror_claims": ("Your claims on chain", _by_address("account")),
    "mirror_transfers": ("CASH transfers to and from your address", _by_address("from_address", "to_address")),
    "deliveries": ("Offers delivered to you, with why (consent and data used)", _by_id),
    "redemptions": ("Offers you redeemed", _by_id),
    "campaign_members": ("Campaigns you were part of, and your arm", _by_id),
    "auto_claims": ("Your choice of automatic claims, and when you made it", _by_id),
    "claim_lines": ("Each automatic claim the relayer made for you, by epoch", _by_address("account")),
    "upkeep_events": ("Each personal field you updated or confirmed (a keyed hash of the value)", _by_id),
    "epoch_upkeep_lines": ("What each epoch paid for keeping your profile up to date, and why", _by_id),
}

NOT_EXPORTED: dict[str, str] = {
    # The brand's own address is what the column holds, never a customer's.
    "brands": "a brand's account; the brand's name and address appear in the rows that name it",
    # A one-time sign-in challenge issued to an address before anyone signed in; it expires in minutes,
    # says nothing about the person and is not kept as a record of them.
    "siwe_nonces": "one-time sign-in challenges, expiring in minutes",
    # A brand's application: the address is the applying brand's wallet, never a customer's.
    "brand_applications": "brands' applications to join; the address is the brand's wallet",
    # The secret key the upkeep value hashes use: nothing about the person; it is deleted on erasure.
    "upkeep_keys": "the key your upkeep events' value hashes use (a secret, deleted when you erase your data)",
}

OMITTED_COLUMNS: dict[str, frozenset[str]] = {
    # The hash of a bearer secret: no information about the customer, and useless to anyone but an attacker.
    "customer_sessions": frozenset({"token_hash"}),
}


@dataclass(frozen=True)
class ExportTable:
    name: str
    about: str
    rows: list[dict[str, Any]]
    wide: frozenset[str]  # columns holding uint up to 256 bits: decimal strings in JSON whatever their size


@dataclass(frozen=True)
class Export:
    address: str
    exported_at: datetime
    profile: dict[str, Any]
    tables: list[ExportTable]


def export(session: Session, settings: Settings, customer: Customer) -> Export:
    """Everything held about the customer (session: the mirror caught up with the chain)."""
    tables = [_table(session, name, about, where, customer) for name, (about, where) in EXPORTED.items()]
    return Export(customer.address, utcnow(), held_profile(session, settings, customer), tables)


def _table(session: Session, name: str, about: str, where: Where, customer: Customer) -> ExportTable:
    table = SQLModel.metadata.tables[name]
    omitted = OMITTED_COLUMNS.get(name, frozenset())
    columns = [c for c in table.columns if c.name not in omitted]
    order = list(table.primary_key.columns)
    rows = session.execute(select(*columns).where(where(table, customer)).order_by(*order)).mappings().all()
    wide = frozenset(c.name for c in columns if isinstance(c.type, UintString))
    return ExportTable(name, about, [dict(r) for r in rows], wide)
