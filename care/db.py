"""Engine and transactions: the one place that knows SQLite from PostgreSQL.

Writers on SQLite start with ``BEGIN IMMEDIATE`` (WAL, busy timeout), so two
bookings never interleave; on PostgreSQL writers lock the rows they change with
``SELECT … FOR UPDATE``. Readers use plain deferred transactions.

Every engine made here is safe across ``fork``: a forked child starts with an empty
pool of its own (``_fresh_pool_in_children``). Sanic forks Rasa's workers after the
channels built their care services, and with them a pooled connection; two processes
talking on one PostgreSQL socket read each other's answers (``error with status
PGRES_TUPLES_OK``, "number of values in row (1) differ from number of column
processors (11)").
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Select

from care.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_S = 60


def normalise_url(url: str) -> str:
    # Operators write postgresql://; psycopg2 is the driver Rasa already ships.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    return url


def make_engine(url: str, pool_size: int = 10) -> Engine:
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            try:
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(
                    f"cannot reach the database {url}: {exc.strerror} ({exc.filename})"
                ) from None
        # A pool, not SQLAlchemy 1.4's NullPool for files: opening a connection and
        # setting its pragmas on every session was a fifth of an action's database time.
        engine = create_engine(
            url,
            future=True,
            poolclass=QueuePool,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
        )
        _sqlite_transactions(engine)
    else:
        engine = create_engine(
            url, future=True, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
        )
    _fresh_pool_in_children(engine)
    return engine


def _fresh_pool_in_children(engine: Engine) -> None:
    """After a fork, the child drops the pool it inherited and opens its own connections.

    ``dispose(close=False)`` is SQLAlchemy's recipe for it: the child forgets the
    parent's connections without closing them (closing would end the parent's sessions).
    The child keeps a reference to the old pool, so that not even garbage collection
    closes them there (psycopg2 would not, from another process; sqlite3 would).
    The hook holds the engine weakly: an engine gone does not outlive its hook.
    """
    ref = weakref.ref(engine)
    inherited: list[Any] = []  # only ever filled in a child

    def in_child() -> None:
        alive = ref()
        if alive is not None:
            inherited.append(alive.pool)
            alive.dispose(close=False)

    os.register_at_fork(after_in_child=in_child)


def _sqlite_transactions(engine: Engine) -> None:
    """Take transaction control away from pysqlite so we can say BEGIN IMMEDIATE."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """An engine plus the two kinds of transaction the domain needs."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url, pool_size=pool_size)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        writer = self.engine.execution_options(sqlite_begin="IMMEDIATE")
        self._writer = writer
        self._write = sessionmaker(bind=writer, future=True, expire_on_commit=False)
        self._read = sessionmaker(bind=self.engine, future=True, expire_on_commit=False)
        # SQLite has one writer at a time anyway; queueing writers of this process on
        # a lock spares them SQLite's sleeping busy handler (other processes still
        # wait on busy_timeout).
        self._local_writer: AbstractContextManager[Any] = self._writer_lock()
        # A thread of the parent may hold that lock at the fork: the child, where the
        # thread does not exist, gets a new one (its engine a new pool, see make_engine).
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _new_writer_lock(ref))

    def _writer_lock(self) -> AbstractContextManager[Any]:
        return threading.Lock() if self.is_sqlite else nullcontext()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits on success and rolls back on any error."""
        with self._local_writer, self._write() as session, session.begin():
            yield session

    @contextmanager
    def write_core(self) -> Iterator[Connection]:
        """``write`` without an ORM session, for statements built once: on the path of
        every channel message a session cost three times the statements themselves."""
        with self._local_writer, self._writer.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session, session.begin():
            yield session

    def lock(self, stmt: Select, of: Any) -> Select:
        """Lock the rows of ``of`` (not of eagerly joined tables) until commit."""
        # SQLite already holds the database write lock since BEGIN IMMEDIATE.
        return stmt if self.is_sqlite else stmt.with_for_update(of=of)

    def ping(self) -> None:
        """One clear line when the database cannot be reached, not a traceback."""
        try:
            with self.engine.connect() as conn:
                conn.execute(select(1))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnavailable(
                f"cannot reach the database {self.safe_url}: {reason}"
            ) from None

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def _new_writer_lock(ref: weakref.ReferenceType[Database]) -> None:
    db = ref()
    if db is not None:
        db._local_writer = db._writer_lock()
