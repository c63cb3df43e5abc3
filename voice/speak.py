"""Dates and times as an elder hears them read back, in words.

A TTS voice reads "2026-11-28 12:00" digit by digit, or as a number ("two thousand and
twenty-six"); what a caller needs to hear is "十一月二十八号，星期五，中午十二点" or
"Friday the twenty-eighth of November, at twelve noon". Pure functions, no I/O.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from datetime import time as dtime
from typing import Optional

_ZH_DIGITS = "零一二三四五六七八九"
_ZH_WEEKDAYS = "一二三四五六日"
_EN_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
_EN_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)  # fmt: skip
_EN_TENS = ("", "", "twenty", "thirty", "forty", "fifty")
_EN_ORDINAL_ONES = (
    "", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth",
)  # fmt: skip


def zh_number(n: int) -> str:
    """0..99 in Chinese numerals: 10 → 十, 21 → 二十一 (as dates and clocks say them)."""
    if not 0 <= n < 100:
        raise ValueError(f"{n} is out of range")
    tens, ones = divmod(n, 10)
    if tens == 0:
        return _ZH_DIGITS[ones]
    return ("" if tens == 1 else _ZH_DIGITS[tens]) + "十" + (_ZH_DIGITS[ones] if ones else "")


def en_number(n: int) -> str:
    if not 0 <= n < 60:
        raise ValueError(f"{n} is out of range")
    if n < 20:
        return _EN_ONES[n]
    tens, ones = divmod(n, 10)
    return _EN_TENS[tens] + (f"-{_EN_ONES[ones]}" if ones else "")


def en_ordinal(n: int) -> str:
    if not 1 <= n <= 31:
        raise ValueError(f"{n} is out of range")
    if n < 20:
        return _EN_ORDINAL_ONES[n]
    tens, ones = divmod(n, 10)
    if not ones:
        return _EN_TENS[tens][:-1] + "ieth"  # twentieth, thirtieth
    return f"{_EN_TENS[tens]}-{_EN_ORDINAL_ONES[ones]}"


def say_date(day: date, language: str, today: Optional[date] = None) -> str:
    """十一月二十八号，星期五 / Friday the twenty-eighth of November.

    With ``today``, a near day is named first (明天 / tomorrow), which elders check against.
    """
    relative = _relative_day(day, language, today)
    if language == "zh":
        said = f"{zh_number(day.month)}月{zh_number(day.day)}号，星期{_ZH_WEEKDAYS[day.weekday()]}"
        return f"{relative}，{said}" if relative else said
    said = f"{_EN_WEEKDAYS[day.weekday()]} the {en_ordinal(day.day)} of {_EN_MONTHS[day.month - 1]}"
    return f"{relative}, {said}" if relative else said


def _relative_day(day: date, language: str, today: Optional[date]) -> str:
    if today is None:
        return ""
    names = {
        "zh": {-1: "昨天", 0: "今天", 1: "明天", 2: "后天"},
        "en": {-1: "yesterday", 0: "today", 1: "tomorrow"},
    }
    return names["zh" if language == "zh" else "en"].get((day - today).days, "")


def say_time(at: dtime, language: str) -> str:
    """中午十二点, 下午三点半 / twelve noon, half past three in the afternoon."""
    return _zh_time(at) if language == "zh" else _en_time(at)


def _zh_time(at: dtime) -> str:
    hour, minute = at.hour, at.minute
    if hour == 0 and minute == 0:
        return "半夜十二点"
    if hour < 6:
        period = "凌晨"
    elif hour < 9:
        period = "早上"
    elif hour < 12:
        period = "上午"
    elif hour < 13:
        period = "中午"
    elif hour < 18:
        period = "下午"
    else:
        period = "晚上"
    h12 = hour % 12 or 12
    # Two o'clock is 两点, never 二点.
    clock = "两" if h12 == 2 else zh_number(h12)
    if minute == 0:
        return f"{period}{clock}点"
    if minute == 30:
        return f"{period}{clock}点半"
    if minute < 10:
        return f"{period}{clock}点零{zh_number(minute)}分"
    return f"{period}{clock}点{zh_number(minute)}分"


def _en_time(at: dtime) -> str:
    hour, minute = at.hour, at.minute
    if minute == 0 and hour == 12:
        return "twelve noon"
    if minute == 0 and hour == 0:
        return "midnight"
    if hour < 12:
        period = "in the morning"
    else:
        period = "in the afternoon" if hour < 18 else "in the evening"
    h12 = en_number(hour % 12 or 12)
    if minute == 0:
        return f"{h12} o'clock {period}"
    if minute == 30:
        return f"half past {h12} {period}"
    if minute < 10:
        return f"{h12} oh {en_number(minute)} {period}"
    return f"{h12} {en_number(minute)} {period}"


def say_datetime(at: datetime, language: str, today: Optional[date] = None) -> str:
    """十一月二十八号，星期五，中午十二点 / Friday the twenty-eighth of November, at twelve noon."""
    day = say_date(at.date(), language, today)
    if language == "zh":
        return f"{day}，{say_time(at.time(), language)}"
    return f"{day}, at {say_time(at.time(), language)}"


# How the bot writes dates and times (actions/say.py): "11月28号（星期五） 12:00",
# "Friday 28 November, 12:00".
_ZH_MONTH_DAY = re.compile(r"(\d{1,2})月(\d{1,2})[号日]")
_EN_DAY_MONTH = re.compile(
    r"\b(" + "|".join(_EN_WEEKDAYS) + r") (\d{1,2}) (" + "|".join(_EN_MONTHS) + r")\b"
)
# A written part of day before a clock time is dropped: the time is said with its own.
_CLOCK = re.compile(
    r"(?:上午|中午|下午|晚上|早上|凌晨|傍晚)?(?<!\d)(?<!\d:)([01]?\d|2[0-3]):([0-5]\d)(?!\d|:\d)"
)


def for_speech(text: str, language: str) -> str:
    """A reply's written dates and clock times in words, for the voices to read."""
    if language == "zh":
        text = _ZH_MONTH_DAY.sub(_zh_month_day, text)
    else:
        text = _EN_DAY_MONTH.sub(_en_day_month, text)
    return _CLOCK.sub(lambda m: say_time(dtime(int(m[1]), int(m[2])), language), text)


def _zh_month_day(m: re.Match[str]) -> str:
    month, day = int(m[1]), int(m[2])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return m[0]
    return f"{zh_number(month)}月{zh_number(day)}号"


def _en_day_month(m: re.Match[str]) -> str:
    day = int(m[2])
    return f"{m[1]} the {en_ordinal(day)} of {m[3]}" if 1 <= day <= 31 else m[0]
