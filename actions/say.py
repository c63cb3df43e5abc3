"""How dates are said to people: 今天/明天/后天 and "tomorrow" before calendar dates."""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Any, Optional

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


MEAL_ZH = {"lunch": "午饭", "dinner": "晚饭"}
OPTION_ZH = {"dine_in": "在食堂吃", "delivery": "送到家", "morning": "上午", "afternoon": "下午",
             "full_day": "全天"}  # fmt: skip
OPTION_EN = {"dine_in": "at the canteen", "delivery": "delivered home", "morning": "morning",
             "afternoon": "afternoon", "full_day": "full day"}  # fmt: skip


def describe_booking(booking: Any, language: str, today: date, tz: tzinfo) -> str:
    """One line a person can check: what, which day (with weekday), when, where or with whom."""
    return describe_slot(
        booking.slot,
        language,
        today,
        tz,
        pickup=booking.details.get("pickup"),
        waiting=booking.status == "waitlisted",
    )


def describe_slot(
    slot: Any,
    language: str,
    today: date,
    tz: tzinfo,
    pickup: Optional[dict[str, Any]] = None,
    waiting: bool = False,
) -> str:
    local = slot.starts_at.astimezone(tz)
    d, opt = slot.details, slot.option
    if language == "en":
        when = f"{slot.date:%A} {slot.date.day} {slot.date:%B}, {local:%H:%M}"
        what = {
            "meal": f"{str(d.get('meal', '')).capitalize()} {OPTION_EN.get(opt, '')}",
            "day_care": f"Day care ({OPTION_EN.get(opt, opt)})" + _place(d, "room_en", ", "),
            "clinic": f"{d.get('department_en')} with {d.get('doctor_en')}"
            + _place(d, "room_en", ", "),
            "companion_call": f"A call from {d.get('volunteer_en')}",
        }[slot.service]
        if pickup:
            what += f"; picked up at {pickup.get('time')} at {pickup.get('name_en')}"
        return f"{when}: {what}" + (" (waiting list)" if waiting else "")
    when = f"{full_day_zh(slot.date, today)} {local:%H:%M}"
    what = {
        "meal": f"{MEAL_ZH.get(str(d.get('meal')), '')}，{OPTION_ZH.get(opt, '')}",
        "day_care": f"日托（{OPTION_ZH.get(opt, opt)}）" + _place(d, "room", "，"),
        "clinic": f"{d.get('department')}，{d.get('doctor')}医生" + _place(d, "room", "，"),
        "companion_call": f"志愿者{d.get('volunteer')}给您打电话",
    }[slot.service]
    if pickup:
        what += f"，{pickup.get('time')}在{pickup.get('name')}接您"
    return f"{when}：{what}" + ("（排队等位）" if waiting else "")


def _place(details: dict[str, Any], key: str, sep: str) -> str:
    return f"{sep}{details[key]}" if details.get(key) else ""


# Every read-back waits for a yes: the buttons work by tap, by number or by voice.
YES_NO = [{"title": "对 / Yes", "payload": "/affirm"}, {"title": "不对 / No", "payload": "/deny"}]


def numbered(bookings: list[Any], language: str, today: date, tz: tzinfo) -> str:
    return "\n".join(
        f"{i}. {describe_booking(b, language, today, tz)}" for i, b in enumerate(bookings, 1)
    )


def buttons(options: list[Any], language: str) -> list[dict[str, str]]:
    """Numbered choices; the payload names the exact choice, so a tap never depends on order."""
    return [
        {
            "title": f"{i}. {o.label_en if language == 'en' else o.label_zh}",
            "payload": f'/inform{{"choice":"{o.code}"}}',
        }
        for i, o in enumerate(options, 1)
    ]
