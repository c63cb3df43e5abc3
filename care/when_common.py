"""Shared pieces of the date/time reader (:mod:`care.when`): raw findings and text clean-up.

The language scanners (:mod:`care.when_zh`, :mod:`care.when_en`) and the numeric
scanner here only *find* things and report them as :class:`Item` s with spans in
the normalised text; :func:`care.when.parse_when` resolves them against "now".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Item", "normalise", "scan_numeric", "hour24", "PART_END_HOUR"]

# Last hour (exclusive) of each part of the day: used to tell "this morning" has passed.
PART_END_HOUR = {"morning": 12, "noon": 14, "afternoon": 18, "evening": 24}


@dataclass
class Item:
    """One understood piece of text; only the fields it speaks about are set."""

    start: int
    end: int
    day_offset: int | None = None  # 今天 0, 明天 1, 昨天 -1
    weekday: int | None = None  # 0 = Monday
    week_offset: int | None = None  # 这周 0, 下周 1, 上周 -1; None with a weekday = "next such day"
    weekend: bool = False  # 周末 / weekend (weekday is 5)
    year: int | None = None
    year_offset: int | None = None  # 今年 0, 明年 1
    month: int | None = None
    month_offset: int | None = None  # 这个月 0, 下个月 1
    day: int | None = None
    hour: int | None = None
    minute: int = 0
    meridiem: str | None = None  # "am", "pm", "night" (hours after midnight stay small)
    part: str | None = None  # morning / noon / afternoon / evening
    reason: str | None = None  # an ambiguity found by the scanner itself (lunar_date, recurring)

    @property
    def is_date(self) -> bool:
        return (
            self.day_offset is not None
            or self.weekday is not None
            or self.week_offset is not None
            or self.month is not None
            or self.month_offset is not None
            or self.day is not None
        )


def _is_cjk(ch: str) -> bool:
    return "\u3007" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff"


def normalise(text: str) -> tuple[str, list[int]]:
    """Lower-cased, full-width-folded text without spaces next to Chinese characters.

    Returns the new text and, for each of its characters, the index of the
    character in ``text`` it came from (so spans can be mapped back).
    """
    chars: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        n = unicodedata.normalize("NFKC", ch)
        n = n if len(n) == 1 else ch
        low = n.lower()
        n = low if len(low) == 1 else n
        if n in "\u2019`\u00b4":
            n = "'"
        if n.isspace():
            if chars and chars[-1] == " ":
                continue
            n = " "
        chars.append(n)
        index.append(i)
    out_chars: list[str] = []
    out_index: list[int] = []
    for k, ch in enumerate(chars):
        if ch == " ":
            before = out_chars[-1] if out_chars else ""
            after = chars[k + 1] if k + 1 < len(chars) else ""
            if not before or not after or _is_cjk(before) or _is_cjk(after):
                continue
        out_chars.append(ch)
        out_index.append(index[k])
    return "".join(out_chars), out_index


def hour24(hour: int, meridiem: str | None, part: str | None) -> int:
    """The 24-hour clock hour for a said hour, given am/pm or the part of the day.

    Without am/pm or a part of the day (the elder-care reading): 1-6 are in the
    afternoon (两点 → 14:00), 7-11 in the morning, 12 is noon, 0 and 13-23 are
    taken as they are.
    """
    if hour >= 13:
        return hour % 24
    if meridiem == "am":
        return 0 if hour == 12 else hour
    if meridiem == "pm":
        return hour if hour in (0, 12) else hour + 12
    if meridiem == "night":  # 夜里两点 = 02:00, 夜里十点 = 22:00, 半夜十二点 = 00:00
        return 0 if hour == 12 else (hour + 12 if hour >= 7 else hour)
    if part == "morning":
        return hour
    if part == "noon":
        return hour + 12 if 1 <= hour <= 5 else hour
    if part == "afternoon":
        return hour if hour in (0, 12) else hour + 12
    if part == "evening":
        return 0 if hour == 12 else (hour + 12 if hour else 0)
    if 1 <= hour <= 6:
        return hour + 12
    return hour


_ISO_DATE = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_SLASH_DATE = re.compile(r"(?<![\d/.:])(\d{1,2})/(\d{1,2})(?![\d/])")
_CLOCK = re.compile(r"(?<![\d:.])([01]?\d|2[0-4])[:](\d{2})(?![\d:])")


def scan_numeric(norm: str) -> list[Item]:
    """Language-free forms: 2026-11-28, 11/28 (month/day), 12:30.

    ``a/b`` is month/day; when ``a`` cannot be a month (> 12) and ``b`` can, it
    is read as day/month (28/11).
    """
    items: list[Item] = []
    for m in _ISO_DATE.finditer(norm):
        items.append(Item(m.start(), m.end(), year=int(m[1]), month=int(m[2]), day=int(m[3])))
    for m in _SLASH_DATE.finditer(norm):
        a, b = int(m[1]), int(m[2])
        if a > 12 >= b:
            a, b = b, a
        if 1 <= a <= 12 and 1 <= b <= 31:
            items.append(Item(m.start(), m.end(), month=a, day=b))
    for m in _CLOCK.finditer(norm):
        hour, minute = int(m[1]), int(m[2])
        if minute < 60 and (hour < 24 or minute == 0):
            # Written with a colon: 24-hour clock, except that 1:00-6:59 follows
            # the same elder-care reading as a spoken hour.
            # "02:30" (a leading zero) is taken literally.
            literal = "am" if m[1].startswith("0") else None
            items.append(Item(m.start(), m.end(), hour=hour, minute=minute, meridiem=literal))
    return items
