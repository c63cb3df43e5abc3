"""What is moved and where to, read from the sentence (fixed vectors, no database)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest

from care.moves import read_move

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone(timedelta(hours=8)))  # Wednesday


@pytest.mark.parametrize(
    ("text", "old", "new", "at"),
    [
        ("把明天的午饭改到后天", date(2026, 11, 26), date(2026, 11, 27), None),
        ("改到后天", None, date(2026, 11, 27), None),
        ("12月3号的日托换到12月5号", date(2026, 12, 3), date(2026, 12, 5), None),
        ("门诊换到下午三点", None, None, time(15, 0)),
        ("明天的电话挪到下周一晚上七点", date(2026, 11, 26), date(2026, 11, 30), time(19, 0)),
        ("move my lunch tomorrow to friday", date(2026, 11, 26), date(2026, 11, 27), None),
        ("I want to move my clinic visit to Monday at 10", None, date(2026, 11, 30), time(10)),
        ("reschedule the call on the 30th to December 2", date(2026, 11, 30), date(2026, 12, 2),
         None),
        ("can you change my appointment", None, None, None),
        ("看牙那个往后推推", None, None, None),
    ],
)  # fmt: skip
def test_old_and_new(text, old, new, at):
    move = read_move(text, NOW)
    assert (move.old.date, move.new.date, move.new.time) == (old, new, at)
