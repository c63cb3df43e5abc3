"""anxin.lock_store against the real Redis: one turn at a time, across processes.

Rasa's stock RedisLockStore fails the first two tests (the same ticket issued twice;
two processes inside one conversation's lock at once).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Iterator

import pytest
import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import AvailableEndpoints, number_of_sanic_workers

from anxin.config import RunSettings
from anxin.lock_store import AtomicRedisLockStore
from anxin.stack import write_endpoints

REDIS_URL = os.environ.get("ANXIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FORK = multiprocessing.get_context("fork")


def store_for(prefix: str) -> AtomicRedisLockStore:
    url = redis.connection.parse_url(REDIS_URL)
    return AtomicRedisLockStore(
        host=url.get("host", "127.0.0.1"),
        port=url.get("port", 6379),
        db=url.get("db", 0),
        password=url.get("password"),
        key_prefix=prefix,
    )


@pytest.fixture
def prefix() -> Iterator[str]:
    prefix = f"test{uuid.uuid4().hex[:12]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _issue_many(prefix: str, threads: int, each: int) -> None:
    """In a child process: tickets from several threads at once, each noted in Redis."""
    store = store_for(prefix)  # made here, after the fork
    note = redis.Redis.from_url(REDIS_URL)
    start = threading.Barrier(threads)

    def issue() -> None:
        start.wait()
        for _ in range(each):
            note.rpush(f"{prefix}:issued", store.issue_ticket("chat", 60))

    workers = [threading.Thread(target=issue) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def test_tickets_issued_at_once_by_processes_and_threads_are_unique_and_consecutive(prefix):
    procs = [FORK.Process(target=_issue_many, args=(prefix, 6, 30)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    issued = [int(n) for n in redis.Redis.from_url(REDIS_URL).lrange(f"{prefix}:issued", 0, -1)]
    assert sorted(issued) == list(range(1, 4 * 6 * 30 + 1))  # none twice, none skipped
    assert store_for(prefix).get_lock("chat") is not None  # all of them still waiting


def _take_turns(prefix: str, turns: int) -> None:
    """In a child process: turns of one conversation, each a read, a pause and a write of
    a counter that only a lock keeps right; the ticket served is noted on entry."""

    async def turn(store: AtomicRedisLockStore, note: redis.Redis) -> None:
        async with store.lock("chat", lock_lifetime=30, wait_time_in_seconds=0.05) as held:
            note.rpush(f"{prefix}:served", held.tickets[0].number)
            count = int(note.get(f"{prefix}:count") or 0)
            await asyncio.sleep(0.002)  # the other processes' turns would run here
            note.set(f"{prefix}:count", count + 1)

    async def main() -> None:
        store, note = store_for(prefix), redis.Redis.from_url(REDIS_URL)
        await asyncio.gather(*(turn(store, note) for _ in range(turns)))

    asyncio.run(main())


def test_one_turn_at_a_time_across_processes_served_in_ticket_order(prefix):
    procs = [FORK.Process(target=_take_turns, args=(prefix, 25)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    client = redis.Redis.from_url(REDIS_URL)
    assert int(client.get(f"{prefix}:count") or 0) == 100  # no turn overlapped another
    served = [int(n) for n in client.lrange(f"{prefix}:served", 0, -1)]
    assert served == sorted(served) and len(set(served)) == 100
    assert store_for(prefix).get_lock("chat") is None  # every ticket given back


def _hold_and_hang(prefix: str) -> None:
    async def main() -> None:
        store, note = store_for(prefix), redis.Redis.from_url(REDIS_URL)
        async with store.lock("chat", lock_lifetime=1.0):
            note.set(f"{prefix}:holding", 1)
            await asyncio.sleep(3600)

    asyncio.run(main())


def test_the_lock_of_a_killed_process_lapses_and_the_next_message_goes_ahead(prefix):
    client = redis.Redis.from_url(REDIS_URL)
    holder = FORK.Process(target=_hold_and_hang, args=(prefix,))
    holder.start()
    deadline = time.monotonic() + 30
    while not client.get(f"{prefix}:holding"):
        assert time.monotonic() < deadline and holder.is_alive()
        time.sleep(0.05)
    time.sleep(1.5)  # past its lifetime: still held, because it renews while alive
    store = store_for(prefix)
    lock = store.get_lock("chat")
    assert lock is not None and len(lock.tickets) == 1
    assert os.kill(holder.pid, signal.SIGKILL) is None and holder.join(10) is None

    async def next_message() -> float:
        started = time.monotonic()
        async with store.lock("chat", lock_lifetime=10, wait_time_in_seconds=0.1):
            return time.monotonic() - started

    waited = asyncio.run(next_message())
    assert waited < 3  # at most one lifetime (1 s) after it stopped renewing, plus a poll


def test_a_message_waiting_longer_than_its_lifetime_gives_up_rather_than_overlap(prefix):
    store = store_for(prefix)
    said: list[str] = []

    async def turn(name: str, lifetime: float, hold_s: float) -> None:
        async with store.lock("chat", lock_lifetime=lifetime, wait_time_in_seconds=0.05):
            said.append(name)
            await asyncio.sleep(hold_s)
            said.append(f"{name} done")

    async def main() -> None:
        slow = asyncio.ensure_future(turn("slow", 10, 2.0))
        await asyncio.sleep(0.1)
        try:
            await turn("next", 0.6, 0.0)  # its ticket lapses while the slow turn runs
        except LockError:
            said.append("next gave up")
        await slow

    asyncio.run(main())
    assert said == ["slow", "next gave up", "slow done"]
    assert store.get_lock("chat") is None


def test_a_waiter_is_served_right_after_a_long_turn_ends(prefix):
    store = store_for(prefix)
    order: list[str] = []

    async def turn(name: str, lifetime: float, hold_s: float) -> None:
        async with store.lock("chat", lock_lifetime=lifetime, wait_time_in_seconds=0.05):
            order.append(name)
            await asyncio.sleep(hold_s)
            order.append(f"{name} done")

    async def main() -> None:
        first = asyncio.ensure_future(turn("slow", 0.6, 2.0))  # renewed past 0.6 s
        await asyncio.sleep(0.1)
        await turn("next", 10, 0.0)
        await first

    asyncio.run(main())
    assert order == ["slow", "slow done", "next", "next done"]


def test_numbers_are_not_reused_and_the_lock_reads_like_rasas(prefix):
    store = store_for(prefix)
    first = store.issue_ticket("chat", 30)
    second = store.issue_ticket("chat", 30)
    assert (first, second) == (1, 2)
    lock = store.get_lock("chat")
    assert lock is not None and [t.number for t in lock.tickets] == [1, 2]
    assert lock.now_serving == 1 and lock.is_locked(2) and not lock.is_locked(1)
    assert all(time.time() < t.expires <= time.time() + 31 for t in lock.tickets)
    assert store.is_someone_waiting("chat")
    store.finish_serving("chat", 1)
    store.cleanup("chat", 2)
    assert store.get_lock("chat") is None and not store.is_someone_waiting("chat")
    assert store.issue_ticket("chat", 30) == 3  # after all were given back: still later

    # save_lock adds what is missing and never moves the counter back.
    store.save_lock(TicketLock("chat", [Ticket(2, time.time() + 30)]))  # type: ignore[arg-type]
    assert [t.number for t in store.get_lock("chat").tickets] == [2, 3]  # type: ignore[union-attr]
    assert store.issue_ticket("chat", 30) == 4
    store.delete_lock("chat")
    assert store.get_lock("chat") is None


def test_an_expired_ticket_is_skipped_without_waiting_for_its_holder(prefix):
    store = store_for(prefix)
    store.issue_ticket("chat", 0.3)  # a holder that never comes back

    async def next_message() -> float:
        started = time.monotonic()
        async with store.lock("chat", lock_lifetime=10, wait_time_in_seconds=0.05):
            return time.monotonic() - started

    assert 0.2 < asyncio.run(next_message()) < 2


def test_rasa_loads_it_from_the_endpoints_anxin_run_writes(prefix, tmp_path: Path, monkeypatch):
    env = {"ANXIN_VAR_DIR": str(tmp_path), "ANXIN_REDIS_URL": REDIS_URL,
           "ANXIN_REDIS_PREFIX": prefix, "ANXIN_RASA_WORKERS": "2"}  # fmt: skip
    path = write_endpoints(RunSettings.from_env(env), env)
    monkeypatch.setenv("ANXIN_ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("ANXIN_ACTION_TOKEN", "t0ken")  # `anxin run` hands Rasa both
    endpoints = AvailableEndpoints.read_endpoints(str(path))
    store = LockStore.create(endpoints.lock_store)
    assert isinstance(store, AtomicRedisLockStore)
    assert store.key_prefix == f"{prefix}:ticket_lock:"
    assert store.issue_ticket("chat", 5) == 1
    assert redis.Redis.from_url(REDIS_URL).hget(f"{prefix}:ticket_lock:chat", "last") == b"1"
    monkeypatch.setenv("SANIC_WORKERS", "2")  # Rasa allows several workers with it
    assert number_of_sanic_workers(endpoints.lock_store) == 2
