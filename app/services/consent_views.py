"""The customer's consents as they stand: each receipt joined with the registry's state at the confirmed block."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from app.chain.contract import BlockId
from app.chain.gateway import ChainGateway
from app.models.accounts import Brand, Customer
from app.models.consents import ConsentChange, ConsentReceipt, ReceiptStatus
from app.services.consents import OnChainConsent, consent_on_chain, get_receipt


@dataclass(frozen=True)
class ConsentView:
    receipt: ConsentReceipt
    brand: Brand
    consent: OnChainConsent

    @property
    def receipt_on_chain(self) -> bool:
        """Whether the registry still holds this receipt's hash for (customer, brand, purpose)."""
        return self.consent.categories != 0 and self.consent.receipt_hash == self.receipt.receipt_hash


def list_consents(
    session: Session, chain: ChainGateway, customer: Customer, statuses: list[ReceiptStatus]
) -> list[ConsentView]:
    """The customer's receipts with the given statuses, each joined with the registry's state now."""
    receipts = session.exec(
        select(ConsentReceipt)
        .where(ConsentReceipt.customer_id == customer.id, col(ConsentReceipt.status).in_(statuses))
        .order_by(col(ConsentReceipt.created_at))
    ).all()
    views = []
    block = _confirmed_block(chain)
    for receipt in receipts:
        brand = session.get(Brand, receipt.brand_id)
        assert brand is not None
        consent = consent_on_chain(chain, receipt.customer_address, receipt.brand_address, receipt.purpose, block)
        views.append(ConsentView(receipt, brand, consent))
    return views


def view_consent(session: Session, chain: ChainGateway, customer: Customer, receipt_id: str) -> ConsentView:
    receipt = get_receipt(session, customer, receipt_id)
    brand = session.get(Brand, receipt.brand_id)
    assert brand is not None
    return ConsentView(
        receipt,
        brand,
        consent_on_chain(
            chain, receipt.customer_address, receipt.brand_address, receipt.purpose, _confirmed_block(chain)
        ),
    )


def _confirmed_block(chain: ChainGateway) -> BlockId:
    """The block whose state is "in force": CONFIRMATIONS behind the head (the head itself when 0)."""
    if chain.settings.confirmations <= 0:
        return "latest"
    return max(chain.head - chain.settings.confirmations, 0)


def changes_of(session: Session, receipt: ConsentReceipt) -> list[ConsentChange]:
    return list(
        session.exec(
            select(ConsentChange).where(ConsentChange.receipt_id == receipt.id).order_by(col(ConsentChange.created_at))
        )
    )
