"""Shared fixtures: every care test runs on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from care import migrate
from care.clock import NOW_ENV, OFFSET_ENV
from care.config import CareSettings
from care.services import CareServices, build

PG_URL = os.environ.get("ANXIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


class MovableClock:
    """A clock tests can move: rules about the past and cut-offs depend on it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture(autouse=True, scope="session")
def clock_of_the_suite() -> Iterator[None]:
    """A shell's ANXIN_NOW must not move the clocks of the processes tests start: a test
    pins its own (the ``clock`` fixture; tests/support/clock.py for a stack, moved by
    ANXIN_TEST_CLOCK)."""
    patch = pytest.MonkeyPatch()
    patch.delenv(NOW_ENV, raising=False)
    patch.delenv(OFFSET_ENV, raising=False)
    yield
    patch.undo()


@pytest.fixture
def clock() -> MovableClock:
    # A Wednesday morning in Harbin (UTC+8): 2026-11-25 08:00 local.
    return MovableClock(datetime(2026, 11, 25, 0, 0, tzinfo=timezone.utc))


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A private schema in the test database, dropped afterwards."""
    schema = f"anxin_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, future=True)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def fresh_pg(url: str) -> None:
    engine = create_engine(url, future=True)
    with engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'anxin.db'}"
    url = request.getfixturevalue("pg_schema_url")
    fresh_pg(url)
    return url


@pytest.fixture
def care(db_url: str, clock: MovableClock) -> Iterator[CareServices]:
    services = build(CareSettings(db_url=db_url), clock=clock, pool_size=30)
    migrate.upgrade(services.db)
    yield services
    services.close()
