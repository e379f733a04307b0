"""Spending CASH: a customer's quote and signed payment, payments made, brands' CASH received and reward catalogues."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ChainDep, CurrentBrand, CurrentCustomer, FreshMirrorDep, SessionDep
from app.api.schemas import DocumentedRoute, Merged, errors
from app.api.schemas.payments import (
    CatalogueEntryPublic,
    CatalogueItemCreate,
    CatalogueItemPublic,
    PaymentPublic,
    PaymentQuotePublic,
    PaymentQuoteRequest,
    PaymentSignatures,
)
from app.services import payments

router = APIRouter(tags=["payments"], route_class=DocumentedRoute, responses=errors(400, 404, 409, 422))


@router.post("/me/payments/quote")
def create_payment_quote(
    *, body: PaymentQuoteRequest, customer: CurrentCustomer, session: SessionDep, chain: ChainDep
) -> PaymentQuotePublic:
    """A payment with CASH to sign: the EIP-2612 permit and the router's Payment, valid 15 minutes (customer)."""
    q = payments.quote(
        session,
        chain,
        customer,
        brand_id=body.brand_id,
        amount=body.amount,
        purchase_external_id=body.purchase_external_id,
        catalogue_item_id=body.catalogue_item_id,
    )
    merged = Merged(
        q,
        brand_id=q.brand.id,
        brand_name=q.brand.name,
        brand_address=q.brand.address,
        catalogue_item_id=q.catalogue_item.id if q.catalogue_item else None,
    )
    return PaymentQuotePublic.model_validate(merged, from_attributes=True)


@router.post("/me/payments")
def create_payment(
    *, body: PaymentSignatures, customer: CurrentCustomer, session: SessionDep, chain: ChainDep
) -> PaymentPublic:
    """Relays a signed quote in one transaction (permit + transfer to the brand), gas paid by us (customer)."""
    paid = payments.pay(
        session,
        chain,
        customer,
        reference=body.reference,
        permit_signature=body.permit_signature,
        payment_signature=body.payment_signature,
        amount=body.amount,
    )
    return PaymentPublic.model_validate(paid, from_attributes=True)


@router.get("/me/payments")
def read_my_payments(*, customer: CurrentCustomer, mirror: FreshMirrorDep) -> list[PaymentPublic]:
    """My payments with CASH, newest first (customer)."""
    return [
        PaymentPublic.model_validate(p, from_attributes=True) for p in payments.payments_of_customer(mirror, customer)
    ]


@router.get("/brands/me/payments")
def read_payments_received(*, brand: CurrentBrand, mirror: FreshMirrorDep) -> list[PaymentPublic]:
    """CASH customers paid us, newest first (brand)."""
    return [PaymentPublic.model_validate(p, from_attributes=True) for p in payments.payments_to_brand(mirror, brand)]


@router.get("/brands/me/rewards-catalogue")
def read_my_catalogue(*, brand: CurrentBrand, session: SessionDep) -> list[CatalogueItemPublic]:
    """Our rewards sold for CASH (brand)."""
    return [
        CatalogueItemPublic.model_validate(i, from_attributes=True) for i in payments.catalogue_of_brand(session, brand)
    ]


@router.post("/brands/me/rewards-catalogue", status_code=201)
def create_catalogue_item(
    *, body: CatalogueItemCreate, brand: CurrentBrand, session: SessionDep
) -> CatalogueItemPublic:
    """Adds a reward (a gift, a voucher) customers buy with CASH (brand)."""
    item = payments.add_catalogue_item(session, brand, title=body.title, description=body.description, price=body.price)
    return CatalogueItemPublic.model_validate(item, from_attributes=True)


@router.get("/rewards-catalogue")
def read_catalogue(*, customer: CurrentCustomer, session: SessionDep) -> list[CatalogueEntryPublic]:
    """Every brand's rewards on sale for CASH, bought with POST /me/payments/quote (customer)."""
    return [CatalogueEntryPublic.model_validate(e, from_attributes=True) for e in payments.catalogue(session)]
