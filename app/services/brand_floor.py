"""A brand's data prices' floor: the least price per access (CASH smallest units) it accepts."""

from __future__ import annotations

from sqlmodel import Session

from app.clock import utcnow
from app.errors import InvalidInput
from app.models.accounts import Brand
from app.models.brand_applications import BrandPriceFloor

FLOOR_MAX = 2**96 - 1
"""Consent prices are uint96 on chain: a floor above the largest price would refuse every customer."""


def price_floor(session: Session, brand: Brand) -> BrandPriceFloor:
    """The brand's floor; 0 (every price accepted) until it sets one."""
    assert brand.id is not None
    found = session.get(BrandPriceFloor, brand.id)
    return found if found is not None else BrandPriceFloor(brand_id=brand.id, floor=0, updated_at=brand.created_at)


def set_price_floor(session: Session, brand: Brand, floor: int) -> BrandPriceFloor:
    """Sets the floor: an integer from 0 to 2^96 - 1 smallest units; outside that, refused and nothing written."""
    if floor < 0 or floor > FLOOR_MAX:
        raise InvalidInput(f"the floor must be an integer from 0 to {FLOOR_MAX} CASH smallest units (uint96)")
    assert brand.id is not None
    record = session.get(BrandPriceFloor, brand.id)
    if record is None:
        record = BrandPriceFloor(brand_id=brand.id, floor=floor)
        session.add(record)
    else:
        record.floor = floor
        record.updated_at = utcnow()
    session.commit()
    session.refresh(record)
    return record
