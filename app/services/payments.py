"""Spending CASH: quotes to sign (permit + Payment), relaying them, the payments made and brands' reward catalogues."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.chain.eip712 import recover_signer
from app.chain.gateway import ChainGateway
from app.chain.payments import PaymentTerms, payment_document, permit_document
from app.clock import from_unix
from app.errors import Conflict, InsufficientCash, InvalidInput, InvalidSignature, NotFound, SignatureExpired
from app.models.accounts import Brand, Customer
from app.models.mirror import MirrorPayment
from app.models.payments import CatalogueItem, PaymentQuote
from app.models.purchases import Purchase
from app.services.brands import get_brand
from app.services.signatures import chain_time

# How long a quote's signatures may be relayed: long enough to read and sign, short enough that a
# forgotten quote does not pin a permit nonce.
QUOTE_SECONDS = 15 * 60


@dataclass(frozen=True)
class Quote:
    """A payment for the customer to sign: the two typed-data documents and what they say."""

    reference: str
    brand: Brand
    amount: int
    nonce: int
    deadline: int
    purchase_external_id: str | None
    catalogue_item: CatalogueItem | None
    permit: dict[str, Any]
    payment: dict[str, Any]


@dataclass(frozen=True)
class PaymentLine:
    """A payment made (from the Paid event) with what it paid for (from its quote, if the API issued it)."""

    payer: str
    brand: str
    brand_name: str | None
    amount: int
    reference: str
    tx_hash: str
    block_number: int
    paid_at: datetime
    purchase_external_id: str | None
    catalogue_item_id: int | None
    catalogue_item_title: str | None


@dataclass(frozen=True)
class CatalogueEntry:
    """A reward a customer may buy with CASH, with its brand's name."""

    id: int
    brand_id: int
    brand_name: str
    title: str
    description: str
    price: int


def _terms(quote: PaymentQuote, brand: Brand) -> PaymentTerms:
    return PaymentTerms(quote.payer, brand.address, quote.amount, quote.reference, quote.nonce, quote.deadline)


@dataclass(frozen=True)
class Documents:
    """The two EIP-712 documents of one payment (eth_signTypedData_v4 shape)."""

    permit: dict[str, Any]
    payment: dict[str, Any]


def _documents(chain: ChainGateway, terms: PaymentTerms) -> Documents:
    d = chain.deployment
    if not d.payments:
        raise Conflict("the PaymentRouter is not deployed on this chain; run `ledger up`")
    return Documents(
        permit_document(terms, chain_id=chain.chain_id, token=d.token, router=d.payments),
        payment_document(terms, chain_id=chain.chain_id, router=d.payments),
    )


def _require_cash(chain: ChainGateway, payer: str, amount: int) -> None:
    held = chain.token.balance_of(payer)
    if held < amount:
        raise InsufficientCash(f"you hold {held} CASH units; the payment needs {amount}", held=str(held))


def quote(
    session: Session,
    chain: ChainGateway,
    customer: Customer,
    *,
    brand_id: int | None,
    amount: int | None,
    purchase_external_id: str | None = None,
    catalogue_item_id: int | None = None,
) -> Quote:
    """A payment of `amount` CASH to a brand (or of a catalogue item's price), checked and stored for signing."""
    item = None
    if catalogue_item_id is not None:
        item = session.get(CatalogueItem, catalogue_item_id)
        if item is None or not item.active:
            raise NotFound(f"no reward {catalogue_item_id} in the catalogue")
        if brand_id is not None and brand_id != item.brand_id:
            raise InvalidInput(f"reward {catalogue_item_id} is not sold by brand {brand_id}")
        if amount is not None and amount != item.price:
            raise InvalidInput(f"reward {catalogue_item_id} costs {item.price} CASH units, not {amount}")
        brand_id, amount = item.brand_id, item.price
    if brand_id is None:
        raise InvalidInput("name the brand to pay (brand_id) or a reward of the catalogue (catalogue_item_id)")
    if amount is None or amount <= 0:
        raise InvalidInput("the amount must be at least 1 CASH unit")
    brand = get_brand(session, brand_id)
    if not chain.registry.is_brand(brand.address):
        raise Conflict(f"brand {brand_id} is not registered on chain: it cannot be paid")
    if purchase_external_id is not None:
        found = session.exec(
            select(Purchase).where(
                Purchase.brand_id == brand_id,
                Purchase.external_id == purchase_external_id,
                Purchase.customer_id == customer.id,
            )
        ).first()
        if found is None:
            raise NotFound(f"you have no purchase {purchase_external_id!r} at brand {brand_id}")
    _require_cash(chain, customer.address, amount)
    assert customer.id is not None and brand.id is not None
    row = PaymentQuote(
        reference="0x" + secrets.token_bytes(32).hex(),
        customer_id=customer.id,
        brand_id=brand.id,
        payer=customer.address,
        amount=amount,
        nonce=chain.token.permit_nonce(customer.address),
        deadline=chain_time(chain) + QUOTE_SECONDS,
        purchase_external_id=purchase_external_id,
        catalogue_item_id=item.id if item else None,
    )
    documents = _documents(chain, _terms(row, brand))
    session.add(row)
    session.commit()
    return Quote(
        row.reference,
        brand,
        amount,
        row.nonce,
        row.deadline,
        purchase_external_id,
        item,
        documents.permit,
        documents.payment,
    )


def pay(
    session: Session,
    chain: ChainGateway,
    customer: Customer,
    *,
    reference: str,
    permit_signature: str,
    payment_signature: str,
    amount: int | None = None,
) -> PaymentLine:
    """Relays a signed quote: every check first (deadline, amount, signers, nonce, balance), then one transaction."""
    row = session.get(PaymentQuote, reference.lower())
    if row is None or row.customer_id != customer.id:
        raise NotFound(f"no payment quote {reference} of yours; ask POST /me/payments/quote")
    if session.exec(select(MirrorPayment).where(MirrorPayment.reference == row.reference)).first() is not None:
        raise Conflict(f"quote {reference} is paid already")
    if amount is not None and amount != row.amount:
        raise InvalidInput(f"quote {reference} is for {row.amount} CASH units, not {amount}")
    if chain_time(chain) > row.deadline:
        raise SignatureExpired(f"the quote's deadline {from_unix(row.deadline).isoformat()} has passed; ask a new one")
    brand = get_brand(session, row.brand_id)
    terms = _terms(row, brand)
    documents = _documents(chain, terms)
    signed = (("permit", documents.permit, permit_signature), ("payment", documents.payment, payment_signature))
    for what, document, signature in signed:
        try:
            signer = recover_signer(document, bytes.fromhex(signature.removeprefix("0x")))
        except ValueError:
            signer = None
        if signer is None or signer.lower() != row.payer.lower():
            raise InvalidSignature(f"the {what} signature is not {row.payer}'s over this quote's {what}")
    current = chain.token.permit_nonce(row.payer)
    if current != row.nonce:
        raise Conflict(f"a newer permit of yours was used since this quote (nonce {current}); ask a new quote")
    _require_cash(chain, row.payer, row.amount)
    paid = chain.payments.pay(
        terms, bytes.fromhex(permit_signature.removeprefix("0x")), bytes.fromhex(payment_signature.removeprefix("0x"))
    )
    item = session.get(CatalogueItem, row.catalogue_item_id) if row.catalogue_item_id else None
    return PaymentLine(
        payer=paid.payer,
        brand=paid.brand,
        brand_name=brand.name,
        amount=paid.amount,
        reference=paid.reference,
        tx_hash=paid.tx_hash,
        block_number=paid.block_number,
        paid_at=from_unix(chain.block(paid.block_number).timestamp),
        purchase_external_id=row.purchase_external_id,
        catalogue_item_id=row.catalogue_item_id,
        catalogue_item_title=item.title if item else None,
    )


def _lines(session: Session, rows: list[MirrorPayment]) -> list[PaymentLine]:
    quotes = {
        q.reference: q
        for q in session.exec(select(PaymentQuote).where(col(PaymentQuote.reference).in_([r.reference for r in rows])))
    }
    brands = {b.address.lower(): b for b in session.exec(select(Brand))}
    items = {i.id: i for i in session.exec(select(CatalogueItem))}
    out = []
    for r in rows:
        q = quotes.get(r.reference)
        item = items.get(q.catalogue_item_id) if q and q.catalogue_item_id else None
        brand = brands.get(r.brand.lower())
        out.append(
            PaymentLine(
                payer=r.payer,
                brand=r.brand,
                brand_name=brand.name if brand else None,
                amount=r.amount,
                reference=r.reference,
                tx_hash=r.tx_hash,
                block_number=r.block_number,
                paid_at=r.block_time,
                purchase_external_id=q.purchase_external_id if q else None,
                catalogue_item_id=item.id if item else None,
                catalogue_item_title=item.title if item else None,
            )
        )
    return out


def payments_of_customer(mirror: Session, customer: Customer) -> list[PaymentLine]:
    """The customer's payments, newest first."""
    rows = mirror.exec(
        select(MirrorPayment)
        .where(MirrorPayment.payer == customer.address)
        .order_by(col(MirrorPayment.block_number).desc(), col(MirrorPayment.log_index).desc())
    ).all()
    return _lines(mirror, list(rows))


def payments_to_brand(mirror: Session, brand: Brand) -> list[PaymentLine]:
    """The CASH a brand received from customers, newest first."""
    rows = mirror.exec(
        select(MirrorPayment)
        .where(MirrorPayment.brand == brand.address)
        .order_by(col(MirrorPayment.block_number).desc(), col(MirrorPayment.log_index).desc())
    ).all()
    return _lines(mirror, list(rows))


def add_catalogue_item(session: Session, brand: Brand, *, title: str, description: str, price: int) -> CatalogueItem:
    """A reward the brand sells for `price` CASH units."""
    if price <= 0:
        raise InvalidInput("a reward's price must be at least 1 CASH unit")
    assert brand.id is not None
    item = CatalogueItem(brand_id=brand.id, title=title, description=description, price=price)
    session.add(item)
    session.commit()
    session.refresh(item)
    return item


def catalogue_of_brand(session: Session, brand: Brand) -> list[CatalogueItem]:
    return list(
        session.exec(select(CatalogueItem).where(CatalogueItem.brand_id == brand.id).order_by(col(CatalogueItem.id)))
    )


def catalogue(session: Session) -> list[CatalogueEntry]:
    """Every reward on sale, by brand then title."""
    rows = session.exec(
        select(CatalogueItem, Brand)
        .join(Brand, col(Brand.id) == col(CatalogueItem.brand_id))
        .where(col(CatalogueItem.active).is_(True))
        .order_by(col(Brand.name), col(CatalogueItem.title))
    ).all()
    return [
        CatalogueEntry(
            id=item.id or 0,
            brand_id=item.brand_id,
            brand_name=brand.name,
            title=item.title,
            description=item.description,
            price=item.price,
        )
        for item, brand in rows
    ]
