"""Storing validated rows: brand and customer directories, raw multi-row SQL, the writer thread, the hook after."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Insert, Table, select

from app.chain.addresses import checksum_lower as checksum_address
from app.clock import utcnow
from app.db import lock_for_writing
from app.ingestion.parse import ADDRESS, BadRow, EventRow, PurchaseRow, RefundRow, Resource, show
from app.ingestion.stream import IngestReport
from app.models.accounts import Brand, Customer
from app.models.purchases import InterestKind
from app.services import coupons

# Known customers' ids remembered during one upload; cleared when full so memory stays bounded.
CUSTOMER_CACHE_LIMIT = 200_000

Row = TypeVar("Row", PurchaseRow, EventRow)


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
            if ADDRESS.fullmatch(value):
                brand_id = self.by_address.get(value.lower())
                if brand_id is None:
                    raise BadRow(f"brand: no brand with address {value}")
                return brand_id
            if text and value.isascii() and value.isdigit():
                value = int(value)
        if value is None or value == "":
            raise BadRow("brand: is required")
        if type(value) is not int:
            raise BadRow(f"brand: must be a brand id or a brand's 0x address, not {show(value)}")
        if value not in self.by_id:
            raise BadRow(f"brand: no brand with id {value}")
        return value


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
    coupons: list[tuple[int, coupons.CouponOutcome]] = field(default_factory=list)  # (index in batch, outcome)
    cart_abandons: int = 0  # new cart abandons: their rules fire after the commit (ingest.py)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (index in batch, message): refunds not stored


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
    "coupon_code",
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
# PostgreSQL: rows another writer stored meanwhile are skipped; the ids say which rows went in.
_RETURNING_KEY = "ON CONFLICT (brand_id, external_id) DO NOTHING RETURNING id, brand_id, external_id"


_PURCHASE_COMPARED = ("customer", "purchased_at", "amount", "currency", "items", "coupon_code")
_STORED_PURCHASES = (
    "SELECT p.external_id, p.id, p.customer_id, p.purchased_at, p.amount, p.currency, c.erased_at, p.coupon_code "
    "FROM purchases p JOIN customers c ON c.id = p.customer_id WHERE p.{where}"
)
_EVENT_COMPARED = ("customer", "kind", "item_id", "category", "style", "occurred_at")
_STORED_EVENTS = (
    "SELECT external_id, customer_id, kind, item_id, category, style, occurred_at FROM interest_events WHERE {where}"
)


@dataclass(frozen=True)
class NewRows:
    """The rows one store step inserted, as parsed, with their new ids and their customers' ids (both in the
    order of `rows`). Duplicates and conflicts are not among them: a re-sent upload hands nothing over again."""

    resource: Resource
    rows: Sequence[PurchaseRow] | Sequence[EventRow]
    ids: list[int]
    customer_ids: list[int]


@dataclass(frozen=True)
class Followed:
    """What followed storing rows: each coupon code's outcome by its row's position in `NewRows.rows`, and
    how many new rows were cart abandons."""

    coupons: list[tuple[int, coupons.CouponOutcome]]
    cart_abandons: int = 0


def after_stored(conn: Connection, new: NewRows) -> Followed:
    """What follows storing rows: called by every store step (bulk batch or single row) with the rows it
    inserted, in their transaction before its commit, so what it writes stands or falls with them and an
    exception refuses them. Coupon codes redeem here (app/services/coupons.py); cart abandons are only
    counted: their rules deliver through the chain and their own sessions, which must not run inside this
    write transaction, so the caller fires them once the rows are committed."""
    if new.resource == "events":
        abandons = sum(1 for r in new.rows if r[3] == InterestKind.CART_ABANDON.value)
        return Followed([], abandons)
    uses = [
        (n, coupons.CouponUse(purchase_id, customer_id, r[1], r[7], r[3]))  # type: ignore[arg-type]
        for n, (r, purchase_id, customer_id) in enumerate(zip(new.rows, new.ids, new.customer_ids, strict=True))
        if r[7]
    ]
    outcomes = coupons.redeem(conn, [u for _, u in uses]) if uses else []
    return Followed(list(zip((n for n, _ in uses), outcomes, strict=True)))


def store_purchases(conn: Connection, rows: list[PurchaseRow], customers: CustomerDirectory) -> Stored:
    """Inserts new purchases with their items; a known (brand, external id) with the same body is a duplicate,
    with another body a conflict (not stored)."""
    lock_for_writing(conn)
    sql = _Statements(conn)
    customer_of = customers.resolve(conn, {r[0] for r in rows})
    now = sql.instant(utcnow())
    instant = sql.instant
    keys = [(r[1], r[2]) for r in rows]
    found = sql.stored_rows(_STORED_PURCHASES, keys)
    # Items of an erased customer's purchase are gone: its items cannot be compared.
    items_of = sql.items_of([v[0] for v in found.values()]) if found else {}
    stored = {
        key: (customer_id, _stored_instant(at), amount, currency, None if erased else items_of[pid], code)
        for key, (pid, customer_id, at, amount, currency, erased, code) in found.items()
    }
    result = Stored()

    def given(n: int) -> tuple[Any, ...]:
        r = rows[n]
        return (customer_of[r[0]], r[3], r[4], r[5], tuple(r[6]), r[7])

    fresh = _new_rows(result, keys, _PURCHASE_COMPARED, given, stored)
    new = [rows[n] for n in fresh]
    items: list[tuple[Any, ...]] = []
    if sql.sqlite:
        # Under the write lock nobody else inserts: number the new purchases ourselves (as SQLite would:
        # max(id) + 1 ...), and hang the items on those ids, all without RETURNING.
        next_id = conn.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM purchases").scalar_one()
        ids = list(range(next_id, next_id + len(new)))
        values: list[tuple[Any, ...]] = []
        for purchase_id, r in zip(ids, new, strict=True):
            values.append((purchase_id, customer_of[r[0]], r[1], r[2], instant(r[3]), r[4], r[5], now, r[7]))
            items += [(purchase_id, *it) for it in r[6]]
        for _ in sql.insert("purchases", ("id", *_PURCHASE_COLUMNS), values):
            pass
    else:
        values = [(customer_of[r[0]], r[1], r[2], instant(r[3]), r[4], r[5], now, r[7]) for r in new]
        new, ids = _returned(new, sql.insert("purchases", _PURCHASE_COLUMNS, values, _RETURNING_KEY))
        for purchase_id, r in zip(ids, new, strict=True):
            items += [(purchase_id, *it) for it in r[6]]
    for _ in sql.insert("purchase_items", _ITEM_COLUMNS, items):
        pass
    result.inserted = len(new)
    if new:
        followed = after_stored(conn, NewRows("purchases", new, ids, [customer_of[r[0]] for r in new]))
        index_of = {keys[n]: n for n in fresh}
        result.coupons = [(index_of[(new[i][1], new[i][2])], outcome) for i, outcome in followed.coupons]
    return result


def store_events(conn: Connection, rows: list[EventRow], customers: CustomerDirectory) -> Stored:
    """Inserts new interest events; a known (brand, external id) with the same body is a duplicate, with
    another body a conflict (not stored)."""
    lock_for_writing(conn)
    sql = _Statements(conn)
    customer_of = customers.resolve(conn, {r[0] for r in rows})
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
        return (customer_of[r[0]], r[3], r[4], r[5], r[6], r[7])

    new = [rows[n] for n in _new_rows(result, keys, _EVENT_COMPARED, given, stored)]
    values = [(customer_of[r[0]], r[1], r[2], r[3], r[4], r[5], r[6], instant(r[7]), now) for r in new]
    if sql.sqlite:
        # Numbered as the purchases are (under the write lock), so the hook gets the new ids without RETURNING.
        next_id = conn.exec_driver_sql("SELECT coalesce(max(id), 0) + 1 FROM interest_events").scalar_one()
        ids = list(range(next_id, next_id + len(new)))
        numbered = [(event_id, *v) for event_id, v in zip(ids, values, strict=True)]
        for _ in sql.insert("interest_events", ("id", *_EVENT_COLUMNS), numbered):
            pass
    else:
        new, ids = _returned(new, sql.insert("interest_events", _EVENT_COLUMNS, values, _RETURNING_KEY))
    result.inserted = len(new)
    if new:
        result.cart_abandons = after_stored(
            conn, NewRows("events", new, ids, [customer_of[r[0]] for r in new])
        ).cart_abandons
    return result


_REFUND_COMPARED = ("purchase_external_id", "refunded_at", "amount")
_STORED_REFUNDS = (
    "SELECT external_id, (SELECT p.external_id FROM purchases p WHERE p.id = purchase_refunds.purchase_id), "
    "refunded_at, amount FROM purchase_refunds WHERE {where}"
)
_REFUNDED_PURCHASES = (
    "SELECT p.external_id, p.id, p.customer_id, p.purchased_at, p.amount, "
    "(SELECT coalesce(sum(r.amount), 0) FROM purchase_refunds r WHERE r.purchase_id = p.id) "
    "FROM purchases p WHERE p.{where}"
)
_REFUND_COLUMNS = ("purchase_id", "customer_id", "brand_id", "external_id", "refunded_at", "amount", "created_at")


def store_refunds(conn: Connection, rows: list[RefundRow]) -> Stored:
    """Inserts new refunds; a known (brand, external id) with the same body is a duplicate, with another body a
    conflict. A refund of an unknown purchase, of more than is left of it, or dated before it is refused
    (`Stored.refused`), in row order: earlier refunds of the batch count against what is left."""
    lock_for_writing(conn)
    sql = _Statements(conn)
    keys = [(r[0], r[1]) for r in rows]
    stored = {
        key: (purchase_external_id, _stored_instant(at), amount)
        for key, (purchase_external_id, at, amount) in sql.stored_rows(_STORED_REFUNDS, keys).items()
    }
    result = Stored()
    fresh = _new_rows(result, keys, _REFUND_COMPARED, lambda n: (rows[n][2], rows[n][3], rows[n][4]), stored)
    purchases = sql.stored_rows(_REFUNDED_PURCHASES, [(rows[n][0], rows[n][2]) for n in fresh])
    left = {key: amount - refunded for key, (_, _, _, amount, refunded) in purchases.items()}
    now = sql.instant(utcnow())
    values: list[tuple[Any, ...]] = []
    for n in fresh:
        brand_id, external_id, purchase_external_id, refunded_at, amount = rows[n]
        key = (brand_id, purchase_external_id)
        found = purchases.get(key)
        if found is None:
            result.refused.append(
                (n, f"purchase_external_id: brand {brand_id} has no purchase {purchase_external_id!r}")
            )
            continue
        purchase_id, customer_id, purchased_at, purchase_amount, _ = found
        if refunded_at < _stored_instant(purchased_at):
            result.refused.append((n, f"refunded_at: lies before the purchase {purchase_external_id!r} was made"))
            continue
        if amount > left[key]:
            result.refused.append(
                (
                    n,
                    f"amount: {amount} won is more than the {left[key]} won left of purchase "
                    f"{purchase_external_id!r} ({purchase_amount} won, {purchase_amount - left[key]} refunded)",
                )
            )
            continue
        left[key] -= amount
        values.append((purchase_id, customer_id, brand_id, external_id, sql.instant(refunded_at), amount, now))
    for _ in sql.insert("purchase_refunds", _REFUND_COLUMNS, values):
        pass
    result.inserted = len(values)
    return result


def _returned(rows: list[Row], results: Iterable[Any]) -> tuple[list[Row], list[int]]:
    """The rows an INSERT ... RETURNING id, brand_id, external_id inserted, with their ids, in `rows`' order
    (a row another writer stored first is skipped by ON CONFLICT and returns nothing)."""
    id_of = {(brand_id, external_id): row_id for inserted in results for row_id, brand_id, external_id in inserted}
    kept = [r for r in rows if (r[1], r[2]) in id_of]
    return kept, [id_of[(r[1], r[2])] for r in kept]


class Writer(threading.Thread):
    """Stores batches handed over by the parsing thread (SQLite works without the GIL, so the two overlap)."""

    def __init__(self, store: Callable[[list[Any]], Stored], report: IngestReport):
        super().__init__(name="ingest-writer", daemon=True)
        self._store = store
        self._report = report
        # Each batch with its rows' line numbers; bounds memory to ~3 batches.
        self._queue: queue.Queue[tuple[list[Any], list[int]] | None] = queue.Queue(maxsize=2)
        self._conflicts: list[tuple[int, str]] = []  # (line, message), reported by the parsing thread
        self._refused: list[tuple[int, str]] = []  # (line, message): refunds refused when storing
        self.cart_abandons = 0  # new cart abandons stored, their rules fired after the upload
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
            self._report.duplicates += len(batch) - stored.inserted - len(stored.conflicts) - len(stored.refused)
            self._conflicts += [(lines[n], message) for n, _, message in stored.conflicts]
            self._refused += [(lines[n], message) for n, message in stored.refused]
            for n, outcome in stored.coupons:
                self._report.coupon(lines[n], outcome)
            self.cart_abandons += stored.cart_abandons

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
        for line, message in self._refused:
            self._report.reject(line, message)
        self._report.rejected.sort(key=lambda r: r["line"])
        if self.error is not None:
            raise self.error
