"""Row validation of purchases and interest events: each field checked by hand, bad rows named by field."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, overload

from app.clock import utcnow
from app.config import Settings
from app.models.purchases import DEFAULT_CURRENCY, InterestKind
from app.services import coupons

if TYPE_CHECKING:
    from app.ingestion.store import BrandDirectory

Resource = Literal["purchases", "events", "refunds"]

MAX_TEXT = 100
MAX_ITEMS = 1_000
MAX_COUPON_CODE = 40
MAX_INT = 2**63 - 1  # SQLite's and PostgreSQL's BIGINT
ACCEPTED_CURRENCIES = frozenset({DEFAULT_CURRENCY})

PURCHASE_FIELDS = ("customer", "brand", "external_id", "purchased_at", "amount", "currency", "items", "coupon_code")
PURCHASE_REQUIRED = ("customer", "brand", "external_id", "purchased_at", "amount")
ITEM_FIELDS = ("item_id", "category", "style", "quantity", "unit_price")
EVENT_FIELDS = ("customer", "brand", "external_id", "kind", "occurred_at", "item_id", "category", "style")
EVENT_REQUIRED = ("customer", "brand", "external_id", "kind", "occurred_at")
REFUND_FIELDS = ("brand", "external_id", "purchase_external_id", "refunded_at", "amount")
REFUND_REQUIRED = REFUND_FIELDS
KINDS = frozenset(k.value for k in InterestKind)

_PURCHASE_KEYS = frozenset(PURCHASE_FIELDS)
_ITEM_KEYS = frozenset(ITEM_FIELDS)
_EVENT_KEYS = frozenset(EVENT_FIELDS)
_REFUND_KEYS = frozenset(REFUND_FIELDS)
ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
# C0 and C1 controls, line/paragraph separators and bidirectional overrides: text that could break a
# CSV export, a log line or a page, or show an id other than the one stored.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class BadRow(ValueError):
    """One row is unusable; the message names the field and what is wrong with it."""


# Field validation is hand-written: a pydantic model per row costs more than the insert itself.


def show(value: Any) -> str:
    """The value as a message quotes it (its repr, cut at 40 characters)."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _address(name: str, value: Any) -> str:
    if type(value) is not str or not ADDRESS.fullmatch(value):
        raise BadRow(f"{name}: must be a 0x-prefixed 20-byte hex address, not {show(value)}")
    return value.lower()


@overload
def _text(name: str, value: Any, *, required: Literal[True]) -> str: ...
@overload
def _text(name: str, value: Any, *, required: bool) -> str | None: ...
def _text(name: str, value: Any, *, required: bool) -> str | None:
    if value is None or value == "":
        if required:
            raise BadRow(f"{name}: is required")
        return None
    if type(value) is not str:
        raise BadRow(f"{name}: must be a string, not {show(value)}")
    if len(value) > MAX_TEXT:
        raise BadRow(f"{name}: must be at most {MAX_TEXT} characters")
    no_control(name, value)
    return value


def no_control(name: str, value: str) -> None:
    found = _CONTROL.search(value)
    if found:
        raise BadRow(f"{name}: holds the control character U+{ord(found.group()):04X} at position {found.start()}")


@dataclass(frozen=True)
class Bounds:
    """What a plausible row looks like: times from the programme's start to now plus the clock skew, and
    amounts (and unit prices) up to the ceiling in won."""

    earliest: datetime
    latest: datetime
    max_won: int

    @classmethod
    def of(cls, settings: Settings | None = None) -> Bounds:
        settings = settings or Settings()
        return cls(
            earliest=settings.programme_start.astimezone(UTC),
            latest=utcnow() + timedelta(seconds=settings.ingest_future_skew_seconds),
            max_won=settings.purchase_max_won,
        )


def _external_id(value: Any, name: str = "external_id") -> str:
    if type(value) is int:  # order numbers exported as JSON numbers are accepted as their decimal text
        value = str(value)
    return _text(name, value, required=True)


def _integer(name: str, value: Any, *, minimum: int, what: str = "integer") -> int:
    # Decimal digits in a string are read in JSON as in CSV: JavaScript clients write wide integers so.
    if type(value) is str and value.isascii() and value.isdigit():
        value = int(value)
    if type(value) is not int or value < minimum or value > MAX_INT:
        bound = f"a non-negative {what}" if minimum == 0 else f"an {what} of at least {minimum}"
        raise BadRow(f"{name}: must be {bound}, not {show(value)}")
    return value


def _won(name: str, value: Any, *, bounds: Bounds) -> int:
    won = _integer(name, value, minimum=0, what="integer (won)")
    if won > bounds.max_won:
        raise BadRow(f"{name}: {won} won is above the ceiling of {bounds.max_won} won per purchase (PURCHASE_MAX_WON)")
    return won


def _instant(name: str, value: Any, bounds: Bounds) -> datetime:
    if type(value) is not str:
        raise BadRow(f"{name}: must be an ISO 8601 date-time with a time zone, not {show(value)}")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise BadRow(f"{name}: not an ISO 8601 date-time: {show(value)}") from None
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise BadRow(f"{name}: needs a time zone offset (e.g. 2024-05-01T12:00:00+09:00 or ...Z)")
    instant = instant.astimezone(UTC)
    if instant > bounds.latest:
        raise BadRow(f"{name}: lies in the future ({value})")
    if instant < bounds.earliest:
        raise BadRow(f"{name}: lies before the programme's start ({bounds.earliest:%Y-%m-%dT%H:%M:%SZ}): {value}")
    return instant


def _unknown(keys: Iterable[str], allowed: frozenset[str], where: str = "") -> None:
    if allowed.issuperset(keys):
        return
    extra = sorted(str(k) for k in keys if k not in allowed)
    if extra:
        raise BadRow(f"{where}unknown field(s) {', '.join(extra)}; allowed: {', '.join(sorted(allowed))}")


# A validated purchase: (customer address lowered, brand, external id, purchased at, amount, currency, items,
# coupon code normalised or None)
PurchaseRow = tuple[str, int, str, datetime, int, str, list[tuple[str, str | None, str | None, int, int]], str | None]
# A validated event: (customer address lowered, brand, external id, kind, item, category, style, occurred at)
EventRow = tuple[str, int, str, str, str | None, str | None, str | None, datetime]
# A validated refund: (brand, external id of the refund, external id of the purchase, refunded at, amount)
RefundRow = tuple[int, str, str, datetime, int]


def _items(value: Any, *, text: bool, bounds: Bounds) -> list[tuple[str, str | None, str | None, int, int]]:
    if value is None or value == "":
        return []
    if text and type(value) is str:
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise BadRow(f"items: not a JSON array ({exc})") from None
    if type(value) is not list:
        raise BadRow(f"items: must be a list of items, not {show(value)}")
    if len(value) > MAX_ITEMS:
        raise BadRow(f"items: at most {MAX_ITEMS} items per purchase")
    items: list[tuple[str, str | None, str | None, int, int]] = []
    for n, item in enumerate(value):
        if type(item) is dict and _ITEM_KEYS.issuperset(item):
            # Fast path for the common, well-formed item; anything else goes the slow way to name the problem.
            item_id, category, style = item.get("item_id"), item.get("category"), item.get("style")
            quantity, price = item.get("quantity", 1), item.get("unit_price")
            if (
                type(item_id) is str
                and 0 < len(item_id) <= MAX_TEXT
                and (category is None or (type(category) is str and 0 < len(category) <= MAX_TEXT))
                and (style is None or (type(style) is str and 0 < len(style) <= MAX_TEXT))
                and type(quantity) is int
                and 1 <= quantity <= MAX_INT
                and type(price) is int
                and 0 <= price <= bounds.max_won
                and not _CONTROL.search(item_id)
                and (category is None or not _CONTROL.search(category))
                and (style is None or not _CONTROL.search(style))
            ):
                items.append((item_id, category, style, quantity, price))
                continue
        where = f"items[{n}]."
        if type(item) is not dict:
            raise BadRow(f"items[{n}]: must be an object, not {show(item)}")
        _unknown(item, _ITEM_KEYS, f"items[{n}]: ")
        try:
            items.append(
                (
                    _text("item_id", item.get("item_id"), required=True),
                    _text("category", item.get("category"), required=False),
                    _text("style", item.get("style"), required=False),
                    1 if item.get("quantity") is None else _integer("quantity", item["quantity"], minimum=1),
                    _won("unit_price", item.get("unit_price"), bounds=bounds),
                )
            )
        except BadRow as exc:
            raise BadRow(where + str(exc)) from None
    return items


def parse_purchase(row: dict[str, Any], brands: BrandDirectory, bounds: Bounds, *, text: bool = False) -> PurchaseRow:
    """A purchase from one JSON object (or one CSV record when `text`); raises BadRow naming the field."""
    _unknown(row, _PURCHASE_KEYS)
    get = row.get
    for name in PURCHASE_REQUIRED:
        if get(name) is None or get(name) == "":
            raise BadRow(f"{name}: is required")
    currency = get("currency")
    if currency is None or currency == "":
        currency = DEFAULT_CURRENCY
    elif currency not in ACCEPTED_CURRENCIES:
        raise BadRow(f"currency: only {', '.join(sorted(ACCEPTED_CURRENCIES))} is accepted (amounts in integer won)")
    return (
        _address("customer", row["customer"]),
        brands.resolve(row["brand"], text=text),
        _external_id(row["external_id"]),
        _instant("purchased_at", row["purchased_at"], bounds),
        _won("amount", row["amount"], bounds=bounds),
        currency,
        _items(get("items"), text=text, bounds=bounds),
        _coupon_code(get("coupon_code")),
    )


def _coupon_code(value: Any) -> str | None:
    code = _text("coupon_code", value, required=False)
    if code is not None and len(code.strip()) > MAX_COUPON_CODE:
        raise BadRow(f"coupon_code: must be at most {MAX_COUPON_CODE} characters")
    return coupons.normalise(code) if code is not None and code.strip() else None


def parse_event(row: dict[str, Any], brands: BrandDirectory, bounds: Bounds, *, text: bool = False) -> EventRow:
    """An interest event from one JSON object (or CSV record when `text`); raises BadRow naming the field."""
    _unknown(row, _EVENT_KEYS)
    get = row.get
    for name in EVENT_REQUIRED:
        if get(name) is None or get(name) == "":
            raise BadRow(f"{name}: is required")
    kind = row["kind"]
    if kind not in KINDS:
        raise BadRow(f"kind: must be one of {', '.join(k.value for k in InterestKind)}, not {show(kind)}")
    item = _text("item_id", get("item_id"), required=False)
    category = _text("category", get("category"), required=False)
    style = _text("style", get("style"), required=False)
    if item is None and category is None and style is None:
        raise BadRow("item_id: an event must name an item_id, a category or a style")
    return (
        _address("customer", row["customer"]),
        brands.resolve(row["brand"], text=text),
        _external_id(row["external_id"]),
        kind,
        item,
        category,
        style,
        _instant("occurred_at", row["occurred_at"], bounds),
    )


def parse_refund(row: dict[str, Any], brands: BrandDirectory, bounds: Bounds, *, text: bool = False) -> RefundRow:
    """A refund from one JSON object (or CSV record when `text`); raises BadRow naming the field. Whether the
    purchase exists and has that much left is checked when storing (app/ingestion/store.py)."""
    _unknown(row, _REFUND_KEYS)
    get = row.get
    for name in REFUND_REQUIRED:
        if get(name) is None or get(name) == "":
            raise BadRow(f"{name}: is required")
    amount = _won("amount", row["amount"], bounds=bounds)
    if amount == 0:
        raise BadRow("amount: a refund gives back at least 1 won, not 0")
    return (
        brands.resolve(row["brand"], text=text),
        _external_id(row["external_id"]),
        _external_id(row["purchase_external_id"], "purchase_external_id"),
        _instant("refunded_at", row["refunded_at"], bounds),
        amount,
    )
