"""Time in one place, so rules about "the past" and "the cut-off" are testable.

Every process of a stack reads the time through one :data:`Clock`, built once at
start-up by the service factory (``care.services.build``) from ``CareSettings``:

* nothing set: the real clock;
* ``ANXIN_NOW`` (a testing aid, ISO 8601 such as ``2026-11-25T10:00:00+08:00``; without
  an offset it is read in ``ANXIN_TIMEZONE``): the clock *starts* at that instant and
  runs in real time, so leases, timeouts and replay windows still see true elapsed time;
* ``ANXIN_CLOCK_OFFSET_S``: seconds added to the real clock. ``anxin run`` turns
  ``ANXIN_NOW`` into this once and passes it to every child, so the Rasa server, the
  action server, the NLU and the staff console all agree to the microsecond however
  long each took to start. It wins over ``ANXIN_NOW``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Callable, Mapping, Optional
from zoneinfo import ZoneInfo

Clock = Callable[[], datetime]

NOW_ENV = "ANXIN_NOW"
OFFSET_ENV = "ANXIN_CLOCK_OFFSET_S"


def system_clock() -> datetime:
    return datetime.now(timezone.utc)


def fixed_clock(at: datetime) -> Clock:
    if at.tzinfo is None:
        raise ValueError("a clock needs an aware datetime")
    return lambda: at


class OffsetClock:
    """The real clock moved by a fixed offset: it runs, so elapsed time stays true."""

    def __init__(self, offset: timedelta, real: Clock = system_clock) -> None:
        self.offset, self._real = offset, real

    def __call__(self) -> datetime:
        return self._real() + self.offset

    def __repr__(self) -> str:
        return f"OffsetClock({self.offset.total_seconds():+.6f} s)"


def clock_for(offset: Optional[timedelta]) -> Clock:
    """The clock of a process: the real one, or the real one moved by ``offset``."""
    return system_clock if offset is None else OffsetClock(offset)


def read_instant(text: str, tz: tzinfo) -> datetime:
    """An ISO 8601 instant; without an offset it is wall-clock time in ``tz``."""
    raw = text.strip()
    if raw.endswith(("Z", "z")):  # fromisoformat reads "Z" only from Python 3.11
        raw = raw[:-1] + "+00:00"
    at = datetime.fromisoformat(raw)
    return at.replace(tzinfo=tz) if at.tzinfo is None else at


def offset_from_env(
    environ: Mapping[str, str], tz_name: str, real: Clock = system_clock
) -> Optional[timedelta]:
    """How far this process's clock runs from the real one (None: not moved);
    ``tz_name`` is the zone a naive ``ANXIN_NOW`` is read in.

    Raises ``ValueError`` naming the variable when a value cannot be read."""
    raw_offset = environ.get(OFFSET_ENV, "").strip()
    if raw_offset:
        try:  # exact: every child must read the very same offset
            micros = int(Decimal(raw_offset).scaleb(6).to_integral_value())
            return timedelta(microseconds=micros)
        except (ArithmeticError, ValueError, OverflowError):
            raise ValueError(f"{OFFSET_ENV}={raw_offset!r} is not a number of seconds") from None
    raw_now = environ.get(NOW_ENV, "").strip()
    if not raw_now:
        return None
    try:
        start = read_instant(raw_now, ZoneInfo(tz_name))
    except (ValueError, KeyError):  # KeyError: ZoneInfo's unknown zone
        raise ValueError(
            f"{NOW_ENV}={raw_now!r} is not an ISO 8601 instant (e.g. 2026-11-25T10:00:00+08:00)"
        ) from None
    return start - real()


def offset_env(offset: Optional[timedelta]) -> dict[str, str]:
    """What a launcher tells its children so that all of them run on one clock."""
    if offset is None:
        return {}
    micros = (offset.days * 86_400 + offset.seconds) * 1_000_000 + offset.microseconds
    sign, micros = ("-" if micros < 0 else ""), abs(micros)
    return {OFFSET_ENV: f"{sign}{micros // 1_000_000}.{micros % 1_000_000:06d}"}


def zone(name: str) -> tzinfo:
    return ZoneInfo(name)


def local_datetime(day: date, at: time, tz: tzinfo) -> datetime:
    """Wall-clock time at the centre, as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(timezone.utc)
