"""Choices offered one screen at a time, and which one a person meant.

Elders answer a list of choices by tapping, by number ("2", "第二个", "the
second one"), by time ("九点那个"), by name ("王大夫", "Emily") or by period
("上午", "full day"). Pure functions over ``SlotRecord``s: no database, no Rasa.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import tzinfo
from typing import Iterable, Optional

from care.numbers import parse_number
from care.records import SlotRecord

PERIOD_ZH = {"morning": "上午", "afternoon": "下午", "full_day": "全天"}
PERIOD_EN = {"morning": "morning", "afternoon": "afternoon", "full_day": "full day"}
PERIOD_WORDS = {
    "morning": ("上午", "早上", "早晨", "半天上午", "morning"),
    "afternoon": ("下午", "后晌", "晌午后", "afternoon"),
    "full_day": ("全天", "一整天", "整天", "一天", "全日", "full day", "whole day", "all day"),
}
# How many choices fit on one screen, or in one breath on the phone.
MAX_OPTIONS = 4
NEAR_MINUTES = 120


@dataclass(frozen=True)
class Option:
    code: str
    label_zh: str
    label_en: str
    start: str  # HH:MM, local
    keys: tuple[str, ...] = ()
    waitlist: bool = False


def option_of(slot: SlotRecord, tz: tzinfo, waitlist: bool = False) -> Option:
    """One line per choice: what a person needs to tell it from the others."""
    start = slot.starts_at.astimezone(tz)
    end = slot.ends_at.astimezone(tz)
    d = slot.details
    hm = f"{start:%H:%M}"
    if slot.service == "day_care":
        zh = f"{PERIOD_ZH.get(slot.option, slot.option)} {hm}-{end:%H:%M}"
        en = f"{PERIOD_EN.get(slot.option, slot.option).capitalize()}, {hm}-{end:%H:%M}"
        keys = PERIOD_WORDS.get(slot.option, ())
    elif slot.service == "clinic":
        zh = f"{hm} {d.get('department')} {d.get('doctor')}医生"
        en = f"{hm} {d.get('department_en')}, {d.get('doctor_en')}"
        doctor = str(d.get("doctor") or "")
        keys = _names(doctor, str(d.get("doctor_en") or "")) + (
            str(d.get("department") or ""),
            str(d.get("department_en") or "").lower(),
        )
    elif slot.service == "companion_call":
        likes = "、".join(d.get("interests") or []) or "聊天"
        zh = f"{hm} 志愿者{d.get('volunteer')}（爱好：{likes}）"
        hobbies = ", ".join(d.get("interests_en") or []) or "a chat"
        en = f"{hm} {d.get('volunteer_en')} (likes {hobbies})"
        keys = _names(str(d.get("volunteer") or ""), str(d.get("volunteer_en") or ""))
    else:
        zh, en, keys = hm, hm, ()
    if waitlist:
        zh, en = f"排队等 {zh}", f"Waiting list for {en}"
    return Option(slot.code, zh, en, hm, tuple(k for k in keys if k), waitlist)


def _names(zh: str, en: str) -> tuple[str, ...]:
    """王淑芬 → 王淑芬, 淑芬, 王大夫, 王医生, 王老师; "Dr Wang Shufen" → wang shufen, wang."""
    keys: list[str] = []
    if zh:
        keys += [zh, zh[1:] if len(zh) > 2 else zh]
        keys += [zh[0] + title for title in ("大夫", "医生", "老师", "姐", "哥")]
        keys += ["小" + zh[0]]
    words = [w for w in re.split(r"[\s.]+", en.lower()) if w and w not in ("dr", "mr", "ms")]
    if words:
        keys += [" ".join(words), words[0], words[-1]]
    return tuple(keys)


def offer(
    slots: Iterable[SlotRecord],
    tz: tzinfo,
    *,
    time: Optional[str] = None,
    part_of_day: Optional[str] = None,
    limit: int = MAX_OPTIONS,
) -> list[Option]:
    """A short list: near the time asked for, else spread over the day.

    Clinic and call slots come every 15-30 minutes; a list of fourteen is no
    help to anyone, so take turns: each doctor's or volunteer's earliest free
    time, then each one's next.
    """
    pool = list(slots)
    if part_of_day in ("morning", "afternoon", "evening", "noon"):
        wanted = [s for s in pool if _part(s, tz) == part_of_day or s.option == part_of_day]
        pool = wanted or pool
    if time:
        hh, mm = (int(x) for x in time.split(":"))
        minutes = hh * 60 + mm

        def distance(s: SlotRecord) -> int:
            local = s.starts_at.astimezone(tz)
            return abs(local.hour * 60 + local.minute - minutes)

        pool.sort(key=lambda s: (distance(s), s.starts_at, s.id))
        # Near the wish only; far-off times only when nothing is near.
        near = [s for s in pool if distance(s) <= NEAR_MINUTES]
        chosen = (near or pool)[:limit]
    else:
        pool.sort(key=lambda s: (s.starts_at, s.id))
        turn: dict[str, int] = {}
        ranked = []
        for s in pool:  # round robin: each doctor / volunteer's first time, then second ...
            who = _who(s)
            turn[who] = turn.get(who, -1) + 1
            ranked.append((turn[who], s.starts_at, s.id, s))
        chosen = [r[-1] for r in sorted(ranked, key=lambda r: r[:3])[:limit]]
    chosen.sort(key=lambda s: (s.starts_at, s.id))
    return [option_of(s, tz) for s in chosen]


def _who(slot: SlotRecord) -> str:
    d = slot.details
    return str(d.get("doctor") or d.get("volunteer_code") or slot.option)


def _part(slot: SlotRecord, tz: tzinfo) -> str:
    hour = slot.starts_at.astimezone(tz).hour
    return "morning" if hour < 12 else "afternoon" if hour < 18 else "evening"


ORDINAL = re.compile(
    r"^(?:第|number\s*|no\.?\s*|选|要|the\s+)?"
    r"(\d{1,2}|[一二两三四五六七八九十]|one|two|three|four|five|six|seven|eight|nine|"
    r"first|second|third|fourth|fifth|last|最后)"
    r"\s*(?:一?个|号|项|条|种|one|option|choice)?\s*(?:吧|呗|啊|呀|的|那个|please)?[.。!！]?$",
    re.IGNORECASE,
)
_ORDINAL_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
# Said before a choice, not part of it: "and, number one" (a phone line's "and" or "um"
# as Whisper writes it), "嗯，第二个".
LEAD = re.compile(
    r"^(?:(?:and|so|um+|uh+|hum+|hm+|er+|ah+|oh|ok|okay|well|嗯+|呃+|啊+|那就|那)[\s,.，。、]*)+",
    re.IGNORECASE,
)


def ordinal(text: str, count: int) -> Optional[int]:
    """ "2", "第二个", "the second one", "最后一个" → a 1-based index, if in range."""
    said = LEAD.sub("", unicodedata.normalize("NFKC", text).strip().lower())
    found = ORDINAL.match(said)
    if not found:
        return None
    word = found.group(1)
    if word in ("last", "最后"):
        n: Optional[int] = count
    else:
        n = _ORDINAL_WORDS.get(word) or parse_number(word)
    return n if n is not None and 1 <= n <= count else None


# Said around a choice, not part of it: "东门吧", "在那个东门的".
FILLER = re.compile(r"[\s,.!?，。！？、]|吧|呗|啊|呀|的|那个|就|在|要|选|please|the|one")


def pick(
    options: list[Option],
    text: str = "",
    *,
    code: Optional[str] = None,
    time: Optional[str] = None,
    part_of_day: Optional[str] = None,
) -> Optional[Option]:
    """The one option meant, or None when nothing (or more than one) fits."""
    if not options:
        return None
    if code:
        return next((o for o in options if o.code == code), None)
    n = ordinal(text, len(options))
    if n is not None:
        return options[n - 1]
    lowered = text.lower()
    core = FILLER.sub("", lowered)
    named = [
        o
        for o in options
        if any(k.lower() in lowered or (len(core) >= 2 and core in k.lower()) for k in o.keys)
    ]
    if time:
        timed = [o for o in (named or options) if o.start == time]
        if len(timed) == 1:
            return timed[0]
    if len(named) == 1:
        return named[0]
    if not named:
        partly = _best_overlap(options, core)
        if partly is not None:
            return partly
    if part_of_day and not named:
        periods = [o for o in options if part_of_day in o.code.split(":")]
        if len(periods) == 1:
            return periods[0]
    return None


def _best_overlap(options: list[Option], said: str) -> Optional[Option]:
    """ "在东门上车" → "花园小区东门": the one option sharing the longest piece — two
    Chinese characters, or four letters ("east"): two letters ("an") are in everything."""
    best: dict[int, list[Option]] = {}
    for o in options:
        score = max((_common(k.lower(), said) for k in o.keys), default=0)
        best.setdefault(score, []).append(o)
    top = max(best)
    return best[top][0] if top >= 2 and len(best[top]) == 1 else None


def _common(a: str, b: str) -> int:
    """Length of the longest common substring (keys and answers are short); a piece of
    Latin letters counts only from four ("and" from "and, number one" is no stop)."""
    longest, piece = 0, ""
    for i in range(len(a)):
        for j in range(i + longest + 1, len(a) + 1):
            if a[i:j] in b:
                longest, piece = j - i, a[i:j]
            else:
                break
    if piece.isascii() and longest < 4:
        return 0
    return longest
