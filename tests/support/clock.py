"""The instant the stack tests run at, and the days that follow from it.

Every test that starts the stack (``anxin run``, tests/integration/test_stack.start)
runs it on a pinned clock: its processes get ``ANXIN_CLOCK_OFFSET_S`` (care/clock.py),
so their clock starts at :func:`start_instant` and runs on in real time. The test
builds its own care services with the same offset (:func:`stack_settings`), so
``stack.care.clock()`` is the stack's "now", and computes what it expects ("a weekday
two days ahead", "next Wednesday") from that clock, never from ``date.today()``.

``ANXIN_TEST_CLOCK`` (ISO 8601; without an offset, Harbin time) moves the instant; by default it is
:data:`DEFAULT_START`, a Wednesday morning in Harbin, so a run of the suite does not
depend on the day or the hour it runs at. ``scripts/test-at-instants`` runs the
time-sensitive suites at several instants (a Sunday, both sides of midnight …).
"""

from __future__ import annotations

import functools
import os
from datetime import date, datetime, timedelta
from typing import Mapping, Optional
from zoneinfo import ZoneInfo

from care.catalog import DEMO_CATALOG
from care.catalog_schema import read_catalog
from care.clock import Clock, clock_for, offset_env, offset_from_env, read_instant, system_clock
from care.config import CareSettings
from care.services import CareServices, build

TEST_CLOCK_ENV = "ANXIN_TEST_CLOCK"
DEFAULT_START = "2026-11-25T10:00:00+08:00"  # a Wednesday, 10:00 in Harbin
CENTRE_ZONE = "Asia/Shanghai"  # the demo centre's (and CareSettings' default) zone
CENTRE = ZoneInfo(CENTRE_ZONE)

# What a caller says for a booking day, whatever the day the stack runs on: Whisper base
# hears these words the same over WAV, the 8 kHz phone line, AMR and Ogg, while a weekday
# name or a date changes with the day (over the phone it heard "Thursday" as "her day",
# anywhere "November 30" as "3rd").
NEXT_WEDNESDAY = "next Wednesday"


def start_instant(environ: Optional[Mapping[str, str]] = None) -> datetime:
    """Where a stack's clock starts: ``ANXIN_TEST_CLOCK`` (without an offset: Harbin
    time), else :data:`DEFAULT_START`."""
    env = os.environ if environ is None else environ
    return read_instant(env.get(TEST_CLOCK_ENV, "").strip() or DEFAULT_START, CENTRE)


def pinned_env(environ: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """The environment that starts a stack's clock at :func:`start_instant`, now."""
    return offset_env(start_instant(environ) - system_clock())


def stack_offset(env: Mapping[str, str]) -> Optional[timedelta]:
    """The offset a stack started with ``env`` runs on (None: the real clock)."""
    return offset_from_env(env, CENTRE_ZONE)


def stack_clock(env: Mapping[str, str]) -> Clock:
    return clock_for(stack_offset(env))


def stack_settings(db_url: str, env: Mapping[str, str]) -> CareSettings:
    """Care settings for the test's side of a stack: its database and its clock."""
    return CareSettings(db_url=db_url, clock_offset=stack_offset(env))


def stack_care(db_url: str, env: Mapping[str, str]) -> CareServices:
    return build(stack_settings(db_url, env))


def centre_now(clock: Clock) -> datetime:
    return clock().astimezone(CENTRE)


def centre_today(clock: Clock) -> date:
    return centre_now(clock).date()


@functools.cache
def closed_dates() -> frozenset[date]:
    """The demo catalogue's holidays: no meals, day care or clinic on them."""
    catalogue, _ = read_catalog(DEMO_CATALOG)
    return frozenset(catalogue.schedule.closed_dates)


def open_weekday(day: date) -> bool:
    """Monday to Friday and no holiday: lunch, dinner, day care and the clinic are on."""
    return day.weekday() < 5 and day not in closed_dates()


def open_weekday_from(day: date) -> date:
    """``day``, or the first open weekday after it."""
    while not open_weekday(day):
        day += timedelta(days=1)
    return day


def weekday_ahead(clock: Clock, min_days: int = 2) -> date:
    """An open weekday at least ``min_days`` after today at the centre: every service of
    the demo catalogue takes bookings for it (day care closes its list at 17:00 the day
    before, so a day-care booking wants two days, to be safe across midnight)."""
    return open_weekday_from(centre_today(clock) + timedelta(days=min_days))


def next_week(clock: Clock, weekday: int) -> date:
    """The day "next Monday" … "next Sunday" means (care/when.py): in next Monday-Sunday
    week, so on a Wednesday "next Wednesday" is 7 days ahead and on a Sunday 3."""
    today = centre_today(clock)
    return today + timedelta(days=7 - today.weekday() + weekday)


def next_wednesday(clock: Clock) -> date:
    """The day :data:`NEXT_WEDNESDAY` means now; open, or the test cannot book it."""
    day = next_week(clock, 2)
    assert open_weekday(day), f"{day} is a holiday in the demo catalogue: move the test clock"
    return day
