"""DuckDB over the product's own store, in worker processes: the SQLite file attached in place, with the views.

Why a process of its own. DuckDB's SQLite scanner links its own copy of SQLite. Two copies of SQLite in one
process do not see each other's locks (POSIX locks never conflict within a process), so in the API's
process the scanner took the rollback journal of a write in progress for the journal of a crashed one,
rolled it back, and left the database malformed ("disk I/O error", then "database disk image is
malformed": tests/analytics/test_store_isolation.py). In a worker process the scanner meets the API's locks
as any other process does: it waits while the database is locked and never touches a live write.

`analytics(settings)` lends one idle worker (a new one when none is idle) for the length of the block and
gives a connection whose calls run there; results come back pickled (rows, DataFrames).
"""

from __future__ import annotations

import multiprocessing
import pathlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any, cast

import duckdb
import duckdb_extension_sqlite_scanner

from app.config import Settings

# Views every analytics job reads, in the column shapes app/analytics/* expect. Timestamps in the
# store are UTC (SQLModel writes them so); DuckDB reads them as TIMESTAMP.
VIEWS = {
    "purchases_v": """
        SELECT p.id, p.customer_id, p.brand_id, p.purchased_at, p.amount,
               c.address AS customer, b.address AS brand
        FROM store.purchases p
        JOIN store.customers c ON c.id = p.customer_id
        JOIN store.brands b ON b.id = p.brand_id""",
    "interest_events_v": """
        SELECT customer_id, brand_id, kind, category, style, occurred_at FROM store.interest_events""",
    "purchase_items_v": """
        SELECT p.customer_id, p.purchased_at, i.category, i.style, i.quantity
        FROM store.purchase_items i JOIN store.purchases p ON p.id = i.purchase_id""",
}


def _sqlite_extension() -> str:
    # The extension ships as a wheel of the same version as duckdb: loaded from disk, never downloaded.
    root = pathlib.Path(duckdb_extension_sqlite_scanner.__file__).parent
    return str(next(root.rglob("sqlite_scanner.duckdb_extension")))


def sqlite_path(settings: Settings) -> str:
    url = settings.sqlalchemy_url
    if not url.startswith("sqlite:///"):
        raise NotImplementedError(
            "the analytics read the store through DuckDB's SQLite scanner; for PostgreSQL, load the "
            "postgres_scanner extension the same way (see docs/analytics.md)"
        )
    return url.removeprefix("sqlite:///")


# -- the worker process --------------------------------------------------------------------------------------

LOCKED_RETRY_SECONDS = 30.0  # as long as the API's own SQLite connections wait for a lock (app/db.py)


def _while_locked(action: Any, *args: Any) -> Any:
    """Runs `action`, again while the store is locked by a writer in another process (the scanner has no busy
    timeout of its own); a statement that failed on the lock changed nothing, so running it again is safe."""
    deadline = time.monotonic() + LOCKED_RETRY_SECONDS
    pause = 0.01
    while True:
        try:
            return action(*args)
        except duckdb.Error as exc:
            if "database is locked" not in str(exc) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def _open(spec: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    # Bounded memory: DuckDB spills to disk (under DATA_DIR) beyond the limit instead of growing the
    # process; no insertion-order bookkeeping (every query that needs an order says ORDER BY).
    pathlib.Path(spec["spill"]).mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        config={
            "threads": spec["threads"],
            "memory_limit": spec["memory"],
            "temp_directory": spec["spill"],
            "preserve_insertion_order": False,
        }
    )
    try:
        con.execute(f"LOAD '{_sqlite_extension()}'")
        # Always attached read-write: a read-only SQLite handle fails ("attempt to write a readonly
        # database") when it meets the rollback journal of a write another process is making.
        _while_locked(con.execute, f"ATTACH '{spec['path']}' AS store (TYPE sqlite)")
        for name, sql in VIEWS.items():
            _while_locked(con.execute, f"CREATE TEMP VIEW {name} AS {sql}")
    except BaseException:
        con.close()
        raise
    return con


def _serve(pipe: Connection) -> None:
    """The worker's loop: one request at a time from the process that lent it, answered ("ok", value) or
    ("error", DuckDB's exception class name, message)."""
    con: duckdb.DuckDBPyConnection | None = None
    registered: dict[str, Any] = {}  # DataFrames a view is made over must outlive the call that registered them
    while True:
        try:
            op, args = pipe.recv()
        except (EOFError, OSError):
            return
        try:
            value: Any = None
            if op == "open":
                con = _open(args)
            elif con is None:
                raise duckdb.ConnectionException("no store is open in this worker")
            elif op == "close":
                con.close()
                con = None
                registered.clear()
            elif op == "execute":
                sql, params = args
                _while_locked(con.execute, sql, *([] if params is None else [params]))
            elif op == "executemany":
                sql, rows = args
                _while_locked(con.executemany, sql, rows)
            elif op in ("fetchall", "fetchone", "df", "fetchnumpy"):
                value = getattr(con, op)()
            elif op == "sql":
                sql, what = args
                relation = con.sql(sql)
                if what not in ("columns", "df", "fetchall", "fetchone", "fetchnumpy"):
                    raise duckdb.InvalidInputException(f"unknown relation read {what!r}")
                value = relation.columns if what == "columns" else _while_locked(getattr(relation, what))
            elif op == "register":
                name, frame = args
                registered[name] = frame
                con.register(name, frame)
            elif op == "unregister":
                con.unregister(args)
                registered.pop(args, None)
            else:
                raise duckdb.InvalidInputException(f"unknown request {op!r}")
            pipe.send(("ok", value))
        except Exception as exc:  # every failure goes back to the caller, the worker stays
            pipe.send(("error", type(exc).__name__, str(exc)))


# -- the lending side -------------------------------------------------------------------------------------------

MAX_IDLE_WORKERS = 4
_context = multiprocessing.get_context("spawn")  # a fresh interpreter: no copy of the API's SQLite handles


class _Worker:
    def __init__(self) -> None:
        self.pipe, child = _context.Pipe()
        self.process = _context.Process(target=_serve, args=(child,), daemon=True, name="ledger-analytics")
        self.process.start()
        child.close()
        self.broken = False

    def call(self, op: str, args: Any = None) -> Any:
        try:
            self.pipe.send((op, args))
            answer = self.pipe.recv()
        except BaseException:
            self.broken = True  # interrupted between a request and its answer: never lend it again
            raise
        if answer[0] == "ok":
            return answer[1]
        _, name, message = answer
        error = getattr(duckdb, name, None)
        raise (error if isinstance(error, type) and issubclass(error, duckdb.Error) else duckdb.Error)(message)

    def stop(self) -> None:
        self.pipe.close()
        self.process.kill()
        self.process.join(5)


_idle: list[_Worker] = []
_idle_guard = threading.Lock()


def _lend() -> _Worker:
    with _idle_guard:
        while _idle:
            worker = _idle.pop()
            if worker.process.is_alive():
                return worker
            worker.stop()
    return _Worker()


def _give_back(worker: _Worker) -> None:
    if worker.broken or not worker.process.is_alive():
        worker.stop()
        return
    with _idle_guard:
        if len(_idle) < MAX_IDLE_WORKERS:
            _idle.append(worker)
            return
    worker.stop()


def stop_workers() -> None:
    """Stops the idle workers (one lent out stops when given back); a process measuring its own peak memory
    calls this, then adds its children's (bench/epoch.py)."""
    with _idle_guard:
        idle, _idle[:] = list(_idle), []
    for worker in idle:
        worker.stop()


class _Relation:
    """`con.sql(query)` of the worker's connection, read back whole."""

    def __init__(self, worker: _Worker, sql: str):
        self._worker, self._sql = worker, sql

    @property
    def columns(self) -> list[str]:
        return cast(list[str], self._worker.call("sql", (self._sql, "columns")))

    def df(self) -> Any:
        return self._worker.call("sql", (self._sql, "df"))

    def fetchall(self) -> list[tuple[Any, ...]]:
        return cast(list[tuple[Any, ...]], self._worker.call("sql", (self._sql, "fetchall")))

    def fetchone(self) -> tuple[Any, ...] | None:
        return cast(tuple[Any, ...] | None, self._worker.call("sql", (self._sql, "fetchone")))

    def fetchnumpy(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._worker.call("sql", (self._sql, "fetchnumpy")))


class _StoreConnection:
    """The worker's DuckDB connection, as the analytics use it: execute / executemany (returning itself, as
    DuckDB does), fetchall / fetchone / df of the last result, sql(...) relations, register / unregister."""

    def __init__(self, worker: _Worker):
        self._worker = worker

    def execute(self, sql: str, parameters: Any = None) -> _StoreConnection:
        self._worker.call("execute", (sql, None if parameters is None else list(parameters)))
        return self

    def executemany(self, sql: str, rows: Any) -> _StoreConnection:
        self._worker.call("executemany", (sql, [list(r) for r in rows]))
        return self

    def fetchall(self) -> list[tuple[Any, ...]]:
        return cast(list[tuple[Any, ...]], self._worker.call("fetchall"))

    def fetchone(self) -> tuple[Any, ...] | None:
        return cast(tuple[Any, ...] | None, self._worker.call("fetchone"))

    def df(self) -> Any:
        return self._worker.call("df")

    def fetchnumpy(self) -> dict[str, Any]:
        return cast(dict[str, Any], self._worker.call("fetchnumpy"))

    def sql(self, sql: str) -> _Relation:
        return _Relation(self._worker, sql)

    def register(self, name: str, frame: Any) -> _StoreConnection:
        self._worker.call("register", (name, frame))
        return self

    def unregister(self, name: str) -> _StoreConnection:
        self._worker.call("unregister", name)
        return self


@contextmanager
def analytics(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection, in a worker process, with the store attached as `store` and the analytics views
    defined. Typed as DuckDB's connection: it answers the part of that interface the analytics use."""
    spec = {
        "path": sqlite_path(settings),
        "spill": str(settings.data_dir / "tmp" / "duckdb"),
        "threads": settings.analytics_threads,
        "memory": settings.analytics_memory,
    }
    worker = _lend()
    try:
        worker.call("open", spec)
    except BaseException:
        worker.broken = True
        _give_back(worker)
        raise
    try:
        yield cast(duckdb.DuckDBPyConnection, _StoreConnection(worker))
    finally:
        try:
            if not worker.broken:
                worker.call("close")
        except Exception:
            worker.broken = True
        _give_back(worker)
