"""50 people racing for the last place, 20 rounds, on SQLite and PostgreSQL.

Each racer has its own engine (as if it were its own process), so nothing in
Python serialises them: only the database does.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import func, select

from care import models as m
from care.audit import Actor
from care.config import CareSettings
from care.errors import CareError, InvalidCode, SlotFull
from care.services import CareServices, build
from tests.care.helpers import STAFF, elder, load_small, slot_id

RACERS = 50
ROUNDS = 20


def race(fn: Callable[[int], Any]) -> list[Any]:
    """Run ``fn(i)`` in RACERS threads released together by a barrier."""
    gate = threading.Barrier(RACERS)

    def run(i: int) -> Any:
        gate.wait()
        try:
            return fn(i)
        except CareError as exc:
            return exc

    with ThreadPoolExecutor(RACERS) as pool:
        return list(pool.map(run, range(RACERS)))


@pytest.fixture
def racers(care, clock) -> Iterator[list[CareServices]]:
    own = [build(CareSettings(db_url=care.db.url), clock=clock, pool_size=1) for _ in range(RACERS)]
    yield own
    for services in own:
        services.close()


def test_last_place_goes_to_exactly_one(care, racers):
    load_small(care)
    elders = [elder(care, f"长者{i}") for i in range(RACERS)]
    # Each round: a fresh meal whose dine-in room has exactly one place left.
    codes = ["meal:2026-11-27:dinner:dine_in", "meal:2026-11-26:dinner:dine_in"]
    for round_no in range(ROUNDS):
        code = codes[round_no % 2]
        sid = slot_id(care, code)
        with care.db.write() as s:
            s.query(m.Booking).filter(m.Booking.slot_id == sid).update({"status": "cancelled"})
            slot = s.get(m.Slot, sid)
            slot.capacity, slot.used = 3, 2
        results = race(
            lambda i, sid=sid: racers[i].bookings.book(
                elders[i].id, sid, Actor.person(elders[i].id), "rest"
            )
        )
        wins = [r for r in results if not isinstance(r, Exception)]
        losses = [r for r in results if isinstance(r, Exception)]
        assert len(wins) == 1, f"round {round_no}: {len(wins)} winners"
        assert all(isinstance(e, SlotFull) for e in losses), {type(e) for e in losses}
        with care.db.read() as s:
            slot = s.get(m.Slot, sid)
            active = s.scalar(
                select(func.count())
                .select_from(m.Booking)
                .where(m.Booking.slot_id == sid, m.Booking.status == "confirmed")
            )
        assert (slot.used, active) == (3, 1)


def test_retries_of_one_key_make_one_booking(care, racers):
    load_small(care)
    grandma = elder(care)
    sid = slot_id(care, "meal:2026-11-27:lunch:dine_in")
    for round_no in range(ROUNDS):
        key = f"retry-{round_no}"
        results = race(
            lambda i, key=key: racers[i].bookings.book(
                grandma.id, sid, STAFF, "wechat", idempotency_key=key
            )
        )
        assert all(not isinstance(r, Exception) for r in results), results
        assert len({r.id for r in results}) == 1
        assert sum(not r.replayed for r in results) == 1
        with care.db.read() as s:
            rows = s.scalars(select(m.Booking).where(m.Booking.idempotency_key == key)).all()
        assert len(rows) == 1
        care.bookings.cancel(rows[0].id, STAFF, "staff")
    assert care.bookings.slot(sid).used == 0


def test_parallel_guesses_get_five_tries_and_one_code_one_relative(care, racers):
    mum = elder(care)
    inv = care.family.create_invite(mum.id, STAFF)
    wrong = "000000" if inv.code != "000000" else "111111"
    guesses = race(lambda i: racers[i].family.redeem(wrong, "wechat", "oWx-bot", "x", "son"))
    assert sorted(type(r).__name__ for r in guesses) == sorted(
        ["InvalidCode"] * 5 + ["TooManyAttempts"] * (RACERS - 5)
    )
    claims = race(lambda i: racers[i].family.redeem(inv.code, "wechat", f"oWx-{i}", "张", "son"))
    links = [r for r in claims if not isinstance(r, Exception)]
    assert len(links) == 1 and links[0].status == "pending"
    assert {e.details["reason"] for e in claims if isinstance(e, InvalidCode)} == {"used"}
    assert len(care.family.pending_for_elder(mum.id)) == 1
