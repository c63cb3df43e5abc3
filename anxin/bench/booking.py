"""``anxin bench booking``: bookings per second with 1 and 20 concurrent clients.

Each run uses a fresh database (a temporary SQLite file, or a temporary schema
in PostgreSQL) with many open slots; every client is a process with its own
engine, as separate action-server processes would be.
"""

from __future__ import annotations

import multiprocessing
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Optional

from sqlalchemy import create_engine, text

from care import migrate
from care import models as m
from care.audit import Actor
from care.config import CareSettings
from care.services import CareServices, build

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
SLOTS = 400
ELDERS_PER_CLIENT = 60


@dataclass
class Result:
    db: str
    clients: int
    bookings: int
    seconds: float
    p50_ms: float
    p95_ms: float

    @property
    def per_second(self) -> float:
        return self.bookings / self.seconds


def bench_database(name: str, tmp: Path) -> tuple[str, str, Optional[str]]:
    """A throwaway database for a bench: (label, url, pg schema to drop afterwards)."""
    if name == "sqlite":
        return "SQLite (WAL)", f"sqlite:///{tmp / 'bench.db'}", None
    base = PG_DEFAULT if name == "postgresql" else name
    schema = f"anxin_bench_{uuid.uuid4().hex[:8]}"
    with create_engine(base, future=True).begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    return "PostgreSQL", f"{base}?options=-csearch_path%3D{schema}", schema


def _seed(care: CareServices, clients: int) -> tuple[list[int], list[list[int]]]:
    start = datetime.now(timezone.utc) + timedelta(days=2)
    with care.db.write() as s:
        slots = []
        for i in range(SLOTS):
            at = start + timedelta(minutes=30 * i)
            slot = m.Slot(
                code=f"bench:{i}",
                group_code=f"bench:{i}",
                service="companion_call",
                option="call",
                date=date.today(),
                starts_at=at,
                ends_at=at + timedelta(minutes=30),
                cutoff_at=at,
                capacity=1_000_000,
                used=0,
            )
            s.add(slot)
            slots.append(slot)
        s.flush()
        slot_ids = [slot.id for slot in slots]
    elders = [
        [care.people.create("elder", f"bench-{c}-{e}").id for e in range(ELDERS_PER_CLIENT)]
        for c in range(clients)
    ]
    return slot_ids, elders


def _client(
    url: str, c: int, slot_ids: list[int], elders: list[int], gate: Any, seconds: float, out: Any
) -> None:
    svc, n, lat = build(CareSettings(db_url=url), pool_size=1), 0, []
    gate.wait()
    stop_at = time.perf_counter() + seconds
    while time.perf_counter() < stop_at:
        elder = elders[n % ELDERS_PER_CLIENT]
        slot = slot_ids[(c * 17 + n // ELDERS_PER_CLIENT) % SLOTS]  # clients spread out
        t0 = time.perf_counter()
        svc.bookings.book(elder, slot, Actor.person(elder), "bench", idempotency_key=f"{c}-{n}")
        lat.append(time.perf_counter() - t0)
        n += 1
    svc.close()
    out.put(lat)


def _run(url: str, label: str, clients: int, seconds: float) -> Result:
    """Clients are processes (as action servers would be), so the GIL is not measured."""
    care = build(CareSettings(db_url=url))
    migrate.upgrade(care.db)
    slot_ids, elders = _seed(care, clients)
    care.close()
    ctx = multiprocessing.get_context("fork")
    gate, out = ctx.Barrier(clients + 1), ctx.Queue()
    procs = [
        ctx.Process(target=_client, args=(url, c, slot_ids, elders[c], gate, seconds, out))
        for c in range(clients)
    ]
    for p in procs:
        p.start()
    gate.wait()
    began = time.perf_counter()
    latencies = [out.get(timeout=seconds + 120) for _ in procs]
    elapsed = time.perf_counter() - began
    for p in procs:
        p.join()
    flat = sorted(x for per in latencies for x in per)
    return Result(
        label,
        clients,
        len(flat),
        elapsed,
        statistics.median(flat) * 1000,
        flat[int(len(flat) * 0.95) - 1] * 1000,
    )


def booking_bench(dbs: list[str], clients: str, seconds: float, write: Optional[str]) -> int:
    counts = [int(c) for c in clients.split(",")]
    results = []
    for name in dbs:
        for n in counts:
            with tempfile.TemporaryDirectory() as tmp:
                label, url, schema = bench_database(name, Path(tmp))
                try:
                    results.append(_run(url, label, n, seconds))
                finally:
                    if schema:
                        base = url.split("?")[0]
                        with create_engine(base, future=True).begin() as conn:
                            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            r = results[-1]
            print(
                f"{r.db:14} {r.clients:3} clients: {r.per_second:7.1f} bookings/s  "
                f"p50 {r.p50_ms:6.1f} ms  p95 {r.p95_ms:6.1f} ms  "
                f"({r.bookings} in {r.seconds:.1f} s)"
            )
    if write:
        _write(Path(write), results, dbs, clients, seconds)
    return 0


def _write(path: Path, results: list[Result], dbs: list[str], clients: str, seconds: float) -> None:
    args = " ".join(f"--db {d}" for d in dbs)
    lines = [
        "| database | clients | bookings/s | p50 | p95 |",
        "|---|---|---|---|---|",
        *(
            f"| {r.db} | {r.clients} | {r.per_second:.0f} | {r.p50_ms:.1f} ms | {r.p95_ms:.1f} ms |"
            for r in results
        ),
    ]
    block = (
        f"\n### Booking engine, {datetime.now(timezone.utc):%Y-%m-%d}\n\n"
        f"`anxin bench booking {args} --clients {clients} --seconds {seconds:g}` "
        "(each client its own engine; every booking one transaction with its audit row)\n\n"
        + "\n".join(lines)
        + "\n"
    )
    with path.open("a", encoding="utf-8") as f:
        f.write(block)
