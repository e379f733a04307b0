"""Ingestion of purchases and interest events: row validation, streamed bulk parsing, idempotent inserts."""

from __future__ import annotations

import csv
import json
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, overload

from eth_hash.auto import keccak
from sqlalchemy import Connection, Engine, Insert, Table, select
from sqlmodel import Session

from app.config import Settings
from app.errors import Conflict, InvalidInput, PayloadTooLarge
from app.models.accounts import Brand, Customer, utcnow
from app.models.purchases import DEFAULT_CURRENCY, InterestEvent, InterestKind, Purchase, PurchaseItem
from app.services import triggers

Resource = Literal["purchases", "events"]
Format = Literal["ndjson", "csv"]

# Rows per transaction: fewer commits (and WAL checkpoints) against memory and write-lock time per batch.
BATCH_ROWS = 10_000
# A longer line is rejected (and skipped) rather than buffered: bounds memory on a file without newlines.
MAX_LINE_BYTES = 1 << 20
# The answer lists at most this many rejected lines; `rejected_total` counts them all.
MAX_REJECTED_LISTED = 1_000
MAX_TEXT = 100
MAX_ITEMS = 1_000
MAX_INT = 2**63 - 1  # SQLite's and PostgreSQL's BIGINT
# Known customers' ids remembered during one upload; cleared when full so memory stays bounded.
CUSTOMER_CACHE_LIMIT = 200_000
ACCEPTED_CURRENCIES = frozenset({DEFAULT_CURRENCY})

PURCHASE_FIELDS = ("customer", "brand", "external_id", "purchased_at", "amount", "currency", "items")
PURCHASE_REQUIRED = ("customer", "brand", "external_id", "purchased_at", "amount")
ITEM_FIELDS = ("item_id", "category", "style", "quantity", "unit_price")
EVENT_FIELDS = ("customer", "brand", "external_id", "kind", "occurred_at", "item_id", "category", "style")
EVENT_REQUIRED = ("customer", "brand", "external_id", "kind", "occurred_at")
KINDS = frozenset(k.value for k in InterestKind)

_PURCHASE_KEYS = frozenset(PURCHASE_FIELDS)
_ITEM_KEYS = frozenset(ITEM_FIELDS)
_EVENT_KEYS = frozenset(EVENT_FIELDS)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
# C0 and C1 controls, line/paragraph separators and bidirectional overrides: text that could break a
# CSV export, a log line or a page, or show an id other than the one stored.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_TOO_LONG = object()


class BadRow(ValueError):
    """One row is unusable; the message names the field and what is wrong with it."""


# ---------------------------------------------------------------------------------------------
# Field validation (hand-written: a pydantic model per row costs more than the insert itself)
# ---------------------------------------------------------------------------------------------


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _address(name: str, value: Any) -> str:
    if type(value) is not str or not _ADDRESS.fullmatch(value):
        raise BadRow(f"{name}: must be a 0x-prefixed 20-byte hex address, not {_show(value)}")
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
        raise BadRow(f"{name}: must be a string, not {_show(value)}")
    if len(value) > MAX_TEXT:
        raise BadRow(f"{name}: must be at most {MAX_TEXT} characters")
    _no_control(name, value)
    return value


def _no_control(name: str, value: str) -> None:
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


def _external_id(value: Any) -> str:
    if type(value) is int:  # order numbers exported as JSON numbers are accepted as their decimal text
        value = str(value)
    return _text("external_id", value, required=True)


def _integer(name: str, value: Any, *, minimum: int, what: str = "integer") -> int:
    # Decimal digits in a string are read in JSON as in CSV: JavaScript clients write wide integers so.
    if type(value) is str and value.isascii() and value.isdigit():
        value = int(value)
    if type(value) is not int or value < minimum or value > MAX_INT:
        bound = f"a non-negative {what}" if minimum == 0 else f"an {what} of at least {minimum}"
        raise BadRow(f"{name}: must be {bound}, not {_show(value)}")
    return value


def _won(name: str, value: Any, *, bounds: Bounds) -> int:
    won = _integer(name, value, minimum=0, what="integer (won)")
    if won > bounds.max_won:
        raise BadRow(f"{name}: {won} won is above the ceiling of {bounds.max_won} won per purchase (PURCHASE_MAX_WON)")
    return won


def _instant(name: str, value: Any, bounds: Bounds) -> datetime:
    if type(value) is not str:
        raise BadRow(f"{name}: must be an ISO 8601 date-time with a time zone, not {_show(value)}")
    try:
        instant = datetime.fromisoformat(value)
    except ValueError:
        raise BadRow(f"{name}: not an ISO 8601 date-time: {_show(value)}") from None
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


class BrandDirectory:
    """Brands by id and by address, read once per upload (brands are few and must exist beforehand)."""

    def __init__(self, conn: Connection):
        self.by_id: set[int] = set()
        self.by_address: dict[str, int] = {}
        for brand_id, address in conn.execute(select(Brand.id, Brand.address)):  # type: ignore[call-overload]
            self.by_id.add(brand_id)
            self.by_address[address.lower()] = brand_id

    def resolve(self, value: Any, *, text: bool) -> int:
        if type(value) is str:
            if _ADDRESS.fullmatch(value):
                brand_id = self.by_address.get(value.lower())
                if brand_id is None:
                    raise BadRow(f"brand: no brand with address {value}")
                return brand_id
            if text and value.isascii() and value.isdigit():
                value = int(value)
        if value is None or value == "":
            raise BadRow("brand: is required")
        if type(value) is not int:
            raise BadRow(f"brand: must be a brand id or a brand's 0x address, not {_show(value)}")
        if value not in self.by_id:
            raise BadRow(f"brand: no brand with id {value}")
        return value


# A validated purchase: (customer address lowered, brand, external id, purchased at, amount, currency, items)
PurchaseRow = tuple[str, int, str, datetime, int, str, list[tuple[str, str | None, str | None, int, int]]]
# A validated event: (customer address lowered, brand, external id, kind, item, category, style, occurred at)
EventRow = tuple[str, int, str, str, str | None, str | None, str | None, datetime]


def _items(value: Any, *, text: bool, bounds: Bounds) -> list[tuple[str, str | None, str | None, int, int]]:
    if value is None or value == "":
        return []
    if text and type(value) is str:
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise BadRow(f"items: not a JSON array ({exc})") from None
    if type(value) is not list:
        raise BadRow(f"items: must be a list of items, not {_show(value)}")
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
            raise BadRow(f"items[{n}]: must be an object, not {_show(item)}")
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
    )


def parse_event(row: dict[str, Any], brands: BrandDirectory, bounds: Bounds, *, text: bool = False) -> EventRow:
    """An interest event from one JSON object (or CSV record when `text`); raises BadRow naming the field."""
    _unknown(row, _EVENT_KEYS)
    get = row.get
    for name in EVENT_REQUIRED:
        if get(name) is None or get(name) == "":
            raise BadRow(f"{name}: is required")
    kind = row["kind"]
    if kind not in KINDS:
        raise BadRow(f"kind: must be one of {', '.join(k.value for k in InterestKind)}, not {_show(kind)}")
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


# ---------------------------------------------------------------------------------------------
# Storage: batches of validated rows, idempotent by (brand, external id)
# ---------------------------------------------------------------------------------------------


def _insert_ignoring_duplicates(conn: Connection, table: Table, keys: list[str]) -> Insert:
    dialect = conn.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
    else:
        raise NotImplementedError(f"ingestion needs INSERT ... ON CONFLICT DO NOTHING; {dialect} lacks it")
    return insert(table).on_conflict_do_nothing(index_elements=keys)


_CUSTOMERS: Table = Customer.__table__  # type: ignore[attr-defined]


def checksum_address(lower: str) -> str:
    """EIP-55 checksum form of a lower-case 0x address (as to_checksum_address, with less overhead)."""
    body = lower[2:]
    digest = keccak(body.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if d > "7" else c for c, d in zip(body, digest[:40], strict=True))


class CustomerDirectory:
    """Customer ids by lower-case address; unknown addresses become customers (pseudonymous, no profile)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def forget(self) -> None:
        self._ids.clear()

    def resolve(self, conn: Connection, addresses: set[str]) -> dict[str, int]:
        """Ids for all `addresses` (lower-case), creating the missing customers in `conn`'s transaction."""
        missing = [a for a in addresses if a not in self._ids]
        if not missing:
            return self._ids
        if len(self._ids) + len(missing) > CUSTOMER_CACHE_LIMIT:
            self._ids.clear()
            missing = list(addresses)
        # Customers are stored in checksum form (as SIWE sign-in stores them).
        checksummed = {checksum_address(a): a for a in missing}
        self._lookup(conn, list(checksummed), checksummed)
        new = [cs for cs, lower in checksummed.items() if lower not in self._ids]
        if new:
            now = utcnow()
            insert = _insert_ignoring_duplicates(conn, _CUSTOMERS, ["address"])
            conn.execute(insert, [{"address": cs, "created_at": now} for cs in new])
            self._lookup(conn, new, checksummed)
        return self._ids

    def _lookup(self, conn: Connection, addresses: list[str], lower_of: dict[str, str]) -> None:
        for start in range(0, len(addresses), 500):
            chunk = addresses[start : start + 500]
            for customer_id, address in conn.execute(
                select(_CUSTOMERS.c.id, _CUSTOMERS.c.address).where(_CUSTOMERS.c.address.in_(chunk))
            ):
                self._ids[lower_of[address]] = customer_id


def _lock_for_writing(conn: Connection) -> None:
    """SQLite: take the write lock first (BEGIN IMMEDIATE), so the duplicate check holds until commit and a
    read-then-write transaction cannot fail on a snapshot another writer made stale meanwhile."""
    if conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _pieces(count: int, most: int) -> Iterator[tuple[int, int]]:
    """(start, size) pieces covering `count` rows, sized as powers of two up to `most`.

    The driver keeps each distinct statement text prepared (sqlite3 caches 128); a multi-row statement for
    every odd row count would fill that cache with megabytes each, so only a few sizes are ever used.
    """
    largest = 1 << (most.bit_length() - 1)
    start = 0
    while count - start >= largest:
        yield start, largest
        start += largest
    size = largest
    while start < count:
        size >>= 1
        if count - start >= size:
            yield start, size
            start += size


class _Statements:
    """The hot inserts as driver-level multi-row INSERTs: SQLAlchemy's per-row parameter handling costs more
    than SQLite itself, and one statement per few thousand rows lets SQLite run long stretches without the GIL
    (a row-by-row executemany would take the GIL back from the parsing thread after every row)."""

    def __init__(self, conn: Connection):
        dialect = conn.dialect
        if dialect.name not in ("sqlite", "postgresql"):
            raise NotImplementedError(f"ingestion needs INSERT ... ON CONFLICT DO NOTHING; {dialect.name} lacks it")
        self.conn = conn
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        # SQLite keeps timestamps as text in SQLAlchemy's format (UTC, as the ORM reads them back);
        # PostgreSQL's driver takes the aware datetime itself.
        self.sqlite = dialect.name == "sqlite"

    def instant(self, value: datetime) -> Any:
        return value.isoformat(" ", "microseconds")[:26] if self.sqlite else value

    def insert(self, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]], tail: str = "") -> Any:
        """Multi-row INSERTs of `rows` (SQLite takes up to 32,766 values per statement); yields each result."""
        one = "(" + ", ".join([self.mark] * len(columns)) + ")"
        for start, size in _pieces(len(rows), 32_000 // len(columns)):
            flat = [value for row in rows[start : start + size] for value in row]
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES {', '.join([one] * size)} {tail}"
            yield self.conn.exec_driver_sql(sql, tuple(flat))

    def stored_rows(self, select_sql: str, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], tuple[Any, ...]]:
        """The rows `table` holds for the (brand id, external id) pairs among `keys`, by key.

        `select_sql` selects the external id first, then the fields to compare, from rows that `{where}`
        narrows to one brand's external ids.
        """
        by_brand: dict[int, list[str]] = {}
        for brand_id, external_id in keys:
            by_brand.setdefault(brand_id, []).append(external_id)
        found: dict[tuple[int, str], tuple[Any, ...]] = {}
        for brand_id, external_ids in by_brand.items():
            for start, size in _pieces(len(external_ids), 30_000):
                part = external_ids[start : start + size]
                marks = ", ".join([self.mark] * len(part))
                where = f"brand_id = {self.mark} AND external_id IN ({marks})"
                for external_id, *rest in self.conn.exec_driver_sql(select_sql.format(where=where), (brand_id, *part)):
                    found[(brand_id, external_id)] = tuple(rest)
        return found

    def items_of(self, purchase_ids: list[int]) -> dict[int, tuple[tuple[Any, ...], ...]]:
        """Stored items per purchase id, in the order they were given."""
        found: dict[int, list[tuple[Any, ...]]] = {i: [] for i in purchase_ids}
        for start, size in _pieces(len(purchase_ids), 30_000):
            part = purchase_ids[start : start + size]
            marks = ", ".join([self.mark] * len(part))
            for purchase_id, *item in self.conn.exec_driver_sql(
                "SELECT purchase_id, item_id, category, style, quantity, unit_price FROM purchase_items "
                f"WHERE purchase_id IN ({marks}) ORDER BY purchase_id, id",
                tuple(part),
            ):
                found[purchase_id].append(tuple(item))
        return {i: tuple(items) for i, items in found.items()}


@dataclass
class Stored:
    """What storing a batch did: rows inserted, and the rows whose key is stored with another body."""

    inserted: int = 0
    conflicts: list[tuple[int, list[str], str]] = field(default_factory=list)  # (index in batch, fields, message)


def _stored_instant(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _compare(
    result: Stored,
    index: int,
    key: tuple[int, str],
    names: tuple[str, ...],
    given: tuple[Any, ...],
    stored: tuple[Any, ...],
) -> None:
    """Records a conflict when a repeated key comes with another body (None in `stored`: not comparable)."""
    differing = [n for n, a, b in zip(names, given, stored, strict=True) if b is not None and a != b]
    if differing:
        result.conflicts.append(
            (
                index,
                differing,
                f"conflict: external_id {key[1]!r} of brand {key[0]} is already stored with another "
                f"{', '.join(differing)}; a repeated external_id must repeat the same body",
            )
        )


def _new_rows(
    result: Stored,
    keys: list[tuple[int, str]],
    names: tuple[str, ...],
    given: Callable[[int], tuple[Any, ...]],
    stored: dict[tuple[int, str], tuple[Any, ...]],
) -> list[int]:
    """Indexes of the rows to insert: the first of each key not stored yet; repeats are compared (conflicts)."""
    first: dict[tuple[int, str], int] = {}
    for n, key in enumerate(keys):
        if key in first:
            _compare(result, n, key, names, given(n), given(first[key]))
            continue
        first[key] = n
        if key in stored:
            _compare(result, n, key, names, given(n), stored[key])
    return [n for key, n in first.items() if key not in stored]


_PURCHASE_COLUMNS = (
    "customer_id",
    "brand_id",
    "external_id",
    "purchased_at",
    "amount",
    "currency",
    "created_at",
)
_ITEM_COLUMNS = ("purchase_id", "item_id", "category", "style", "quantity", "unit_price")
_EVENT_COLUMNS = (
    "customer_id",
    "brand_id",
    "external_id",
    "kind",
    "item_id",
    "category",
    "style",
    "occurred_at",
    "created_at",
)
_ON_KEY_DO_NOTHING = "ON CONFLICT (brand_id, external_id) DO NOTHING"


_PURCHASE_COMPARED = ("customer", "purchased_at", "amount", "currency", "items")
_STORED_PURCHASES = (
    "SELECT p.external_id, p.id, p.customer_id, p.purchased_at, p.amount, p.currency, c.erased_at "
    "FROM purchases p JOIN customers c ON c.id = p.customer_id WHERE p.{where}"
)
_EVENT_COMPARED = ("customer", "kind", "item_id", "category", "style", "occurred_at")
_STORED_EVENTS = (
    "SELECT external_id, customer_id, kind, item_id, category, style, occurred_at FROM interest_events WHERE {where}"
)


def store_purchases(conn: Connection, rows: list[PurchaseRow], customers: CustomerDirectory) -> Stored:
    """Inserts new purchases with their items; a known (brand, external id) with the same body is a duplicate,
    with another body a conflict (not stored)."""
    _lock_for_writing(conn)
    sql = _Statements(conn)
    ids = customers.resolve(conn, {r[0] for r in rows})
    now = sql.instant(utcnow())
    instant = sql.instant
    keys = [(r[1], r[2]) for r in rows]
    found = sql.stored_rows(_STORED_PURCHASES, keys)
    # Items of an erased customer's purchase are gone: its items cannot be compared.
    items_of = sql.items_of([v[0] for v in found.values()]) if found else {}
    stored = {
        key: (customer_id, _stored_instant(at), amount, currency, None if erased else items_of[pid])
        for key, (pid, customer_id, at, amount, currency, erased) in found.items()
    }
    result = Stored()

    def given(n: int) -> tuple[Any, ...]:
        r = rows[n]
        return (ids[r[0]], r[3], r[4], r[5], tuple(r[6]))

    new = [rows[n] for n in _new_rows(result, keys, _PURCHASE_COMPARED, given, stored)]
    items: list[tuple[Any, ...]] = []
    if sql.sqlite:
        # Under the write lock nobody else inserts: number the new purchases ourselves (as SQLite would:
        # max(id) + 1 ...), and hang the items on those ids, all without RETURNING.
        next_id = conn.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM purchases").scalar_one()
        values: list[tuple[Any, ...]] = []
        for purchase_id, r in enumerate(new, next_id):
            values.append((purchase_id, ids[r[0]], r[1], r[2], instant(r[3]), r[4], r[5], now))
            items += [(purchase_id, *it) for it in r[6]]
        for _ in sql.insert("purchases", ("id", *_PURCHASE_COLUMNS), values):
            pass
        result.inserted = len(new)
    else:
        by_key = {(r[1], r[2]): r for r in new}
        values = [(ids[r[0]], r[1], r[2], instant(r[3]), r[4], r[5], now) for r in new]
        tail = f"{_ON_KEY_DO_NOTHING} RETURNING id, brand_id, external_id"
        for inserted in sql.insert("purchases", _PURCHASE_COLUMNS, values, tail):
            for purchase_id, brand_id, external_id in inserted:
                result.inserted += 1
                items += [(purchase_id, *it) for it in by_key[(brand_id, external_id)][6]]
    for _ in sql.insert("purchase_items", _ITEM_COLUMNS, items):
        pass
    return result


def store_events(conn: Connection, rows: list[EventRow], customers: CustomerDirectory) -> Stored:
    """Inserts new interest events; a known (brand, external id) with the same body is a duplicate, with
    another body a conflict (not stored)."""
    _lock_for_writing(conn)
    sql = _Statements(conn)
    ids = customers.resolve(conn, {r[0] for r in rows})
    now = sql.instant(utcnow())
    instant = sql.instant
    keys = [(r[1], r[2]) for r in rows]
    stored = {
        key: (customer_id, kind, item, category, style, _stored_instant(at))
        for key, (customer_id, kind, item, category, style, at) in sql.stored_rows(_STORED_EVENTS, keys).items()
    }
    result = Stored()

    def given(n: int) -> tuple[Any, ...]:
        r = rows[n]
        return (ids[r[0]], r[3], r[4], r[5], r[6], r[7])

    new = [rows[n] for n in _new_rows(result, keys, _EVENT_COMPARED, given, stored)]
    values = [(ids[r[0]], r[1], r[2], r[3], r[4], r[5], r[6], instant(r[7]), now) for r in new]
    result.inserted = sum(
        inserted.rowcount for inserted in sql.insert("interest_events", _EVENT_COLUMNS, values, _ON_KEY_DO_NOTHING)
    )
    return result


# ---------------------------------------------------------------------------------------------
# One row (the single-row routes)
# ---------------------------------------------------------------------------------------------


def _refuse_conflict(session: Session, stored: Stored) -> None:
    if stored.conflicts:
        session.rollback()
        (_, fields, message), *_ = stored.conflicts
        raise Conflict(message, fields=fields)


def ingest_purchase(
    session: Session, row: dict[str, Any], settings: Settings | None = None
) -> tuple[Purchase, list[PurchaseItem], bool]:
    """Records one purchase; returns (purchase, items, created). A known (brand, external id) stays as is:
    with the same body it is a duplicate, with another body a Conflict naming the fields that differ."""
    conn = session.connection()
    try:
        parsed = parse_purchase(row, BrandDirectory(conn), Bounds.of(settings))
    except BadRow as exc:
        raise InvalidInput(f"invalid purchase: {exc}") from None
    stored = store_purchases(conn, [parsed], CustomerDirectory())
    _refuse_conflict(session, stored)
    created = stored.inserted
    session.commit()
    purchase = session.scalars(
        select(Purchase).where(Purchase.brand_id == parsed[1], Purchase.external_id == parsed[2])  # type: ignore[arg-type]
    ).one()
    items = session.scalars(
        select(PurchaseItem).where(PurchaseItem.purchase_id == purchase.id).order_by(PurchaseItem.id)  # type: ignore[arg-type]
    ).all()
    return purchase, list(items), bool(created)


def ingest_event(session: Session, row: dict[str, Any], settings: Settings | None = None) -> tuple[InterestEvent, bool]:
    """Records one interest event; returns (event, created). A known (brand, external id) is kept as is:
    with the same body it is a duplicate, with another body a Conflict naming the fields that differ."""
    conn = session.connection()
    try:
        parsed = parse_event(row, BrandDirectory(conn), Bounds.of(settings))
    except BadRow as exc:
        raise InvalidInput(f"invalid event: {exc}") from None
    stored = store_events(conn, [parsed], CustomerDirectory())
    _refuse_conflict(session, stored)
    created = stored.inserted
    session.commit()
    event = session.scalars(
        select(InterestEvent).where(InterestEvent.brand_id == parsed[1], InterestEvent.external_id == parsed[2])  # type: ignore[arg-type]
    ).one()
    if created and event.kind == InterestKind.CART_ABANDON and settings is not None:
        triggers.cart_abandoned(settings, session.get_bind())  # type: ignore[arg-type]
    return event, bool(created)


# ---------------------------------------------------------------------------------------------
# Bulk uploads: a streamed body, parsed line by line, stored batch by batch
# ---------------------------------------------------------------------------------------------


@dataclass
class IngestReport:
    """What became of an upload: rows accepted, duplicates skipped, lines rejected (first 1,000 listed), of
    which `conflicts` repeat a stored external id with another body."""

    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected_total: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0

    def reject(self, line: int, error: str) -> None:
        self.rejected_total += 1
        if len(self.rejected) < MAX_REJECTED_LISTED:
            self.rejected.append({"line": line, "error": error})

    @property
    def status_code(self) -> int:
        """200 when some row was good (new or duplicate); when none was, 409 if some row was a conflict,
        else 422 (every row bad, or none at all)."""
        if self.accepted + self.duplicates > 0:
            return 200
        return 409 if self.conflicts else 422

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "conflicts": self.conflicts,
            "rejected_total": self.rejected_total,
            "rejected": self.rejected,
            "rejected_truncated": self.rejected_total > len(self.rejected),
            "lines": self.lines,
        }
        if self.status_code != 200:
            body["error"] = "conflict" if self.status_code == 409 else "invalid_input"
            body["message"] = (
                f"no row was accepted: {self.rejected_total} of {self.lines} lines rejected"
                if self.rejected_total
                else "the upload holds no rows"
            )
        return body


def _lines(chunks: Iterable[bytes], max_bytes: int) -> Iterator[Any]:
    """Physical lines of a streamed body (no newline); `_TOO_LONG` stands for a line over MAX_LINE_BYTES."""
    total = 0
    rest = b""
    skipping = False  # inside an over-long line: drop bytes up to its newline
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise PayloadTooLarge(f"the upload exceeds the limit of {max_bytes} bytes (MAX_UPLOAD_BYTES)")
        if skipping:
            cut = chunk.find(b"\n")
            if cut < 0:
                continue
            chunk = chunk[cut + 1 :]
            skipping = False
        parts = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
        rest = parts.pop()
        yield from parts
        if len(rest) > MAX_LINE_BYTES:
            yield _TOO_LONG
            rest = b""
            skipping = True
    if rest:
        yield rest


def _json_records(lines: Iterator[Any], report: IngestReport) -> Iterator[tuple[int, Any]]:
    """(line number, parsed JSON value) of each non-blank line; unparsable lines are rejected on the way."""
    for number, line in enumerate(lines, 1):
        report.lines = number
        if line is _TOO_LONG:
            report.reject(number, f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        if not line or line.isspace():
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError alike
            report.reject(number, f"not valid JSON: {exc}")


def _csv_records(
    lines: Iterator[Any], report: IngestReport, fields: tuple[str, ...], required: tuple[str, ...]
) -> Iterator[tuple[int, Any]]:
    """(line number, {column: text}) of each CSV record after the header line."""
    bad: dict[int, str] = {}

    def text_lines() -> Iterator[str]:
        for number, line in enumerate(lines, 1):
            report.lines = number
            if line is _TOO_LONG:
                bad[number] = f"line longer than {MAX_LINE_BYTES} bytes"
                yield "\n"
                continue
            try:
                yield line.decode("utf-8-sig" if number == 1 else "utf-8") + "\n"
            except UnicodeDecodeError as exc:
                bad[number] = f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
                yield "\n"

    reader = csv.reader(text_lines(), strict=True)
    header: list[str] | None = None
    previous = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            start, previous = previous + 1, reader.line_num
            report.reject(start, f"not valid CSV: {exc}")
            continue
        start, previous = previous + 1, reader.line_num
        if not record or (len(record) == 1 and not record[0].strip()):
            if start in bad:
                report.reject(start, bad.pop(start))
            continue
        if header is None:
            if start in bad:
                raise InvalidInput(f"the CSV header (line {start}) is unreadable: {bad[start]}")
            header = [name.strip().lower() for name in record]
            _check_header(header, fields, required)
            continue
        if len(record) != len(header):
            report.reject(start, f"expected {len(header)} fields as in the header, found {len(record)}")
            continue
        yield start, dict(zip(header, record, strict=True))
    if header is None and report.rejected_total == 0:
        raise InvalidInput(f"empty upload: a CSV upload starts with a header line naming {', '.join(fields)}")


def _check_header(header: list[str], fields: tuple[str, ...], required: tuple[str, ...]) -> None:
    optional = ", ".join(f for f in fields if f not in required)
    expected = f"expected columns {', '.join(required)} (optional: {optional})"
    missing = [name for name in required if name not in header]
    unknown = [name for name in header if name not in fields]
    repeated = sorted({name for name in header if header.count(name) > 1})
    if missing or unknown or repeated:
        problems = []
        if missing:
            problems.append(f"lacks column(s) {', '.join(missing)}")
        if unknown:
            problems.append(f"has unknown column(s) {', '.join(unknown)}")
        if repeated:
            problems.append(f"repeats column(s) {', '.join(repeated)}")
        raise InvalidInput(f"the CSV header line {' and '.join(problems)}; {expected}")


class _Writer(threading.Thread):
    """Stores batches handed over by the parsing thread (SQLite works without the GIL, so the two overlap)."""

    def __init__(self, store: Callable[[list[Any]], Stored], report: IngestReport):
        super().__init__(name="ingest-writer", daemon=True)
        self._store = store
        self._report = report
        # Each batch with its rows' line numbers; bounds memory to ~3 batches.
        self._queue: queue.Queue[tuple[list[Any], list[int]] | None] = queue.Queue(maxsize=2)
        self._conflicts: list[tuple[int, str]] = []  # (line, message), reported by the parsing thread
        self.error: BaseException | None = None

    def run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is not None:
                continue  # after a failure, drain without storing
            batch, lines = item
            try:
                stored = self._store(batch)
            except BaseException as exc:  # handed to the parsing thread, which raises it
                self.error = exc
                continue
            self._report.accepted += stored.inserted
            self._report.duplicates += len(batch) - stored.inserted - len(stored.conflicts)
            self._conflicts += [(lines[n], message) for n, _, message in stored.conflicts]

    def put(self, batch: list[Any], lines: list[int]) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put((batch, lines))

    def finish(self) -> None:
        """Waits until every batch handed over is stored; raises the storing error, if any."""
        self._queue.put(None)
        self.join()
        for line, message in self._conflicts:
            self._report.conflicts += 1
            self._report.reject(line, message)
        self._report.rejected.sort(key=lambda r: r["line"])
        if self.error is not None:
            raise self.error


def ingest_bulk(
    engine: Engine,
    resource: Resource,
    fmt: Format,
    chunks: Iterable[bytes],
    max_bytes: int,
    settings: Settings | None = None,
) -> IngestReport:
    """Ingests a streamed JSON-lines or CSV upload; good rows kept, bad lines reported, nothing held whole.

    Each batch of BATCH_ROWS good rows is one transaction: a purchase and its items are stored together or
    not at all. Should the upload break off (too large, connection lost), the good rows read so far are
    stored and stay; sending the same file again is safe, as rows already stored count as duplicates. A
    row repeating a stored external id with another body is not stored: its line is reported as a conflict.
    """
    report = IngestReport()
    customers = CustomerDirectory()
    with engine.connect() as conn:
        brands = BrandDirectory(conn)
        conn.rollback()
    bounds = Bounds.of(settings)
    fields, required = (
        (PURCHASE_FIELDS, PURCHASE_REQUIRED) if resource == "purchases" else (EVENT_FIELDS, EVENT_REQUIRED)
    )
    parse: Callable[..., Any] = parse_purchase if resource == "purchases" else parse_event
    text = fmt == "csv"
    lines = _lines(chunks, max_bytes)
    records = _csv_records(lines, report, fields, required) if text else _json_records(lines, report)

    def store(batch: list[Any]) -> Stored:
        try:
            with engine.begin() as conn:
                if resource == "purchases":
                    return store_purchases(conn, batch, customers)
                return store_events(conn, batch, customers)
        except BaseException:
            customers.forget()  # ids of customers created in the rolled-back transaction are void
            raise

    writer = _Writer(store, report)
    writer.start()
    batch: list[Any] = []
    numbers: list[int] = []
    try:
        for number, record in records:
            if type(record) is not dict:
                report.reject(number, f"must be a JSON object, not {_show(record)}")
                continue
            try:
                batch.append(parse(record, brands, bounds, text=text))
            except BadRow as exc:
                report.reject(number, str(exc))
                continue
            numbers.append(number)
            if len(batch) >= BATCH_ROWS:
                writer.put(batch, numbers)
                batch, numbers = [], []
    except BaseException as exc:
        # Broken off (too large, connection lost): the good rows read so far are stored all the same.
        if batch and writer.error is None:
            writer.put(batch, numbers)
        writer.finish()
        if isinstance(exc, PayloadTooLarge):
            exc.message += (
                f"; stopped after line {report.lines}: the {report.accepted} new rows before it are stored"
                " (sending the file again is safe: stored rows count as duplicates)"
            )
            exc.detail.update(accepted=report.accepted, duplicates=report.duplicates, lines=report.lines)
        raise
    if batch:
        writer.put(batch, numbers)
    writer.finish()
    if resource == "events" and report.accepted and settings is not None:
        triggers.cart_abandoned(settings, engine)  # cart_abandoned rules fire on what was stored
    return report
