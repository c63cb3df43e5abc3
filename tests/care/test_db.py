"""Migrations match the models on both databases; an unreachable database is one clear line."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from care import migrate
from care.config import CareSettings
from care.db import Database
from care.errors import DatabaseUnavailable
from care.models import Base
from care.services import build


def test_migrations_create_exactly_the_models(care):
    assert migrate.current_revision(care.db) == migrate.head_revision(care.db)
    with care.db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_downgrade_and_upgrade_again(care):
    migrate.upgrade(care.db)  # a second upgrade is a no-op
    with care.db.engine.begin() as conn:
        from alembic import command

        command.downgrade(migrate._config(care.db, conn), "base")
    assert set(inspect(care.db.engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(care.db)
    assert "bookings" in inspect(care.db.engine).get_table_names()


@pytest.mark.parametrize(
    "url",
    ["postgresql://nobody@127.0.0.1:1/anxin", "sqlite:////proc/no/such/dir/anxin.db"],
)
def test_unreachable_database_is_one_clear_line(url):
    with pytest.raises(DatabaseUnavailable) as err:
        build(CareSettings(db_url=url))
    message = str(err.value)
    assert message.startswith("cannot reach the database") and "\n" not in message


def test_postgres_scheme_alias_and_password_hidden():
    db = Database("postgres://anxin:secret@127.0.0.1:5432/anxin")
    assert db.url.startswith("postgresql://") and "secret" not in db.safe_url
    db.dispose()


def test_sqlite_defaults_to_var_dir(tmp_path):
    settings = CareSettings.from_env({"ANXIN_VAR_DIR": str(tmp_path)})
    assert settings.db_url == f"sqlite:///{tmp_path / 'anxin.db'}"
    assert CareSettings.from_env({"ANXIN_DB_URL": "postgresql://x/y"}).db_url == "postgresql://x/y"
