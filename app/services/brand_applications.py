"""Brands that sign up themselves: apply with a wallet (SIWE), the operator approves or refuses, keys collected once."""

from __future__ import annotations

import secrets

from sqlmodel import Session, col, select

from app.chain.gateway import ChainGateway
from app.clock import utcnow
from app.config import Settings
from app.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from app.models.accounts import Brand
from app.models.auth import ApiKey
from app.models.brand_applications import ApplicationStatus, BrandApplication
from app.services import auth, brands

APPLICATION_PREFIX = "ap_"


def apply(
    session: Session, settings: Settings, chain: ChainGateway, name: str, message: str, signature: str
) -> tuple[BrandApplication, str]:
    """A pending application for the wallet that signed `message`; its status token is returned once."""
    name = name.strip()
    if not name:
        raise InvalidInput("the brand's name must not be blank")
    address = auth.siwe_signer(session, settings, chain, message, signature)
    if session.exec(select(Brand).where(Brand.address == address)).first() is not None:
        raise Conflict(f"{address} is a brand already")
    if session.exec(select(Brand).where(Brand.name == name)).first() is not None:
        raise Conflict(f"a brand named {name!r} exists already")
    open_ones = select(BrandApplication).where(BrandApplication.status == ApplicationStatus.PENDING)
    if session.exec(open_ones.where(BrandApplication.address == address)).first() is not None:
        raise Conflict(f"{address} has an application pending already")
    if session.exec(open_ones.where(BrandApplication.name == name)).first() is not None:
        raise Conflict(f"an application for the name {name!r} is pending already")
    token = APPLICATION_PREFIX + secrets.token_urlsafe(32)
    application = BrandApplication(name=name, address=address, token_hash=auth.hash_token(token))
    session.add(application)
    session.commit()
    session.refresh(application)
    return application, token


def by_token(session: Session, token: str) -> BrandApplication:
    """The application behind an applicant's status token."""
    found = session.exec(select(BrandApplication).where(BrandApplication.token_hash == auth.hash_token(token))).first()
    if found is None:
        raise NotAuthenticated("unknown application token")
    return found


def applications(session: Session, status: ApplicationStatus | None = None) -> list[BrandApplication]:
    query = select(BrandApplication).order_by(col(BrandApplication.id))
    if status is not None:
        query = query.where(BrandApplication.status == status)
    return list(session.exec(query))


def _pending(session: Session, application_id: int) -> BrandApplication:
    application = session.get(BrandApplication, application_id)
    if application is None:
        raise NotFound(f"no brand application {application_id}")
    if application.status != ApplicationStatus.PENDING:
        raise Conflict(f"brand application {application_id} is {application.status} already")
    return application


def approve(session: Session, chain: ChainGateway, application_id: int) -> BrandApplication:
    """The operator's approval: the brand is registered (on chain, then recorded) as the operator creates brands."""
    application = _pending(session, application_id)
    brand = brands.register_brand(session, chain, application.name, application.address)
    application.status = ApplicationStatus.APPROVED
    application.brand_id = brand.id
    application.decided_at = utcnow()
    session.commit()
    session.refresh(application)
    return application


def refuse(session: Session, application_id: int, reason: str) -> BrandApplication:
    """The operator's refusal, with its reason for the applicant; nothing goes on chain."""
    if not reason.strip():
        raise InvalidInput("a refusal needs a reason the applicant can read")
    application = _pending(session, application_id)
    application.status = ApplicationStatus.REFUSED
    application.reason = reason.strip()
    application.decided_at = utcnow()
    session.commit()
    session.refresh(application)
    return application


def collect_key(session: Session, token: str, label: str) -> tuple[ApiKey, str]:
    """The approved brand's first API key, handed to the applicant once (later keys: the operator)."""
    application = by_token(session, token)
    if application.status != ApplicationStatus.APPROVED or application.brand_id is None:
        raise Conflict(f"the application is {application.status}: keys come after the operator's approval")
    if application.key_collected_at is not None:
        raise Conflict("the key of this application was collected already; ask the operator for a new one")
    application.key_collected_at = utcnow()
    return auth.create_api_key(session, brands.get_brand(session, application.brand_id), label)
