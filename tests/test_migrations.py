"""The Alembic migrations build exactly the schema the SQLModel tables describe, and downgrade cleanly."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app import db
from app.config import Settings


def test_migrations_match_the_models(tmp_path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path)
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    engine.dispose()
    assert differences == []


def _tables(settings: Settings) -> set[str]:
    engine = db.make_engine(settings.sqlalchemy_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_downgrade_to_nothing_and_up_again(tmp_path) -> None:
    settings = Settings(environment="test", data_dir=tmp_path)
    db.migrate(settings)
    config = db.alembic_config(settings.sqlalchemy_url)
    models = set(SQLModel.metadata.tables)
    assert _tables(settings) == models | {"alembic_version"}
    command.downgrade(config, "base")
    # Every table is gone (only Alembic's own bookkeeping stays), and nothing records a revision.
    assert _tables(settings) <= {"alembic_version"}
    engine = db.make_engine(settings.sqlalchemy_url)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is None
    engine.dispose()
    command.upgrade(config, "head")
    assert _tables(settings) == models | {"alembic_version"}
    test_migrations_match_the_models(tmp_path)
