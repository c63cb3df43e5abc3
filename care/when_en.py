"""English dates and times for :mod:`care.when` (finding only, no resolution).

Understood (lower-cased, common typos such as "tomorow", "tmrw", "wendesday"):

* relative days: today, tonight, tomorrow, the day after tomorrow, yesterday, the
  day before yesterday, "in 3 days", "two days from now";
* weekdays: Friday, on Friday, this / next / coming / last Friday, "Friday next week",
  weekend / this weekend / next weekend, "next week" / "this week" alone, "every
  Monday" / "every day" (recurring). Short names (Mon, Wed, Fri …) need "on", "this",
  "next" … before them, so "I sat down" is not a Saturday;
* days of the month: the 28th, 28th, on the 28, November 28(th), Nov. 28, 28 Nov,
  the 28th of November, November 28, 2027, "next month" alone;
* parts of the day: (in the / this / tomorrow …) morning, afternoon, evening, at
  night, noon, midday, midnight. "Good morning" is a greeting, not a time;
* clock times: 10:30, 10am, 2 pm, 10.30am, ten am, 10 o'clock, at 2, at ten thirty,
  half past ten, quarter past two, quarter to three, twenty past ten, half ten,
  ten thirty, two fifteen, "10 in the morning".
"""

from __future__ import annotations

import re

from care.numbers import EN_NUM, english_number
from care.when_common import Item

__all__ = ["scan_en"]

_TOMORROW = r"(?:tomorrow|tomorow|tommorow|tommorrow|tomorrrow|tomorro|tmrw|tmr|2moro|2morrow)"
_REL = [
    (re.compile(r"\b(?:the\s+)?day\s+after\s+" + _TOMORROW + r"\b"), 2, None),
    (re.compile(r"\b(?:the\s+)?day\s+before\s+yesterday\b"), -2, None),
    (re.compile(r"\b" + _TOMORROW + r"\b"), 1, None),
    (re.compile(r"\b(?:today|todya|tday|2day)\b"), 0, None),
    (re.compile(r"\b(?:tonight|tonite|2nite)\b"), 0, "evening"),
    (re.compile(r"\b(?:yesterday|yday)\b"), -1, None),
    (re.compile(r"\blast\s+night\b"), -1, "evening"),
]
_NUM = rf"(?:\d{{1,2}}|{EN_NUM})"
_DAYS_LATER = re.compile(
    rf"\bin\s+(an?|{_NUM})\s+(days?|weeks?)\b|\b({_NUM})\s+(days?|weeks?)\s+(?:from now|later)\b"
)

_WEEKDAYS = {
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "wednsday": 2,
    "wendesday": 2,
    "wensday": 2,
    "wedensday": 2,
    "thursday": 3,
    "thurday": 3,
    "thrusday": 3,
    "friday": 4,
    "saturday": 5,
    "saterday": 5,
    "satuday": 5,
    "sunday": 6,
}
_SHORT_WEEKDAYS = {
    "mon": 0,
    "tue": 1,
    "tues": 1,
    "wed": 2,
    "weds": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
}
_ALL_WEEKDAYS = _WEEKDAYS | _SHORT_WEEKDAYS
_WD_ALT = "|".join(sorted(_ALL_WEEKDAYS, key=len, reverse=True))
_WEEK_MOD = {"this": 0, "next": 1, "last": -1, "coming": None}
_WEEKDAY_RE = re.compile(rf"\b(?:(?:(this|next|last|coming)|(on))\s+)?({_WD_ALT}|weekend)s?\b")
_WEEK_RE = re.compile(r"\b(this|next|last)\s+week\b(?!\s*end)")
_EVERY_RE = re.compile(rf"\bevery\s*(?:day|morning|evening|night|week|{_WD_ALT})\b|\bdaily\b")

_MONTHS = {
    "january": 1,
    "february": 2,
    "march": 3,
    "april": 4,
    "may": 5,
    "june": 6,
    "july": 7,
    "august": 8,
    "september": 9,
    "october": 10,
    "november": 11,
    "december": 12,
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH_ALT = "|".join(sorted(_MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)"
_NOT_A_DAY = (
    r"(?!\s*(?:people|persons?|portions?|servings?|meals?|of us|floor|time|grade|[:.]\d|am\b|pm\b))"
)
_MONTH_DAY = re.compile(
    rf"\b({_MONTH_ALT})\.?\s*(?:the\s+)?(\d{{1,2}}){_ORD}?\b{_NOT_A_DAY}(?:,?\s*(\d{{4}})\b)?"
)
_DAY_MONTH = re.compile(
    rf"\b(?:the\s+)?(\d{{1,2}}){_ORD}?\s*(?:of\s+)?({_MONTH_ALT})\b\.?(?:,?\s*(\d{{4}})\b)?"
)
_ORDINAL_DAY = re.compile(rf"\b(?:on\s+)?(?:the\s+)?(\d{{1,2}}){_ORD}\b{_NOT_A_DAY}")
_ON_THE_DAY = re.compile(
    r"\bon\s+the\s+(\d{1,2})\b(?![:.]\d|\s*(?:am|pm|a\.m|p\.m|o'?\s?clock|people|portions?))"
)
_REL_MONTH = re.compile(r"\b(this|next|last)\s+month\b")

_PART_WORDS = {"morning": "morning", "afternoon": "afternoon", "evening": "evening"}
_PART_RE = re.compile(r"\b(?:in\s+the\s+|this\s+)?(morning|afternoon|evening)s?\b")
_NIGHT_RE = re.compile(r"\b(?:at|by|tomorrow|sunday|monday|tuesday|wednesday|thursday)\s+night\b")

_HOUR = r"(?:\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
_MIN_WORD = (
    r"(?:o'?clock|oh[- ]?(?:one|two|three|four|five|six|seven|eight|nine)|(?:twenty|thirty"
    r"|forty|fourty|fifty)(?:[- ](?:one|two|three|four|five|six|seven|eight|nine))?"
    r"|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen)"
)
_AMPM = r"(a\.?\s?m\b\.?|p\.?\s?m\b\.?)"
_TIMES = [
    # 10am, 10:30 pm, 10.30am, ten am
    re.compile(rf"\b({_HOUR})(?:[:.]([0-5]\d))?\s*{_AMPM}"),
    # 10 o'clock, ten oclock
    re.compile(rf"\b({_HOUR})\s*o'?\s?clock\b"),
    # at 2, at ten thirty, at 10.30
    re.compile(
        rf"\bat\s+({_HOUR})(?:(?:[:.]|\s+)([0-5]\d|{_MIN_WORD}))?\b(?![:.]?\d)"
        r"(?!\s*(?:a\.?\s?m|p\.?\s?m)\b)"
    ),
    # ten thirty, two fifteen
    re.compile(
        rf"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s+({_MIN_WORD})\b"
    ),
    # 10 in the morning, 8 tonight
    re.compile(
        rf"\b({_HOUR})(?=\s+(?:in\s+the\s+(?:morning|afternoon|evening)|at\s+night|tonight"
        r"|this\s+(?:morning|afternoon|evening)))"
    ),
]
_PAST_TO = re.compile(
    rf"\b(half|quarter|{_NUM})(?:\s+minutes?)?\s+(past|after|to|till|before)\s+({_HOUR})\b"
)
_HALF_HOUR = re.compile(
    r"\bhalf\s+(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b"
)
_NOON_RE = re.compile(r"\b(?:12\s+)?(noon|midday|mid-day|midnight)\b")


def _number(word: str) -> int | None:
    word = word.strip()
    return int(word) if word.isdigit() else english_number(word)


def scan_en(norm: str) -> list[Item]:
    """All English date/time pieces in normalised (lower-case) text."""
    if not re.search("[a-z]", norm):
        return []
    items: list[Item] = []
    for pattern, offset, part in _REL:
        for m in pattern.finditer(norm):
            items.append(Item(m.start(), m.end(), day_offset=offset, part=part))
    for m in _DAYS_LATER.finditer(norm):
        count, unit = (m[1], m[2]) if m[1] else (m[3], m[4])
        n = 1 if count in ("a", "an") else _number(count)
        if n:
            items.append(Item(m.start(), m.end(), day_offset=n * (7 if "week" in unit else 1)))
    items.extend(_scan_weeks(norm))
    items.extend(_scan_month_days(norm))
    items.extend(_scan_parts(norm))
    items.extend(_scan_times(norm))
    return items


def _scan_weeks(norm: str) -> list[Item]:
    items: list[Item] = []
    for m in _WEEKDAY_RE.finditer(norm):
        modifier, on, name = m[1], m[2], m[3]
        if name in _SHORT_WEEKDAYS and not (modifier or on):
            continue
        offset = _WEEK_MOD[modifier] if modifier else None
        if name == "weekend":
            items.append(Item(m.start(), m.end(), weekday=5, week_offset=offset, weekend=True))
        else:
            items.append(Item(m.start(), m.end(), weekday=_ALL_WEEKDAYS[name], week_offset=offset))
    for m in _WEEK_RE.finditer(norm):
        items.append(Item(m.start(), m.end(), week_offset=_WEEK_MOD[m[1]]))
    for m in _EVERY_RE.finditer(norm):
        items.append(Item(m.start(), m.end(), reason="recurring"))
    return items


def _scan_month_days(norm: str) -> list[Item]:
    items: list[Item] = []
    for m in _MONTH_DAY.finditer(norm):
        year = int(m[3]) if m[3] else None
        items.append(Item(m.start(), m.end(), month=_MONTHS[m[1]], day=int(m[2]), year=year))
    for m in _DAY_MONTH.finditer(norm):
        year = int(m[3]) if m[3] else None
        items.append(Item(m.start(), m.end(), month=_MONTHS[m[2]], day=int(m[1]), year=year))
    for pattern in (_ORDINAL_DAY, _ON_THE_DAY):
        for m in pattern.finditer(norm):
            if 1 <= int(m[1]) <= 31:
                items.append(Item(m.start(), m.end(), day=int(m[1])))
    for m in _REL_MONTH.finditer(norm):
        items.append(Item(m.start(), m.end(), month_offset=_WEEK_MOD[m[1]]))
    return items


def _scan_parts(norm: str) -> list[Item]:
    items: list[Item] = []
    for m in _PART_RE.finditer(norm):
        before = norm[: m.start()].rstrip()
        if before.endswith("good"):
            continue  # good morning / good evening
        if m[0] == m[1] and not before and not norm[m.end() :].strip(" ,.!?~"):
            continue  # "Morning!" on its own is a greeting
        today = 0 if m[0].startswith("this") else None
        items.append(Item(m.start(), m.end(), part=_PART_WORDS[m[1]], day_offset=today))
    for m in _NIGHT_RE.finditer(norm):
        start = m.start() if m[0].startswith(("at", "by")) else m.end() - len("night")
        items.append(Item(start, m.end(), part="evening", meridiem="night"))
    return items


def _scan_times(norm: str) -> list[Item]:
    items: list[Item] = []
    for m in _NOON_RE.finditer(norm):
        if m[1] == "midnight":
            items.append(Item(m.start(), m.end(), hour=0, meridiem="am"))
        else:
            items.append(Item(m.start(), m.end(), hour=12, part="noon"))
    for k, pattern in enumerate(_TIMES):
        for m in pattern.finditer(norm):
            hour = _number(m[1])
            if hour is None or hour > 24:
                continue
            minute = 0
            meridiem = None
            if k == 0:
                minute = int(m[2]) if m[2] else 0
                meridiem = "am" if m[3].startswith("a") else "pm"
            elif k in (2, 3) and m[2] and not m[2].startswith("o"):
                minute = _number(m[2].replace("-", " ")) or 0
            elif k in (2, 3) and m[2] and m[2].startswith("oh"):
                minute = english_number(re.sub(r"^oh[- ]?", "", m[2])) or 0
            if minute >= 60:
                continue
            items.append(Item(m.start(), m.end(), hour=hour, minute=minute, meridiem=meridiem))
    for m in _PAST_TO.finditer(norm):
        hour = _number(m[3])
        minutes = {"half": 30, "quarter": 15}.get(m[1]) or _number(m[1])
        if hour is None or not minutes or minutes > 30 or hour > 12:
            continue
        if m[2] in ("past", "after"):
            items.append(Item(m.start(), m.end(), hour=hour, minute=minutes))
        elif m[1] == "quarter" or "minute" in m[0] or minutes in (5, 10, 20, 25):
            items.append(Item(m.start(), m.end(), hour=(hour - 1) % 12 or 12, minute=60 - minutes))
    for m in _HALF_HOUR.finditer(norm):
        items.append(Item(m.start(), m.end(), hour=english_number(m[1]) or 0, minute=30))
    return items
