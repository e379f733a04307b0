"""The programme's vocabulary shared by chain and database: purposes and data categories (bitmask)."""

from __future__ import annotations

from enum import IntEnum, IntFlag


class Purpose(IntEnum):
    """Why a brand uses data; the uint8 `purpose` of a consent on chain."""

    MARKETING = 1
    PERSONALISATION = 2
    ANALYTICS = 3
    RESEARCH = 4


class Category(IntFlag):
    """Data categories of a customer's profile; a consent's `categories` is a bitmask of these."""

    CONTACT = 1 << 0  # name, email, phone (only if the customer gave them)
    DEMOGRAPHICS = 1 << 1  # birth year, gender, region
    PURCHASES = 1 << 2  # purchase history and RFM values
    SEGMENT = 1 << 3  # RFM scores, segment and tier
    INTERESTS = 1 << 4  # category interest scores
    STYLES = 1 << 5  # style preferences
    CART = 1 << 6  # cart adds and abandons


ALL_CATEGORIES = int(sum(Category))

# The customer's own contact and demographic fields (off chain; corrected, confirmed and erased by the customer).
PERSONAL_FIELDS = ("name", "email", "phone", "birth_year", "gender", "region")


def category_mask(names: list[str]) -> int:
    """Bitmask of category names (case-insensitive); raises ValueError naming an unknown one."""
    mask = 0
    for name in names:
        try:
            mask |= Category[name.upper()]
        except KeyError:
            known = ", ".join(c.name.lower() for c in Category)  # type: ignore[union-attr]
            raise ValueError(f"unknown data category {name!r}; known: {known}") from None
    return mask


def category_names(mask: int) -> list[str]:
    return [c.name.lower() for c in Category if mask & c]  # type: ignore[union-attr]


def purpose_id(name: str) -> int:
    try:
        return int(Purpose[name.upper()])
    except KeyError:
        known = ", ".join(p.name.lower() for p in Purpose)
        raise ValueError(f"unknown purpose {name!r}; known: {known}") from None
