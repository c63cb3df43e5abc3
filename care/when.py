"""When does the person mean? Dates, clock times and parts of the day from free text.

There is no Duckling in Anxin: this module (pure standard library) reads Chinese
and English (also mixed, typo'd, or voice-transcribed without punctuation) and
resolves what it finds against ``now``. :func:`parse_when` returns a :class:`When`;
:func:`parse_quantity` and :func:`chinese_number` come from :mod:`care.numbers`.
What is understood in each language is listed in :mod:`care.when_zh` and
:mod:`care.when_en`; 2026-11-28, 11/28 and 12:30 are read in both.

Rules (``now`` is taken as local wall-clock time, in its own time zone):

* **Weekday alone** (周三, "Friday", "on Friday", "coming Friday"): the next such
  day from today, *today included* - unless the time or part of the day said is
  already over today, then the same day next week.
* **这周五 / 本周五 / "this Friday"**: the Friday of the current Monday-Sunday week,
  even if it has passed (then ``ambiguous="past_date"``). **下周三 / 下个星期三 /
  "next Wednesday"**: the Wednesday of next week (Monday-Sunday weeks), so on a
  Wednesday it is 7 days ahead and on a Sunday 下周一 is tomorrow. 下下周三: two
  weeks on. 上周三 / "last Wednesday": past.
* **周末 / "weekend"**: the Saturday of this week (today when today is Sunday);
  下周末 / "next weekend": Saturday of next week.
* **下周 / "next week" / 这周 alone**: no date, ``ambiguous="week_without_day"``; with a
  weekday elsewhere in the text ("下周 … 周三", "Wednesday next week") they combine.
* **Day of the month without a month** (28号, "the 28th"): this month if that day is
  today or later, else next month. 这个月28号 is this month even if past
  (``past_date``); 下个月3号 / "the 3rd of next month" is next month.
  下个月 / "next month" / 12月 alone: ``ambiguous="month_without_day"``.
* **Month and day** (11月28号, "Nov 28"): this year; if that is before today, next
  year when it is more than half a year ago (on 12-30, 1月3号 is next January),
  else it stays in the past with ``past_date``. A date that does not exist
  (2月30号, "the 31st" in a 30-day month) gives ``ambiguous="invalid_date"`` and no date.
* **Past days** (昨天, 前天, "yesterday", 上周三): the date is given and
  ``ambiguous="past_date"``; the caller should ask back.
* **Hours without am/pm or a part of the day** (the elder-care reading): 1-6 are
  afternoon (两点 / "at two" → 14:00), 7-11 morning (八点 → 08:00), 12 is noon, 0
  and 13-23 as said. With a part of the day (nearest one in the text) or am/pm:
  上午/早上 keep the hour; 中午 adds 12 to 1-5 (中午一点 → 13:00); 下午/晚上 add 12
  (晚上十二点 → 00:00); 凌晨 / 夜里 / "at night" keep 1-6 small (凌晨两点 → 02:00).
  "noon"/"midday" are 12:00 (and ``part_of_day="noon"``); 中午 alone is only the
  part of the day. A meal word (午饭, "lunch") sets nothing: meals are not times.
* ``part_of_day`` is set only when one is said (上午, 今晚, "tonight", "noon");
  it is not guessed from a clock time.
* **Several different dates / times / parts** ("周一到周五", "明天或者后天", "明天周五"
  on a Wednesday): the last one said is kept and ``ambiguous`` is
  ``"several_dates"`` / ``"several_times"``.
* **Today, but already over** (今天上午九点 at 10:00, "this morning" in the afternoon):
  ``ambiguous="past_time"``. A time with no date is never flagged.
* Lunar dates (初一, 腊月二十三, 农历十月十五) are not converted: ``lunar_date``.
  Repetition (每周三, 每天, "every Monday") gives ``recurring`` (a weekday alone is
  still resolved as above).
* When several reasons apply the first of :data:`REASONS` is reported.
"""

from __future__ import annotations

import calendar
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta

from care.numbers import chinese_number, parse_quantity
from care.when_common import PART_END_HOUR, Item, hour24, normalise, scan_numeric
from care.when_en import scan_en
from care.when_zh import scan_zh

__all__ = ["When", "parse_when", "parse_quantity", "chinese_number", "REASONS", "PARTS_OF_DAY"]

PARTS_OF_DAY = ("morning", "noon", "afternoon", "evening")
# Every value ``When.ambiguous`` can take, most important first.
REASONS = (
    "invalid_date",
    "past_date",
    "several_dates",
    "week_without_day",
    "month_without_day",
    "lunar_date",
    "recurring",
    "several_times",
    "past_time",
)

Span = tuple[int, int]


@dataclass(frozen=True)
class When:
    """What a text says about when; every field ``None`` when nothing was understood.

    ``spans`` are the character ranges of ``text`` that were understood;
    ``date_span`` … ``ambiguous_span`` cover the pieces behind each field.
    """

    date: date | None = None
    time: time | None = None
    part_of_day: str | None = None
    ambiguous: str | None = None
    spans: tuple[Span, ...] = ()
    date_span: Span | None = None
    time_span: Span | None = None
    part_span: Span | None = None
    ambiguous_span: Span | None = None

    @property
    def is_empty(self) -> bool:
        return (
            self.date is None
            and self.time is None
            and self.part_of_day is None
            and (self.ambiguous is None)
        )


def parse_when(text: str, now: datetime) -> When:
    """Read the date, time and part of the day in ``text`` (Chinese or English) at ``now``."""
    norm, index = normalise(text)
    items = _select(scan_numeric(norm) + scan_zh(norm) + scan_en(norm))
    if not items:
        return When()

    def span(*pieces: Item) -> Span:
        return index[min(p.start for p in pieces)], index[max(p.end for p in pieces) - 1] + 1

    reasons: dict[str, Span] = {}
    for item in items:
        if item.reason:
            reasons.setdefault(item.reason, span(item))

    # Parts of the day and clock times.
    parts = [i for i in items if i.part]
    part_item = parts[-1] if parts else None
    if len({i.part for i in parts}) > 1:
        reasons.setdefault("several_times", span(*parts))
    times: list[tuple[time, Item]] = []
    near_parts = _Parts([p for p in parts if p.hour is None])
    for item in (i for i in items if i.hour is not None):
        meridiem, part = item.meridiem, item.part
        if meridiem is None and part is None:
            near = near_parts.nearest(item)
            meridiem, part = (near.meridiem, near.part) if near else (None, None)
        times.append((time(hour24(item.hour or 0, meridiem, part), item.minute), item))
    if len({t for t, _ in times}) > 1:
        reasons.setdefault("several_times", span(*(i for _, i in times)))
    said_time = times[-1][0] if times else None
    said_part = part_item.part if part_item else None

    today = now.date()

    def passed(day: date) -> bool:
        if day != today:
            return False
        if said_time is not None:
            return said_time < time(now.hour, now.minute)
        return said_part is not None and PART_END_HOUR[said_part] <= now.hour

    # Dates: 下周 / 下个月 alone "hold" a week / month for a weekday / day said apart.
    dated = [i for i in items if i.is_date]
    week_holder = next((i for i in dated if i.week_offset is not None and i.weekday is None), None)
    month_holder = next(
        (i for i in dated if i.day is None and (i.month_offset is not None or i.month is not None)),
        None,
    )
    used: set[int] = set()
    dates: list[tuple[date, Span]] = []
    for item in dated:
        if item is week_holder or item is month_holder:
            continue
        pieces = [item]
        if item.weekday is not None and item.week_offset is None and week_holder:
            item = replace(item, week_offset=week_holder.week_offset)
            pieces.append(week_holder)
            used.add(id(week_holder))
        if item.day is not None and item.month is None and item.month_offset is None:
            if month_holder:
                item = replace(
                    item,
                    month=month_holder.month,
                    month_offset=month_holder.month_offset,
                    year=month_holder.year,
                    year_offset=month_holder.year_offset,
                )
                pieces.append(month_holder)
                used.add(id(month_holder))
        day, reason = _resolve(item, today, passed)
        if reason:
            reasons.setdefault(reason, span(*pieces))
        if day is not None:
            dates.append((day, span(*pieces)))
    for holder, reason in ((week_holder, "week_without_day"), (month_holder, "month_without_day")):
        if holder is not None and id(holder) not in used:
            offset = holder.week_offset if holder is week_holder else holder.month_offset
            reasons.setdefault("past_date" if (offset or 0) < 0 else reason, span(holder))
    if len({d for d, _ in dates}) > 1:
        reasons.setdefault("several_dates", (dates[0][1][0], dates[-1][1][1]))
    said_date = dates[-1][0] if dates else None
    if said_date is not None and passed(said_date):
        reasons.setdefault("past_time", span(*(i for i in items if not i.reason)))

    reason = next((r for r in REASONS if r in reasons), None)
    return When(
        date=said_date,
        time=said_time,
        part_of_day=said_part,
        ambiguous=reason,
        spans=tuple(sorted({span(i) for i in items})),
        date_span=dates[-1][1] if dates else None,
        time_span=span(times[-1][1]) if times else None,
        part_span=span(part_item) if part_item else None,
        ambiguous_span=reasons[reason] if reason else None,
    )


def _select(items: list[Item]) -> list[Item]:
    """Longest pieces first; drop any piece overlapping one already taken; in text order.

    The pieces taken are kept sorted, so each is checked against its neighbours only, not
    against all of them: a long message ("明天下午三点" x 300) made this quadratic.
    """
    keys: list[tuple[int, int]] = []  # (start, end) of the pieces taken, sorted
    ends: list[int] = []  # their ends, in the same order: never decreasing, as they do not overlap
    taken: list[Item] = []
    for item in sorted(items, key=lambda i: (i.start - i.end, i.start)):
        # Of the pieces starting before this one ends, the last to end is the one to check.
        before = bisect_left(keys, (item.end, -1))
        if before and ends[before - 1] > item.start:
            continue
        at = bisect_left(keys, (item.start, item.end))
        keys.insert(at, (item.start, item.end))
        ends.insert(at, item.end)
        taken.append(item)
    return sorted(taken, key=lambda i: i.start)


class _Parts:
    """Parts of the day said, in text order (not overlapping), to find the nearest one."""

    def __init__(self, parts: list[Item]) -> None:
        self.parts = parts
        self.starts = [p.start for p in parts]
        self.ends = [p.end for p in parts]

    def nearest(self, item: Item) -> Item | None:
        """The part of the day said closest to a clock time (one said before it wins a tie):
        the last one ending before it or the first one starting after it."""
        best: tuple[int, int, int] | None = None  # (gap, after, index)
        last = bisect_right(self.ends, item.start) - 1
        if last >= 0:
            first_of_end = bisect_left(self.ends, self.ends[last])
            best = (item.start - self.ends[last], 0, first_of_end)
        after = bisect_left(self.starts, item.end)
        if after < len(self.parts):
            candidate = (self.parts[after].start - item.end, 1, after)
            best = candidate if best is None or candidate < best else best
        return None if best is None else self.parts[best[2]]


def _add_months(year: int, month: int, months: int) -> tuple[int, int]:
    k = year * 12 + (month - 1) + months
    return k // 12, k % 12 + 1


def _make(year: int, month: int, day: int) -> date | None:
    if 1 <= month <= 12 and 1 <= day <= calendar.monthrange(year, month)[1]:
        return date(year, month, day)
    return None


def _resolve(item: Item, today: date, passed) -> tuple[date | None, str | None]:
    """The date one (combined) piece names, and an ambiguity reason if any."""
    day: date | None
    if item.weekday is not None:
        monday = today - timedelta(days=today.weekday())
        if item.weekend and item.week_offset in (None, 0) and today.weekday() == 6:
            day = today
        elif item.week_offset is None:
            day = today + timedelta(days=(item.weekday - today.weekday()) % 7)
            if passed(day):
                day += timedelta(days=7)
        else:
            day = monday + timedelta(days=7 * item.week_offset + item.weekday)
    elif item.day is not None and item.month is not None:
        explicit_year = item.year is not None or item.year_offset is not None
        year = item.year if item.year is not None else today.year + (item.year_offset or 0)
        day = _make(year, item.month, item.day)
        if day is None:
            return None, "invalid_date"
        if not explicit_year and day < today and (today - day).days > 183:
            day = _make(year + 1, item.month, item.day)
            if day is None:
                return None, "invalid_date"
    elif item.day is not None:
        offset = item.month_offset
        if offset is None:
            offset = 0 if item.day >= today.day else 1
        year, month = _add_months(today.year, today.month, offset)
        day = _make(year, month, item.day)
        if day is None:
            return None, "invalid_date"
    elif item.day_offset is not None:
        day = today + timedelta(days=item.day_offset)
    else:
        return None, None
    return day, ("past_date" if day < today else None)
