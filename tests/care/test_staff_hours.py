"""Staff hours: open or not, and when someone is next there (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from care.staff_hours import StaffHours

TZ = timezone(timedelta(hours=8))
WEEK = StaffHours.parse("mon-fri 08:00-17:30")


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23 + day, hh, mm, tzinfo=TZ)  # 23rd is a Monday


@pytest.mark.parametrize(
    ("now", "is_open", "next_open"),
    [
        (at(0, 9), True, at(0, 9)),
        (at(0, 7, 59), False, at(0, 8)),
        (at(0, 17, 30), False, at(1, 8)),
        (at(4, 18), False, at(7, 8)),  # Friday evening -> Monday
        (at(5, 10), False, at(7, 8)),  # Saturday -> Monday
    ],
)
def test_open_and_next_opening(now, is_open, next_open):
    assert WEEK.open_at(now) is is_open
    assert WEEK.next_opening(now) == next_open


def test_every_day_and_bad_specs():
    daily = StaffHours.parse("mon-sun 07:00-21:00")
    assert daily.open_at(at(6, 20)) and daily.next_opening(at(6, 22)) == at(7, 7)
    assert StaffHours.parse("sat-mon 09:00-12:00").days == {5, 6, 0}
    for bad in ("weekdays 8-5", "mon-fri 18:00-08:00", "xyz 08:00-09:00"):
        with pytest.raises(ValueError):
            StaffHours.parse(bad)
