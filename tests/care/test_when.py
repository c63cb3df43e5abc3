"""care.when: dates, times, parts of the day and quantities without Duckling.

"now" is Wednesday 2026-11-25 10:00 in Harbin unless a vector says otherwise.
A vector is (text, date, time, part_of_day, ambiguous); dates are "MM-DD" in 2026
or a full "YYYY-MM-DD".
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from care.numbers import chinese_number, english_number, find_quantity, parse_quantity
from care.when import REASONS, When, parse_when

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=TZ)  # a Wednesday
YEAR_END = datetime(2026, 12, 30, 10, 0, tzinfo=TZ)  # also a Wednesday


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    return date.fromisoformat(value if len(value) == 10 else f"2026-{value}")


def _time(value: str | None) -> time | None:
    return None if value is None else time.fromisoformat(value)


def check(text, expected_date, expected_time, part, ambiguous, now=NOW) -> When:
    got = parse_when(text, now)
    assert (got.date, got.time, got.part_of_day, got.ambiguous) == (
        _date(expected_date),
        _time(expected_time),
        part,
        ambiguous,
    ), got
    return got


ZH_DAYS = [
    ("今天", "11-25", None, None, None),
    ("今儿", "11-25", None, None, None),
    ("今儿个", "11-25", None, None, None),
    ("今日菜单是啥", "11-25", None, None, None),
    ("明天", "11-26", None, None, None),
    ("明儿", "11-26", None, None, None),
    ("明儿个", "11-26", None, None, None),
    ("俺明儿个去", "11-26", None, None, None),
    ("后天", "11-27", None, None, None),
    ("后儿个", "11-27", None, None, None),
    ("大后天", "11-28", None, None, None),
    ("大后儿个", "11-28", None, None, None),
    ("昨天", "11-24", None, None, "past_date"),
    ("昨儿个", "11-24", None, None, "past_date"),
    ("前天", "11-23", None, None, "past_date"),
    ("两天后", "11-27", None, None, None),
    ("三天以后", "11-28", None, None, None),
    ("今晚", "11-25", None, "evening", None),
    ("明早", "11-26", None, "morning", None),
    ("明晚", "11-26", None, "evening", None),
    ("赶明儿再说吧", None, None, None, None),
]

ZH_WEEKDAYS = [
    # Today is Wednesday: a bare 周三 is today while the said time is still ahead.
    ("周三", "11-25", None, None, None),
    ("星期三", "11-25", None, None, None),
    ("礼拜三", "11-25", None, None, None),
    ("周三下午", "11-25", None, "afternoon", None),
    ("周三上午九点", "12-02", "09:00", "morning", None),
    ("周四", "11-26", None, None, None),
    ("周一", "11-30", None, None, None),
    ("星期天", "11-29", None, None, None),
    ("礼拜日", "11-29", None, None, None),
    ("周日下午", "11-29", None, "afternoon", None),
    ("周7", "11-29", None, None, None),
    ("下周三", "12-02", None, None, None),
    ("下个星期三", "12-02", None, None, None),
    ("下礼拜一", "11-30", None, None, None),
    ("下个礼拜五", "12-04", None, None, None),
    ("下下周三", "12-09", None, None, None),
    ("这周五", "11-27", None, None, None),
    ("本周五", "11-27", None, None, None),
    ("这个星期六", "11-28", None, None, None),
    ("这周一", "11-23", None, None, "past_date"),
    ("上周三", "11-18", None, None, "past_date"),
    # 周末 is this week's Saturday.
    ("周末", "11-28", None, None, None),
    ("这周末", "11-28", None, None, None),
    ("下周末", "12-05", None, None, None),
    ("下周", None, None, None, "week_without_day"),
    ("下个星期", None, None, None, "week_without_day"),
    ("这周", None, None, None, "week_without_day"),
    ("上周", None, None, None, "past_date"),
    ("下周的周三", "12-02", None, None, None),
    ("下周 周三 上午", "12-02", None, "morning", None),
    ("一周三次", None, None, None, None),
    ("一个星期三次", None, None, None, None),
    ("每周三", None, None, None, "recurring"),
    ("每天早上", None, None, "morning", "recurring"),
]

ZH_MONTH_DAYS = [
    ("11月28号", "11-28", None, None, None),
    ("11月28日", "11-28", None, None, None),
    ("11月28", "11-28", None, None, None),
    ("十一月二十八号", "11-28", None, None, None),
    ("12月1号", "12-01", None, None, None),
    ("28号", "11-28", None, None, None),
    ("二十八号", "11-28", None, None, None),
    ("25号", "11-25", None, None, None),
    # A day of the month that has passed means next month.
    ("3号", "12-03", None, None, None),
    ("二十号", "12-20", None, None, None),
    ("这个月28号", "11-28", None, None, None),
    ("本月28号", "11-28", None, None, None),
    ("这个月3号", "11-03", None, None, "past_date"),
    ("下个月3号", "12-03", None, None, None),
    ("下月3号", "12-03", None, None, None),
    ("下个月的3号", "12-03", None, None, None),
    ("下个月", None, None, None, "month_without_day"),
    ("12月", None, None, None, "month_without_day"),
    ("十二月份", None, None, None, "month_without_day"),
    ("上个月", None, None, None, "past_date"),
    ("11月20号", "11-20", None, None, "past_date"),
    ("1月5号", "2027-01-05", None, None, None),
    ("2027年1月3日", "2027-01-03", None, None, None),
    ("明年1月3号", "2027-01-03", None, None, None),
    ("2月30号", None, None, None, "invalid_date"),
    ("31号", None, None, None, "invalid_date"),
    # Lunar dates are reported, not converted.
    ("初一", None, None, None, "lunar_date"),
    ("正月初一", None, None, None, "lunar_date"),
    ("腊月二十三", None, None, None, "lunar_date"),
    ("农历十月十五", None, None, None, "lunar_date"),
    ("当初说好的", None, None, None, None),
    # Numbers with 号 that are places, and 一日三餐.
    ("我住3号楼", None, None, None, None),
    ("5号床的老人", None, None, None, None),
    ("一日三餐", None, None, None, None),
]

ZH_TIMES = [
    ("上午", None, None, "morning", None),
    ("早上", None, None, "morning", None),
    ("早晨", None, None, "morning", None),
    ("头午", None, None, "morning", None),
    ("中午", None, None, "noon", None),
    ("晌午", None, None, "noon", None),
    ("下午", None, None, "afternoon", None),
    ("后晌", None, None, "afternoon", None),
    ("晚上", None, None, "evening", None),
    ("傍晚", None, None, "evening", None),
    ("十点", None, "10:00", None, None),
    ("十点半", None, "10:30", None, None),
    ("十点钟", None, "10:00", None, None),
    ("十点来钟", None, "10:00", None, None),
    ("上午十点半", None, "10:30", "morning", None),
    ("两点", None, "14:00", None, None),
    ("下午两点", None, "14:00", "afternoon", None),
    ("两点一刻", None, "14:15", None, None),
    ("两点三刻", None, "14:45", None, None),
    ("三点四十", None, "15:40", None, None),
    ("三点四十分", None, "15:40", None, None),
    ("三点零五", None, "15:05", None, None),
    ("三点5分", None, "15:05", None, None),
    ("十点差五分", None, "09:55", None, None),
    ("12点", None, "12:00", None, None),
    ("12点半吃饭", None, "12:30", None, None),
    ("12:30", None, "12:30", None, None),
    ("12：30", None, "12:30", None, None),
    ("十二点整", None, "12:00", None, None),
    ("10时30分", None, "10:30", None, None),
    ("八点", None, "08:00", None, None),
    ("7点", None, "07:00", None, None),
    ("六点半", None, "18:30", None, None),
    ("1点", None, "13:00", None, None),
    ("下午一点", None, "13:00", "afternoon", None),
    ("中午一点", None, "13:00", "noon", None),
    ("中午十一点", None, "11:00", "noon", None),
    ("晚上八点", None, "20:00", "evening", None),
    ("晚上十二点", None, "00:00", "evening", None),
    ("凌晨两点", None, "02:00", "morning", None),
    ("夜里两点", None, "02:00", "evening", None),
    ("两点多", None, "14:00", None, None),
    ("18点", None, "18:00", None, None),
    # 一点 meaning "a little" is not a time.
    ("快一点", None, None, None, None),
    ("给我来一点儿", None, None, None, None),
    ("有一点点饿", None, None, None, None),
    ("少放一点盐", None, None, None, None),
    ("第一点", None, None, None, None),
    ("两个小时", None, None, None, None),
    ("俺想整点儿饺子", None, None, None, None),
    ("几点开饭", None, None, None, None),
]

ZH_SENTENCES = [
    ("明天中午十二点整点儿吃的", "11-26", "12:00", "noon", None),
    ("明天 上午 10 点", "11-26", "10:00", "morning", None),
    ("我想约明天上午10点的内科", "11-26", "10:00", "morning", None),
    ("我想约后天下午三点半", "11-27", "15:30", "afternoon", None),
    ("下周二上午九点半帮我约个理发", "12-01", "09:30", "morning", None),
    ("明儿个头午十点来接俺", "11-26", "10:00", "morning", None),
    ("后儿个晌午给俺送两份饭", "11-27", None, "noon", None),
    ("帮我订个11月28号中午的饭", "11-28", None, "noon", None),
    ("今天晚上7点", "11-25", "19:00", "evening", None),
    ("今天上午九点", "11-25", "09:00", "morning", "past_time"),
    ("今天早上", "11-25", None, "morning", None),
    ("明天周四", "11-26", None, None, None),
    ("明天周五", "11-27", None, None, "several_dates"),
    ("周一到周五", "11-27", None, None, "several_dates"),
    ("明天或者后天", "11-27", None, None, "several_dates"),
    ("明天上午十点或者下午两点", "11-26", "14:00", "afternoon", "several_times"),
    ("下周三点", None, "15:00", None, "week_without_day"),
    ("俺想订明天的午饭", "11-26", None, None, None),
    ("谢谢你", None, None, None, None),
    ("帮我订个午饭少放盐", None, None, None, None),
    ("", None, None, None, None),
]

EN = [
    ("today", "11-25", None, None, None),
    ("tomorrow", "11-26", None, None, None),
    ("Tomorrow", "11-26", None, None, None),
    ("tomorow", "11-26", None, None, None),
    ("tmrw", "11-26", None, None, None),
    ("the day after tomorrow", "11-27", None, None, None),
    ("day after tomorow", "11-27", None, None, None),
    ("tonight", "11-25", None, "evening", None),
    ("yesterday", "11-24", None, None, "past_date"),
    ("in 3 days", "11-28", None, None, None),
    ("two days from now", "11-27", None, None, None),
    ("next Wednesday", "12-02", None, None, None),
    ("this Friday", "11-27", None, None, None),
    ("Friday", "11-27", None, None, None),
    ("friday", "11-27", None, None, None),
    ("on Friday afternoon", "11-27", None, "afternoon", None),
    ("wendesday", "11-25", None, None, None),
    ("on wed", "11-25", None, None, None),
    ("next mon", "11-30", None, None, None),
    ("I sat down", None, None, None, None),
    ("last Friday", "11-20", None, None, "past_date"),
    ("this Monday", "11-23", None, None, "past_date"),
    ("Wednesday next week", "12-02", None, None, None),
    ("next week on Tuesday", "12-01", None, None, None),
    ("this weekend", "11-28", None, None, None),
    ("next weekend", "12-05", None, None, None),
    ("next week", None, None, None, "week_without_day"),
    ("sometime next week", None, None, None, "week_without_day"),
    ("next month", None, None, None, "month_without_day"),
    ("every Monday", None, None, None, "recurring"),
    ("the 28th", "11-28", None, None, None),
    ("28th", "11-28", None, None, None),
    ("on the 3rd", "12-03", None, None, None),
    ("on the 28", "11-28", None, None, None),
    ("the 3rd of next month", "12-03", None, None, None),
    ("November 28", "11-28", None, None, None),
    ("november 28th", "11-28", None, None, None),
    ("Nov 28", "11-28", None, None, None),
    ("Nov. 28", "11-28", None, None, None),
    ("28 Nov", "11-28", None, None, None),
    ("the 28th of November", "11-28", None, None, None),
    ("Jan 5", "2027-01-05", None, None, None),
    ("Nov 28th, 2027", "2027-11-28", None, None, None),
    ("11/28", "11-28", None, None, None),
    ("28/11", "11-28", None, None, None),
    ("2026-12-01", "12-01", None, None, None),
    ("February 30", None, None, None, "invalid_date"),
    ("the 2nd floor", None, None, None, None),
    ("half past ten", None, "10:30", None, None),
    ("quarter past two", None, "14:15", None, None),
    ("quarter to three", None, "14:45", None, None),
    ("twenty past ten", None, "10:20", None, None),
    ("half ten", None, "10:30", None, None),
    ("ten thirty", None, "10:30", None, None),
    ("two fifteen", None, "14:15", None, None),
    ("10:30", None, "10:30", None, None),
    ("10am", None, "10:00", None, None),
    ("10 a.m.", None, "10:00", None, None),
    ("2 pm", None, "14:00", None, None),
    ("2pm", None, "14:00", None, None),
    ("8pm", None, "20:00", None, None),
    ("7am", None, "07:00", None, None),
    ("2:30pm", None, "14:30", None, None),
    ("12am", None, "00:00", None, None),
    ("ten am", None, "10:00", None, None),
    ("at 2", None, "14:00", None, None),
    ("at two", None, "14:00", None, None),
    ("at 8", None, "08:00", None, None),
    ("at ten o'clock", None, "10:00", None, None),
    ("7 o'clock", None, "07:00", None, None),
    ("at six thirty", None, "18:30", None, None),
    ("noon", None, "12:00", "noon", None),
    ("midday", None, "12:00", "noon", None),
    ("12 noon", None, "12:00", "noon", None),
    ("midnight", None, "00:00", None, None),
    ("in the morning", None, None, "morning", None),
    ("in the afternoon", None, None, "afternoon", None),
    ("this evening", "11-25", None, "evening", None),
    ("this morning", "11-25", None, "morning", None),
    ("10 in the morning", None, "10:00", "morning", None),
    ("at 7 in the evening", None, "19:00", "evening", None),
    ("tomorrow night at 8", "11-26", "20:00", "evening", None),
    ("Good morning!", None, None, None, None),
    ("Morning!", None, None, None, None),
    ("good evening, lunch at 12:30 please", None, "12:30", None, None),
    ("I'd like lunch tomorrow at 2pm", "11-26", "14:00", None, None),
    ("book lunch tomorrow at noon please", "11-26", "12:00", "noon", None),
    ("book me a ride to the day care tomorrow morning please", "11-26", None, "morning", None),
    ("can you come Friday at 3", "11-27", "15:00", None, None),
    ("Tuesday next week at half past nine in the morning", "12-01", "09:30", "morning", None),
    ("from one to three", None, None, None, None),
    ("may 2 people come", None, None, None, None),
    ("hello", None, None, None, None),
    ("can you book me a doctor", None, None, None, None),
    ("Can I have 饺子 for lunch", None, None, None, None),
    ("明天 at 10am", "11-26", "10:00", None, None),
]

YEAR_END_VECTORS = [
    ("下个月3号", "2027-01-03", None, None, None),
    ("the 2nd", "2027-01-02", None, None, None),
    ("2号", "2027-01-02", None, None, None),
    ("1月3号", "2027-01-03", None, None, None),
    ("Jan 3", "2027-01-03", None, None, None),
    ("12月28号", "12-28", None, None, "past_date"),
    ("下周五", "2027-01-08", None, None, None),
    ("next Friday", "2027-01-08", None, None, None),
    ("this Friday", "2027-01-01", None, None, None),
    ("周末", "2027-01-02", None, None, None),
    ("大后天", "2027-01-02", None, None, None),
    ("明年1月3号", "2027-01-03", None, None, None),
    ("下个月的2号上午十点", "2027-01-02", "10:00", "morning", None),
]


@pytest.mark.parametrize(
    "text,expected_date,expected_time,part,ambiguous",
    ZH_DAYS + ZH_WEEKDAYS + ZH_MONTH_DAYS + ZH_TIMES + ZH_SENTENCES + EN,
)
def test_vectors(text, expected_date, expected_time, part, ambiguous):
    check(text, expected_date, expected_time, part, ambiguous)


@pytest.mark.parametrize("text,expected_date,expected_time,part,ambiguous", YEAR_END_VECTORS)
def test_year_end_rollover(text, expected_date, expected_time, part, ambiguous):
    check(text, expected_date, expected_time, part, ambiguous, now=YEAR_END)


def test_weekday_is_today_until_its_time_has_passed():
    afternoon = datetime(2026, 11, 25, 15, 0, tzinfo=TZ)
    check("周三", "11-25", None, None, None, now=afternoon)
    check("周三上午", "12-02", None, "morning", None, now=afternoon)
    check("Wednesday at 2pm", "12-02", "14:00", None, None, now=afternoon)
    check("今天早上", "11-25", None, "morning", "past_time", now=afternoon)
    check("this morning", "11-25", None, "morning", "past_time", now=afternoon)


def test_sunday_weekend_and_next_week():
    sunday = datetime(2026, 11, 29, 9, 0, tzinfo=TZ)
    check("周末", "11-29", None, None, None, now=sunday)
    check("下周一", "11-30", None, None, None, now=sunday)
    check("周一", "11-30", None, None, None, now=sunday)


def test_empty_and_spans():
    assert parse_when("", NOW).is_empty
    assert parse_when("你好，俺想问问", NOW).is_empty
    assert parse_when("hello there", NOW) == When()
    when = parse_when("帮我约明天下午两点", NOW)
    assert not when.is_empty
    assert when.spans == ((3, 5), (5, 7), (7, 9))
    assert (when.date_span, when.part_span, when.time_span) == ((3, 5), (5, 7), (7, 9))
    when = parse_when("book lunch for next week please", NOW)
    assert when.ambiguous == "week_without_day"
    assert when.ambiguous_span == (15, 24)
    assert parse_when("  明天  ", NOW).spans == ((2, 4),)


def test_full_width_and_mixed_spacing_keep_spans():
    text = "明天 １０：３０"
    when = parse_when(text, NOW)
    assert when.time == time(10, 30)
    assert text[slice(*when.time_span)] == "１０：３０"


def test_reasons_are_known():
    for text in ["下周", "昨天", "初一", "每天", "2月30号", "下个月", "周一到周五"]:
        assert parse_when(text, NOW).ambiguous in REASONS


def test_now_in_another_zone_is_its_own_wall_clock():
    utc_evening = datetime(2026, 11, 25, 20, 0, tzinfo=ZoneInfo("UTC"))
    assert parse_when("明天", utc_evening).date == date(2026, 11, 26)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("三份", 3),
        ("两份饭", 2),
        ("两个人", 2),
        ("俩人", 2),
        ("仨", 3),
        ("俺们仨", 3),
        ("咱俩的饭", 2),
        ("一份", 1),
        ("2份", 2),
        ("２份", 2),
        ("三口人", 3),
        ("两位老人", 2),
        ("十份饺子", 10),
        ("明天中午给俺送两份饭", 2),
        ("for two", 2),
        ("lunch for 3 tomorrow", 3),
        ("two portions", 2),
        ("3 meals", 3),
        ("two people", 2),
        ("a portion please", 1),
        ("the two of us", 2),
        ("十点", None),
        ("28号", None),
        ("明天下午两点", None),
        ("俩月", None),
        ("第一份", None),
        ("两三份", None),
        ("for two days", None),
        ("for 2pm", None),
        ("at two", None),
        ("the 2nd", None),
        ("帮我订个午饭", None),
        ("", None),
    ],
)
def test_parse_quantity(text, expected):
    assert parse_quantity(text) == expected


def test_find_quantity_gives_the_span():
    text = "明天要两份饭"
    value, (start, end) = find_quantity(text)
    assert value == 2
    assert text[start:end] == "两份"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("一", 1),
        ("十", 10),
        ("十五", 15),
        ("二十", 20),
        ("二十八", 28),
        ("三十一", 31),
        ("九十九", 99),
        ("两", 2),
        ("俩", 2),
        ("仨", 3),
        ("〇", 0),
        ("零", 0),
        ("零五", 5),
        ("28", 28),
        ("２８", 28),
        ("十十", None),
        ("一百", None),
        ("", None),
        ("abc", None),
    ],
)
def test_chinese_number(text, expected):
    assert chinese_number(text) == expected


def test_english_number():
    assert english_number("twenty-eight") == 28
    assert english_number("forty five") == 45
    assert english_number("seven") == 7
    assert english_number("one two") is None
