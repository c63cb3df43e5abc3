"""One clock for a whole stack: real unless ANXIN_NOW says where it starts; it runs on."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Optional

import pytest

from anxin.config import RunSettings
from anxin.stack import child_env
from care.clock import (
    NOW_ENV,
    OFFSET_ENV,
    OffsetClock,
    clock_for,
    offset_env,
    offset_from_env,
    system_clock,
)
from care.config import CareSettings
from care.services import build

REAL = datetime(2026, 12, 7, 18, 0, tzinfo=timezone.utc)  # Monday evening in UTC


class Real:
    """What the machine's clock says, moved by hand."""

    def __init__(self) -> None:
        self.at = REAL

    def __call__(self) -> datetime:
        return self.at


def test_nothing_set_is_the_real_clock() -> None:
    assert offset_from_env({}, "Asia/Shanghai") is None
    assert clock_for(None) is system_clock
    assert CareSettings.from_env({}).clock_offset is None


def test_anxin_now_is_where_the_clock_starts_and_it_runs_on() -> None:
    real = Real()
    offset = offset_from_env({NOW_ENV: "2026-11-29T23:58:00+08:00"}, "Asia/Shanghai", real)
    assert offset is not None
    clock = OffsetClock(offset, real)
    assert clock() == datetime(2026, 11, 29, 15, 58, tzinfo=timezone.utc)
    real.at += timedelta(minutes=5)  # five real minutes later: past midnight in Harbin
    assert clock().astimezone(timezone(timedelta(hours=8))).isoformat() == (
        "2026-11-30T00:03:00+08:00"
    )


@pytest.mark.parametrize(
    ("raw", "start"),
    [
        ("2026-11-25T10:00:00", datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)),  # Harbin
        ("2026-11-25T10:00:00Z", datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)),
        ("2026-11-25 10:00:00-05:00", datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)),
    ],
)
def test_anxin_now_without_an_offset_is_wall_clock_time_at_the_centre(
    raw: str, start: datetime
) -> None:
    real = Real()
    assert offset_from_env({NOW_ENV: raw}, "Asia/Shanghai", real) == start - REAL


def test_the_launchers_offset_wins_and_survives_the_trip_exactly() -> None:
    for seconds in (-1_000_000_000.000001, -0.5, 0.000001, 86_400 * 365 * 30 + 0.123456):
        offset = timedelta(seconds=seconds)
        env = {**offset_env(offset), NOW_ENV: "2000-01-01T00:00:00+00:00"}
        assert offset_from_env(env, "Asia/Shanghai") == offset
    assert offset_env(None) == {}
    assert offset_env(timedelta(microseconds=-1)) == {OFFSET_ENV: "-0.000001"}


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        (NOW_ENV, "tomorrow"),
        (NOW_ENV, "2026-13-01T00:00:00"),
        (OFFSET_ENV, "soon"),
        (OFFSET_ENV, "nan"),
        (OFFSET_ENV, "inf"),
        (OFFSET_ENV, "1e300"),
    ],
)
def test_a_value_that_cannot_be_read_stops_start_up_naming_it(name: str, raw: str) -> None:
    with pytest.raises(ValueError, match=name):
        offset_from_env({name: raw}, "Asia/Shanghai")
    with pytest.raises(SystemExit, match=f"anxin: {name}="):
        CareSettings.from_env({name: raw})


def test_the_service_factory_builds_the_settings_clock(tmp_path) -> None:
    settings = CareSettings.from_env(
        {"ANXIN_DB_URL": f"sqlite:///{tmp_path / 'a.db'}", NOW_ENV: "2030-02-03T04:05:06+08:00"}
    )
    care = build(settings, check=False)
    try:
        start = datetime(2030, 2, 2, 20, 5, 6, tzinfo=timezone.utc)
        assert timedelta(0) <= care.clock() - start < timedelta(seconds=30)
        first = care.clock()
        time.sleep(0.02)
        assert care.clock() > first  # it runs
        assert care.bookings.clock is care.clock  # one clock for every service
    finally:
        care.close()
    fixed = build(settings, clock=lambda: REAL, check=False)  # a test's own clock still wins
    try:
        assert fixed.clock() == REAL
    finally:
        fixed.close()


def test_every_child_of_anxin_run_gets_the_one_offset(tmp_path) -> None:
    run = RunSettings.from_env({"ANXIN_VAR_DIR": str(tmp_path)})
    offset: Optional[timedelta] = timedelta(days=-12, seconds=3.25)
    env = child_env(run, CareSettings(db_url="sqlite://", clock_offset=offset))
    assert env[OFFSET_ENV] == "-1036796.750000"
    assert CareSettings.from_env(env).clock_offset == offset  # what each child reads back
    assert OFFSET_ENV not in child_env(run, CareSettings(db_url="sqlite://"))
