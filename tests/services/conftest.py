"""Fixtures shared by the service tests: a migrated database on the test chain, or one with no chain at all."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlmodel import Session

from app import db
from app.config import Settings
from app.models.accounts import Brand
from tests.factories import BRAND_ADDRESS


@pytest.fixture()
def engine(settings: Settings) -> Iterator[Engine]:
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def offline_engine(tmp_path) -> Iterator[Engine]:  # type: ignore[no-untyped-def]
    """A migrated SQLite file of its own (no chain needed: brands are put in directly)."""
    settings = Settings(environment="test", data_dir=tmp_path / "data", start_anvil=False)
    db.migrate(settings)
    engine = db.make_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def brand_id(engine: Engine) -> int:
    with Session(engine) as session:
        brand = Brand(name="Acme", address=BRAND_ADDRESS)
        session.add(brand)
        session.commit()
        assert brand.id is not None
        return brand.id
