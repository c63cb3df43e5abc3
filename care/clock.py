"""Time in one place, so rules about "the past" and "the cut-off" are testable."""

from __future__ import annotations

from datetime import date, datetime, time, timezone, tzinfo
from typing import Callable
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def fixed_clock(at: datetime) -> Clock:
    if at.tzinfo is None:
        raise ValueError("a clock needs an aware datetime")
    return lambda: at


def zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def local_datetime(day: date, at: time, tz: tzinfo) -> datetime:
    """Wall-clock time at the centre, as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(timezone.utc)
