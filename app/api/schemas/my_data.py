"""My data as brands see it (`GET /me/data`) and the export of everything held about me (`GET /me/export`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app import clock
from app.api.schemas import (
    SAFE_BITS,
    Amount,
    ChainAddress,
    ChainSeconds,
    Hash32,
    Merged,
    PurposeLabel,
    Timestamp,
)
from app.api.schemas.access import Profile
from app.services import data_export, my_data


class HeldProfile(Profile):
    """The profile document a brand granted every category receives (app/services/access.py builds both)."""

    # Optional here (and never set): the customer's own view has no single price, each brand pays its own.
    price: Amount | None = Field(  # type: ignore[assignment]
        default=None, description="Absent: each brand pays the price of its own consent"
    )


class ViewerPublic(BaseModel):
    brand: ChainAddress
    brand_name: str | None
    purpose: PurposeLabel
    price: Amount = Field(description="What this brand pays you per access")
    granted_at: ChainSeconds
    expires_at: ChainSeconds = Field(description="None: until you revoke it")


class SightingPublic(BaseModel):
    brand: ChainAddress
    brand_name: str | None
    purpose: PurposeLabel
    at: Timestamp = Field(description="The block's time")
    price: Amount
    tx_hash: Hash32 = Field(description="The recordAccess transaction")
    block_number: int
    request_id: Hash32


class CategoryPublic(BaseModel):
    category: str = Field(description="contact, demographics, purchases, segment, interests, styles, cart")
    fields: list[str] = Field(description="What the category holds; its values are under `profile.<category>`")
    may_see: list[ViewerPublic] = Field(description="Brands whose consent covers this category at the chain's time")
    saw: list[SightingPublic] = Field(description="Recorded accesses that included this category, newest first")


class MyDataPublic(BaseModel):
    address: ChainAddress
    block_number: int = Field(description="The block whose time judged the consents")
    chain_time: Timestamp
    erased_at: Timestamp | None
    profile: HeldProfile
    categories: list[CategoryPublic]
    kept_on_erasure: str

    @classmethod
    def of(cls, view: my_data.MyData, kept: str) -> MyDataPublic:
        return cls.model_validate(
            Merged(
                view,
                profile=HeldProfile.model_validate(view.profile),
                categories=[CategoryPublic.model_validate(_category(c), from_attributes=True) for c in view.categories],
                kept_on_erasure=kept,
            ),
            from_attributes=True,
        )


def _category(view: my_data.CategoryView) -> Merged:
    return Merged(view, category=view.name, fields=list(view.fields))


# -- the export ----------------------------------------------------------------------------------


def _cell(value: Any, wide: bool) -> Any:
    if isinstance(value, datetime):
        return clock.rfc3339(value)
    if isinstance(value, int) and not isinstance(value, bool) and (wide or abs(value) >= 2**SAFE_BITS):
        return str(value)
    return value


class ExportTablePublic(BaseModel):
    table: str
    about: str
    rows: list[dict[str, Any]] = Field(
        description="Every column as stored; integers that may exceed 2^53 as decimal strings, times in RFC 3339 UTC"
    )

    @classmethod
    def of(cls, table: data_export.ExportTable) -> ExportTablePublic:
        rows = [{k: _cell(v, k in table.wide) for k, v in row.items()} for row in table.rows]
        return cls(table=table.name, about=table.about, rows=rows)


class ExportPublic(BaseModel):
    format: str = Field(description="This document's format and version")
    address: ChainAddress
    exported_at: Timestamp
    profile: HeldProfile = Field(description="What a brand granted every category would receive about you")
    tables: list[ExportTablePublic] = Field(description="Each table holding your data, your rows only")
    not_exported: dict[str, str] = Field(description="Tables naming you that are left out, and why")

    @classmethod
    def of(cls, archive: data_export.Export) -> ExportPublic:
        return cls(
            format=data_export.FORMAT,
            address=archive.address,
            exported_at=archive.exported_at,
            profile=HeldProfile.model_validate(archive.profile),
            tables=[ExportTablePublic.of(t) for t in archive.tables],
            not_exported=data_export.NOT_EXPORTED,
        )
