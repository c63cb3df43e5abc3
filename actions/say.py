"""How dates are said to people: 今天/明天/后天 and "tomorrow" before calendar dates."""

from __future__ import annotations

from datetime import date
from typing import Optional

WEEKDAYS_ZH = "一二三四五六日"


def day_zh(day: Optional[date], today: date) -> str:
    if day is None:
        return "这几天"
    named = {0: "今天", 1: "明天", 2: "后天"}.get((day - today).days)
    return named or f"{day.month}月{day.day}号（星期{WEEKDAYS_ZH[day.weekday()]}）"


def day_en(day: Optional[date], today: date) -> str:
    if day is None:
        return "this week"
    named = {0: "today", 1: "tomorrow"}.get((day - today).days)
    return named or f"on {day:%A} {day.day} {day:%B}"


def full_day_zh(day: date, today: date) -> str:
    """For a read-back: always the date and the weekday, with 明天/后天 when near."""
    exact = f"{day.month}月{day.day}号，星期{WEEKDAYS_ZH[day.weekday()]}"
    named = {0: "今天", 1: "明天", 2: "后天"}.get((day - today).days)
    return f"{named}（{exact}）" if named else exact
