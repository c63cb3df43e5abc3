"""Read-back of dates and times in words, both languages."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from voice.speak import (
    en_number,
    en_ordinal,
    for_speech,
    say_date,
    say_datetime,
    say_time,
    zh_number,
)


def test_the_issue_example_in_both_languages() -> None:
    at = datetime(2025, 11, 28, 12, 0)  # a Friday
    assert say_datetime(at, "zh") == "十一月二十八号，星期五，中午十二点"
    assert say_datetime(at, "en") == "Friday the twenty-eighth of November, at twelve noon"


@pytest.mark.parametrize(
    "n,zh", [(0, "零"), (2, "二"), (10, "十"), (11, "十一"), (20, "二十"), (31, "三十一")]
)
def test_chinese_numbers(n: int, zh: str) -> None:
    assert zh_number(n) == zh


def test_english_numbers_and_ordinals() -> None:
    assert [en_number(n) for n in (0, 13, 20, 45)] == ["zero", "thirteen", "twenty", "forty-five"]
    assert [en_ordinal(n) for n in (1, 2, 3, 12, 20, 21, 30, 31)] == [
        "first", "second", "third", "twelfth", "twentieth", "twenty-first", "thirtieth",
        "thirty-first",
    ]  # fmt: skip
    with pytest.raises(ValueError):
        en_ordinal(32)
    with pytest.raises(ValueError):
        zh_number(100)


@pytest.mark.parametrize(
    "hh,mm,zh,en",
    [
        (0, 0, "半夜十二点", "midnight"),
        (5, 30, "凌晨五点半", "half past five in the morning"),
        (7, 5, "早上七点零五分", "seven oh five in the morning"),
        (9, 0, "上午九点", "nine o'clock in the morning"),
        (12, 0, "中午十二点", "twelve noon"),
        (12, 30, "中午十二点半", "half past twelve in the afternoon"),
        (14, 0, "下午两点", "two o'clock in the afternoon"),
        (15, 45, "下午三点四十五分", "three forty-five in the afternoon"),
        (19, 10, "晚上七点十分", "seven ten in the evening"),
    ],
)
def test_times(hh: int, mm: int, zh: str, en: str) -> None:
    assert say_time(time(hh, mm), "zh") == zh
    assert say_time(time(hh, mm), "en") == en


def test_dates_with_today_named_first() -> None:
    today = date(2025, 11, 27)
    assert say_date(date(2025, 11, 28), "zh", today) == "明天，十一月二十八号，星期五"
    assert say_date(date(2025, 11, 29), "zh", today) == "后天，十一月二十九号，星期六"
    assert say_date(date(2025, 12, 1), "zh", today) == "十二月一号，星期一"
    assert say_date(date(2025, 11, 28), "en", today) == (
        "tomorrow, Friday the twenty-eighth of November"
    )
    assert say_date(date(2027, 1, 1), "en") == "Friday the first of January"


def test_no_digits_left_to_be_read_one_by_one() -> None:
    for month in range(1, 13):
        for hour in range(24):
            at = datetime(2026, month, 28, hour, 7)
            for lang in ("zh", "en"):
                said = say_datetime(at, lang)
                assert not any(ch.isdigit() for ch in said), said


@pytest.mark.parametrize(
    ("written", "language", "said"),
    [
        # The read-backs of actions/say.py, as the voices must say them.
        (
            "明天（11月28号，星期五） 12:00，午饭，在食堂吃。",
            "zh",
            "明天（十一月二十八号，星期五） 中午十二点，午饭，在食堂吃。",
        ),
        ("12月1号（星期一） 下午14:30 门诊", "zh", "十二月一号（星期一） 下午两点半 门诊"),
        (
            "Friday 28 November, 12:00: Lunch at the canteen",
            "en",
            "Friday the twenty-eighth of November, twelve noon: Lunch at the canteen",
        ),
        (
            "on Monday 1 December at 09:30",
            "en",
            "on Monday the first of December at half past nine in the morning",
        ),  # fmt: skip
        # Not dates or clock times: left as written.
        ("13月40号 25:99 比分3:45:10", "zh", "13月40号 25:99 比分3:45:10"),
        ("Room 12, call 12349", "en", "Room 12, call 12349"),
    ],
)
def test_written_dates_and_times_are_said_in_words(written, language, said) -> None:
    assert for_speech(written, language) == said
