"""Chinese dates and times for :mod:`care.when` (finding only, no resolution).

Understood (also without punctuation, as voice transcripts come, and with the
Northeastern 今儿个 / 明儿个 / 后儿个 / 头午 / 后晌 / 晌午 / 傍黑):

* relative days: 大前天 前天 昨天 今天 明天 后天 大后天, 今儿(个) 明儿(个) 后儿(个), 今早 今晚
  明早 明晚 昨晚, "三天后";
* weekdays: 周三 星期三 礼拜三 周日/星期天, with 这/本/下/下下/上 (个), 周末 / 下周末;
  下周 / 这周 alone; 每周三 / 每天 (recurring);
* days of the month: 28号 28日 二十八号, 11月28号 十一月二十八日 11月28, 2027年1月3日, 明年1月3号,
  这个月28号 本月28号 下个月3号 下月3号, 12月 / 下个月 alone; 农历 / 初一 / 腊月 (lunar,
  reported, not converted);
* parts of the day: 上午 早上 早晨 清早 一早 凌晨 中午 晌午 下午 午后 晚上 傍晚 夜里 半夜 …;
* clock times: 十点 十点半 十点一刻 两点三刻 三点四十(分) 三点零五 12点 十二点整 10时30分
  十点差五分 (9:55). 一点 is not a time in 快一点 / 一点儿 / 一点点 ("a little").
"""

from __future__ import annotations

import re

from care.numbers import CN_NUM, chinese_number
from care.when_common import Item

__all__ = ["scan_zh"]

_NUM = rf"(?:\d{{1,2}}|{CN_NUM})"
_NOT_AFTER_NUM = r"(?<![\d零〇一二两三四五六七八九十第几每])"

_REL_DAYS = {
    "大前天": (-3, None),
    "前天": (-2, None),
    "昨天": (-1, None),
    "昨儿个": (-1, None),
    "昨儿": (-1, None),
    "昨日": (-1, None),
    "昨晚": (-1, "evening"),
    "昨夜": (-1, "evening"),
    "今天": (0, None),
    "今儿个": (0, None),
    "今儿": (0, None),
    "今日": (0, None),
    "今早": (0, "morning"),
    "今晚": (0, "evening"),
    "今夜": (0, "evening"),
    "明天": (1, None),
    "明儿个": (1, None),
    "明儿": (1, None),
    "明日": (1, None),
    "明早": (1, "morning"),
    "明晚": (1, "evening"),
    "后天": (2, None),
    "后儿个": (2, None),
    "后儿": (2, None),
    "大后天": (3, None),
    "大后儿个": (3, None),
}
# 赶明儿 is "some day", 以后儿 / 然后儿 are not days.
_REL_RE = re.compile(
    "(?<![赶以然之最先])(" + "|".join(sorted(_REL_DAYS, key=len, reverse=True)) + ")"
)
_DAYS_LATER = re.compile(rf"{_NOT_AFTER_NUM}({_NUM})(个)?(天|星期|礼拜|周)(?:以后|之后|后)")

_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "末": 5}
_WEEKDAY.update({str(i + 1): i for i in range(7)})
_WEEK_MOD = {"这": 0, "本": 0, "下": 1, "下下": 2, "上": -1, "上上": -2}
_WEEK_RE = re.compile(
    r"(?:(下下|上上|这|本|下|上)个?|(?<![一二两三四五六七八九十几每个\d]))"
    r"(?:周|星期|礼拜|週)([一二三四五六日天末1-7])?(?![点:时\d])"
)
_EVERY_RE = re.compile(r"每(?:个)?(?:(?:周|星期|礼拜)[一二三四五六日天末1-7]?|天|日)|天天")

_MONTH_MOD = {"这": 0, "本": 0, "下": 1, "下下": 2, "上": -1}
_DAY_SUFFIX_GUARD = r"(?!楼|房|床|线|门|单元|病房|室|桌|柜|窗|车|院|厅|机|馆|站|口|药|地铁|公交)"
_DATE_RE = re.compile(
    rf"(?:(\d{{4}})年|(今年|明年))?{_NOT_AFTER_NUM}({_NUM})月份?(?:({_NUM})(号|日)?)?(?![\d])"
    + _DAY_SUFFIX_GUARD
)
_REL_MONTH_RE = re.compile(
    rf"(下下|这|本|下|上)个?月(?:的)?(?:({_NUM})(?:号|日))?{_DAY_SUFFIX_GUARD}"
)
_DAY_RE = re.compile(rf"{_NOT_AFTER_NUM}(?<!月)({_NUM})(号|日)" + _DAY_SUFFIX_GUARD)
_LUNAR_RE = re.compile(
    rf"(?:农历|阴历)(?:{_NUM}月|正月|腊月|冬月)?(?:初?{_NUM})?|(?:正月|腊月|冬月)(?:初?{_NUM})?"
    r"|(?<![当最起年])初[一二三四五六七八九十](?![中次步期级学恋稿])"
)

_PARTS = {
    "上午": "morning",
    "早上": "morning",
    "早晨": "morning",
    "清早": "morning",
    "一早": "morning",
    "大早": "morning",
    "头午": "morning",
    "凌晨": "morning",
    "中午": "noon",
    "晌午": "noon",
    "正午": "noon",
    "午间": "noon",
    "下午": "afternoon",
    "午后": "afternoon",
    "后晌": "afternoon",
    "过晌": "afternoon",
    "晚上": "evening",
    "晚间": "evening",
    "傍晚": "evening",
    "傍黑": "evening",
    "擦黑": "evening",
    "夜里": "evening",
    "夜间": "evening",
    "半夜": "evening",
    "深夜": "evening",
}
_NIGHT = {"凌晨", "夜里", "夜间", "半夜", "深夜"}
_PART_RE = re.compile("|".join(sorted(_PARTS, key=len, reverse=True)))

_MIN = rf"(?:\d{{1,2}}|{CN_NUM})"
_TIME_RE = re.compile(
    rf"{_NOT_AFTER_NUM}({_NUM})(点钟?|时(?![候间辰光代刻]))"
    rf"(?:(半|整|一刻|三刻)|过?({_MIN})(分钟?)?(?!\d)|差({_MIN})分?)?"
)
# After 一点 these say "a little", not one o'clock.
_LITTLE_BEFORE = set(
    "快慢多少早晚大小好有差高低轻重稍热凉软硬淡咸甜近远贵点再来要吃喝加放给买拿带剩这那"
)


def scan_zh(norm: str) -> list[Item]:
    """All Chinese date/time pieces in normalised text."""
    items: list[Item] = []
    for m in _REL_RE.finditer(norm):
        days, part = _REL_DAYS[m[1]]
        items.append(Item(m.start(), m.end(), day_offset=days, part=part))
    for m in _DAYS_LATER.finditer(norm):
        count = chinese_number(m[1])
        if count:
            unit = 1 if m[3] == "天" else 7
            items.append(Item(m.start(), m.end(), day_offset=count * unit))
    for m in _WEEK_RE.finditer(norm):
        offset = _WEEK_MOD[m[1]] if m[1] else None
        if m[2] is None:
            if offset is not None:
                items.append(Item(m.start(), m.end(), week_offset=offset))
            continue
        items.append(
            Item(
                m.start(),
                m.end(),
                weekday=_WEEKDAY[m[2]],
                week_offset=offset,
                weekend=m[2] == "末",
            )
        )
    for m in _EVERY_RE.finditer(norm):
        items.append(Item(m.start(), m.end(), reason="recurring"))
    items.extend(_scan_dates(norm))
    for m in _LUNAR_RE.finditer(norm):
        items.append(Item(m.start(), m.end(), reason="lunar_date"))
    for m in _PART_RE.finditer(norm):
        word = m[0]
        meridiem = "night" if word in _NIGHT and word != "凌晨" else None
        meridiem = "am" if word == "凌晨" else meridiem
        items.append(Item(m.start(), m.end(), part=_PARTS[word], meridiem=meridiem))
    items.extend(_scan_times(norm))
    return items


def _scan_dates(norm: str) -> list[Item]:
    items: list[Item] = []
    for m in _DATE_RE.finditer(norm):
        month = chinese_number(m[3])
        if month is None or not 1 <= month <= 12:
            continue
        day = chinese_number(m[4]) if m[4] else None
        end = m.end()
        if day is None and m[4]:
            end = m.end(3) + 1
        year = int(m[1]) if m[1] else None
        year_offset = {"今年": 0, "明年": 1}.get(m[2] or "")
        items.append(Item(m.start(), end, year=year, year_offset=year_offset, month=month, day=day))
    for m in _REL_MONTH_RE.finditer(norm):
        day = chinese_number(m[2]) if m[2] else None
        items.append(Item(m.start(), m.end(), month_offset=_MONTH_MOD[m[1]], day=day))
    for m in _DAY_RE.finditer(norm):
        # 一日三餐: a single Chinese digit before 日 is not a date.
        if m[2] == "日" and len(m[1]) == 1 and not m[1].isdigit():
            continue
        day = chinese_number(m[1])
        if day:
            items.append(Item(m.start(), m.end(), day=day))
    return items


def _scan_times(norm: str) -> list[Item]:
    items: list[Item] = []
    for m in _TIME_RE.finditer(norm):
        hour = chinese_number(m[1])
        if hour is None or hour > 24:
            continue
        if hour == 1 and not _one_oclock(norm, m):
            continue
        minute, end = 0, m.end()
        if m[3] in ("半", "一刻", "三刻"):
            minute = {"半": 30, "一刻": 15, "三刻": 45}[m[3]]
        elif m[4]:
            value = chinese_number(m[4])
            # 三点四十, 三点零五, 三点5分 are minutes; a bare 三点四 is not.
            spoken = bool(m[5]) or m[4][0] in "零〇" or len(m[4]) == 2 or (value or 0) >= 10
            if value is not None and value < 60 and spoken:
                minute = value
            else:
                end = m.end(2)
        elif m[6]:
            value = chinese_number(m[6])
            if value and value < 60:
                hour, minute = (hour - 1) % 24, 60 - value
            else:
                end = m.end(2)
        items.append(Item(m.start(), end, hour=hour, minute=minute))
    return items


def _one_oclock(norm: str, m: re.Match[str]) -> bool:
    """Is this 一点 / 1点 one o'clock rather than "a little"?"""
    if m[3] or m[4] or m[6] or m[2] != "点":
        return True
    before = norm[m.start() - 1] if m.start() else ""
    after = norm[m.end() : m.end() + 1]
    if _PART_RE.search(norm[max(0, m.start() - 2) : m.start()]):
        return True
    return before not in _LITTLE_BEFORE and after not in ("儿", "点")
