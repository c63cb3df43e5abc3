"""Schema migrations (Alembic), run by ``anxin db upgrade`` and at start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from care.db import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def _config(db: Database, connection: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    with db.engine.begin() as conn:
        command.upgrade(_config(db, conn), revision)


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return ScriptDirectory.from_config(_config(db, conn)).get_current_head()


def revision(db: Database, message: str) -> None:
    """Autogenerate a new migration from the models (developers only)."""
    with db.engine.begin() as conn:
        command.revision(_config(db, conn), message=message, autogenerate=True)
