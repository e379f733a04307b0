"""Database engine, sessions and migrations (Alembic, run on start); SQLite file by default."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event
from sqlmodel import Session, create_engine

from app.config import Settings, get_settings

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _ensure_sqlite_folder(url: str) -> None:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def make_engine(url: str) -> Engine:
    _ensure_sqlite_folder(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_connection.cursor()
            # Rollback journal, not WAL: DuckDB's SQLite scanner (the analytics) keeps a stale
            # snapshot of a WAL database across connections in one process (seen with 1.5.5).
            cursor.execute("PRAGMA journal_mode=DELETE")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().sqlalchemy_url)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def migrate(settings: Settings | None = None) -> None:
    """Brings the schema to the latest migration."""
    settings = settings or get_settings()
    _ensure_sqlite_folder(settings.sqlalchemy_url)
    command.upgrade(alembic_config(settings.sqlalchemy_url), "head")


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """A session committed on success, rolled back on error (for jobs and the indexer)."""
    with Session(engine or get_engine()) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def lock_for_writing(conn: Connection) -> None:
    """SQLite: take the write lock before reading (BEGIN IMMEDIATE), so a read-then-write transaction (a
    duplicate check, a count of earlier redemptions) holds until commit and cannot fail on a snapshot another
    writer made stale meanwhile; PostgreSQL's row writes serialise in the transaction as they are."""
    if conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:  # type: ignore[union-attr]
        conn.exec_driver_sql("BEGIN IMMEDIATE")
