"""Rasa's events, written to the care database in batches: the log the staff console reads.

Rasa's stock ``SQLEventBroker`` opens a session and commits once per event, on Rasa's
event loop: a booking turn publishes a dozen events, and on SQLite every commit is a
write lock and an fsync. Here ``publish`` only appends to a queue; one writer thread
inserts up to ``batch_size`` events in one transaction, at most ``max_delay_s`` after
the first of them arrived. The rows are the ones ``SQLEventBroker`` writes (table
``events``: id, sender_id, data as JSON), so Rasa's tools read them too.

If the database is down, events stay queued (up to ``max_queued``; beyond that the
newest are dropped and counted) and the writer retries. An event the database refuses
(a value it cannot take) is another matter: retried, it would fail its batch forever
while the queue grows and the console sees nothing new. So a batch that fails other
than by an outage is written again one event at a time, and what is still refused is
skipped and counted (``refused``). Strings are made encodable first (a lone surrogate,
valid in JSON, cannot be written as UTF-8: one in a message once stopped the whole log),
so that nothing reaching the broker from any path can poison it. Logs carry counts, ids
and error kinds, never what anyone said.

Rasa builds its broker in each worker, after Sanic forked it. Should a broker be
forked anyway, the child neither inherits the parent's queue (the parent writes those
events) nor waits on a writer thread that does not exist there: it starts empty, with
its own writer on its first event and its own connection (care.db's engines are fresh
in a child). Configured by ``anxin run`` in the endpoints it writes::

    event_broker:
      type: anxin.event_broker.BatchingSQLEventBroker
      # url: optional; the care database (ANXIN_DB_URL) by default
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
import weakref
from asyncio import AbstractEventLoop
from collections import deque
from typing import Any, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from care.db import make_engine
from care.models_review import ConversationEvent
from care.text_clean import replace_surrogates

log = logging.getLogger(__name__)

EVENTS = ConversationEvent.__table__


class BatchingSQLEventBroker(EventBroker):
    """Queue on publish, write in batches from a thread, flush on close."""

    def __init__(
        self,
        url: str,
        batch_size: int = 200,
        max_delay_s: float = 0.2,
        max_queued: int = 100_000,
        retry_s: float = 1.0,
        close_timeout_s: float = 10.0,
        clock_offset_s: float = 0.0,
    ) -> None:
        self.engine: Engine = make_engine(url, pool_size=1)
        self.batch_size, self.max_delay_s = batch_size, max_delay_s
        self.max_queued, self.retry_s, self.close_timeout_s = max_queued, retry_s, close_timeout_s
        # Rasa stamps events with the real clock; the log is kept on the stack's (ANXIN_NOW),
        # as bookings and alerts are, so the console's "today" counts the same day's talk.
        self.clock_offset_s = clock_offset_s
        self._start()
        self._thread.start()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _start_in_child(ref))

    def _start(self) -> None:
        """A new, empty queue and a writer thread not started yet."""
        self._queue: deque[tuple[float, dict[str, Any]]] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._busy = 0  # events taken from the queue, not yet committed
        self.written = 0
        self.dropped = 0  # beyond max_queued while the database was down
        self.refused = 0  # events the database would not take, skipped
        self._failing = False
        self._closing_since: Optional[float] = None
        self._thread = threading.Thread(target=self._run, name="anxin-event-broker", daemon=True)

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig,
        event_loop: Optional[AbstractEventLoop] = None,
    ) -> BatchingSQLEventBroker:
        kwargs = dict(broker_config.kwargs or {})
        url = broker_config.url or os.environ.get("ANXIN_DB_URL") or _default_url()
        options = {
            key: type_(kwargs[key])
            for key, type_ in (
                ("batch_size", int),
                ("max_delay_s", float),
                ("max_queued", int),
                ("retry_s", float),
            )
            if key in kwargs
        }
        broker = cls(url, clock_offset_s=_clock_offset_s(), **options)  # type: ignore[arg-type]
        # The table exists once `anxin run` migrated the database; for a plain
        # `rasa run` pointed at an empty database, make it as SQLEventBroker would.
        await asyncio.to_thread(ConversationEvent.metadata.create_all, broker.engine, [EVENTS])
        return broker

    def publish(self, event: dict[str, Any]) -> None:
        """Called on Rasa's event loop for each new event: an append, nothing more."""
        if self._thread.ident is None:  # forked: this process's writer starts now
            self._thread.start()
        stamp = event.get("timestamp")
        if self.clock_offset_s and isinstance(stamp, (int, float)):
            event = {**event, "timestamp": stamp + self.clock_offset_s}
        with self._cond:
            if len(self._queue) >= self.max_queued:
                self.dropped += 1
                if self.dropped == 1 or self.dropped % 1000 == 0:
                    log.error("event broker: queue full, %d event(s) dropped so far", self.dropped)
                return
            self._queue.append((time.monotonic(), event))
            if len(self._queue) == 1 or len(self._queue) >= self.batch_size:
                self._cond.notify()

    def is_ready(self) -> bool:
        return self._thread.is_alive() or self._thread.ident is None

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._busy

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Block until every event published so far is committed (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._cond.notify_all()
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
                self._cond.notify_all()
        return True

    async def close(self) -> None:
        await asyncio.to_thread(self.close_now)

    def close_now(self) -> None:
        with self._cond:
            self._closing = True
            self._closing_since = time.monotonic()
            self._cond.notify_all()
        if self._thread.ident is not None:
            self._thread.join(self.close_timeout_s)
        left = self.pending()
        if left:
            log.error("event broker: closed with %d event(s) not written", left)
        self.engine.dispose()

    # -- the writer thread ----------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            rows = self._rows(batch)
            try:
                self._insert([row for _, row in rows])
                written = len(rows)
            except Exception as exc:  # noqa: BLE001 — sorted out below
                if not refused(exc):  # the database is away: keep them all, retry
                    self._requeue([event for event, _ in rows], exc)
                    if self._wait_before_retry():
                        return
                    continue
                written, left, error = self._insert_each(rows)
                if left:  # the database went away meanwhile: the rest waits
                    with self._cond:
                        self.written += written
                    self._requeue(left, error)
                    if self._wait_before_retry():
                        return
                    continue
            with self._cond:
                self._busy = 0
                self.written += written
                self._cond.notify_all()
            if self._failing:
                self._failing = False
                log.warning("event broker: database reachable again, writing events")

    def _next_batch(self) -> Optional[list[dict[str, Any]]]:
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            # Wait for more until the oldest event is max_delay_s old or the batch is full.
            while len(self._queue) < self.batch_size and not self._closing:
                left = self._queue[0][0] + self.max_delay_s - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            n = min(len(self._queue), self.batch_size)
            batch = [self._queue.popleft()[1] for _ in range(n)]
            self._busy = n
            return batch

    def _rows(self, batch: list[dict[str, Any]]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Each event with its row; one that cannot be serialised is refused here, once."""
        rows = []
        for event in batch:
            try:
                rows.append((event, row_of(event)))
            except (TypeError, ValueError) as exc:
                self._refuse(event, exc)
        return rows

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            with self.engine.execution_options(sqlite_begin="IMMEDIATE").begin() as conn:
                conn.execute(insert(EVENTS), rows)

    def _insert_each(
        self, rows: list[tuple[dict[str, Any], dict[str, Any]]]
    ) -> tuple[int, list[dict[str, Any]], Optional[Exception]]:
        """The rows one transaction each, skipping those refused: (how many were written,
        the events left when the database went away meanwhile, that error)."""
        written = 0
        for n, (event, row) in enumerate(rows):
            try:
                self._insert([row])
                written += 1
            except Exception as exc:  # noqa: BLE001
                if not refused(exc):
                    return written, [e for e, _ in rows[n:]], exc
                self._refuse(event, exc)
        return written, [], None

    def _refuse(self, event: dict[str, Any], exc: Exception) -> None:
        with self._cond:
            self.refused += 1
            count = self.refused
        # Ids and the error's kind only: its message can quote the values.
        log.error(
            "event broker: an event was refused and skipped (%s; sender %s, event %s); "
            "%d refused so far",
            type(exc).__name__,
            _id(event.get("sender_id")),
            _id(event.get("event")),
            count,
        )

    def _requeue(self, batch: list[dict[str, Any]], exc: Optional[Exception]) -> None:
        now = time.monotonic()
        with self._cond:
            self._queue.extendleft((now, e) for e in reversed(batch))
            self._busy = 0
            while len(self._queue) > self.max_queued:
                self._queue.pop()
                self.dropped += 1
            queued = len(self._queue)
        # The error's class only: its message can quote the statement's parameters.
        log.warning(
            "event broker: database write failed (%s); %d event(s) queued, retrying",
            type(exc).__name__,
            queued,
        )
        self._failing = True

    def _wait_before_retry(self) -> bool:
        """Sleep retry_s (a close cuts it short); True when closing and still failing."""
        with self._cond:
            if not self._closing:
                self._cond.wait(self.retry_s)
            # On close, keep retrying for as long as close_now waits, then give up.
            since = self._closing_since
            return since is not None and time.monotonic() - since >= self.close_timeout_s


def _start_in_child(ref: weakref.ReferenceType[BatchingSQLEventBroker]) -> None:
    broker = ref()
    if broker is not None:
        broker._start()


def row_of(event: dict[str, Any]) -> dict[str, Any]:
    """The ``events`` row of an event, every string in it encodable as UTF-8."""
    # ensure_ascii=False: Chinese stays readable, and the console's LIKE search finds it
    # (Rasa's broker writes \\uXXXX escapes). Control characters are escaped by json.
    data = replace_surrogates(json.dumps(event, ensure_ascii=False))
    sender = event.get("sender_id")
    if sender is not None:
        sender = replace_surrogates(str(sender)).replace("\x00", "")  # PostgreSQL refuses NUL
    return {"sender_id": sender, "data": data}


def refused(exc: BaseException) -> bool:
    """Whether a failed write was the database refusing a value (skip that event) rather
    than the database being away or unusable (keep the events and retry)."""
    if isinstance(exc, (DataError, IntegrityError)):
        return True
    if isinstance(exc, DBAPIError):
        return False  # unreachable, locked, no table yet ...: not the events' fault
    # Raised while binding one row's values: a string psycopg2 or sqlite3 cannot send
    # (UnicodeEncodeError, NUL), an integer too large, a value of no SQL type.
    return isinstance(exc, (ValueError, TypeError, ArithmeticError, StatementError))


def _id(value: Any) -> str:
    """An id for a log line: short, printable, never a message."""
    return ascii(str(value)[:64]) if value is not None else "-"


def _clock_offset_s() -> float:
    from care.config import CareSettings

    offset = CareSettings.from_env().clock_offset
    return 0.0 if offset is None else offset.total_seconds()


def _default_url() -> str:
    from care.config import CareSettings

    return CareSettings.from_env().db_url
