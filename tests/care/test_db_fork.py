"""care.db across ``fork``: a child never talks on its parent's pooled connections.

Sanic forks Rasa's workers (and rasa-sdk its own, with ACTION_SERVER_SANIC_WORKERS)
after the care services were built and pinged the database: without a fresh pool in the
child, two processes shared one PostgreSQL socket and corrupted each other's answers.
"""

from __future__ import annotations

import threading

from sqlalchemy import select, text

from care import migrate
from care.db import Database, make_engine
from care.models_review import ConversationEvent
from tests.support.forks import in_child


def backend(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_forked_child_opens_its_own_connection_and_leaves_the_parents_open(pg_schema_url):
    db = Database(pg_schema_url, pool_size=2)
    try:
        parents = backend(db)  # back in the pool: what a fork inherits
        childs = in_child(lambda: backend(db))
        assert childs.isdigit(), childs
        assert int(childs) != parents  # its own session, not the parent's socket
        assert backend(db) == parents  # the parent's connection is still open, still its own
        # Both at once, many times: no answer meant for the other process.
        ours = [0]

        def parent_reads() -> None:
            for _ in range(200):
                ours[0] += backend(db) == parents

        reader = threading.Thread(target=parent_reads)
        reader.start()
        assert in_child(lambda: len({backend(db) for _ in range(200)})) == "1"
        reader.join()
        assert ours[0] == 200
    finally:
        db.dispose()


def test_an_engine_of_the_event_broker_is_fresh_in_a_child_too(pg_schema_url):
    engine = make_engine(pg_schema_url, pool_size=1)
    try:
        with engine.connect() as conn:
            parents = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()

        def childs() -> int:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())

        got = in_child(childs)
        assert got.isdigit() and int(got) != parents, got
    finally:
        engine.dispose()


def test_a_child_forked_while_a_thread_writes_on_sqlite_can_write(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'anxin.db'}")
    migrate.upgrade(db)
    writing, done = threading.Event(), threading.Event()

    def writer() -> None:  # holds this process's writer lock across the fork
        with db.write() as s:
            s.add(ConversationEvent(sender_id="parent", data="{}"))
            writing.set()
            done.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    writing.wait(10)
    threading.Timer(0.5, done.set).start()  # the parent's write ends; the child's can go

    def child_writes() -> str:
        with db.write() as s:
            s.add(ConversationEvent(sender_id="child", data="{}"))
        return "written"

    try:
        assert in_child(child_writes, timeout_s=20) == "written"
    finally:
        done.set()
        thread.join()
    with db.read() as s:
        senders = sorted(s.execute(select(ConversationEvent.sender_id)).scalars())
    assert senders == ["child", "parent"]
    db.dispose()
