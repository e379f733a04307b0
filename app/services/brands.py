"""Brands: registration by the operator, in the database and in the ConsentRegistry; lookup and listing."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.chain.gateway import ChainGateway
from app.errors import Conflict, NotFound
from app.models.accounts import Brand


def register_brand(session: Session, chain: ChainGateway, name: str, address: str) -> Brand:
    """Registers a brand: refused if the name or address is taken; on chain first, then recorded."""
    if session.exec(select(Brand).where(Brand.name == name)).first() is not None:
        raise Conflict(f"a brand named {name!r} exists already")
    if session.exec(select(Brand).where(Brand.address == address)).first() is not None:
        raise Conflict(f"a brand with address {address} exists already")
    if not chain.registry.is_brand(address):
        chain.registry.register_brand(address)
    brand = Brand(name=name, address=address)
    session.add(brand)
    session.commit()
    session.refresh(brand)
    return brand


def get_brand(session: Session, brand_id: int) -> Brand:
    brand = session.get(Brand, brand_id)
    if brand is None:
        raise NotFound(f"no brand {brand_id}")
    return brand


def list_brands(session: Session) -> list[Brand]:
    return list(session.exec(select(Brand).order_by(col(Brand.id))))


def listed_brands(session: Session) -> list[Brand]:
    """Every brand by name: the public list a customer picks from to grant consent."""
    return list(session.exec(select(Brand).order_by(col(Brand.name))))
