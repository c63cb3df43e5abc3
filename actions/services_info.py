"""``ask_services``: what the centre offers, with real free places from the catalogue."""

from __future__ import annotations

from datetime import date
from typing import Any, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from care.overview import overview
from care.services import CareServices

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


class ActionListServices(Action):
    def __init__(self, care: Optional[CareServices] = None) -> None:
        self._care = care

    def name(self) -> str:
        return "action_list_services"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        care = self._care or runtime.services()
        today = care.clock().astimezone(care.tz).date()
        o = overview(care, today)
        dispatcher.utter_message(
            response="utter_services_overview",
            centre=o.centre or "安心",
            centre_en=o.centre_en or "Anxin",
            lunch_day=day_zh(o.lunch_day, today),
            lunch_day_en=day_en(o.lunch_day, today),
            lunch_seats=o.lunch_seats,
            day_care_day=day_zh(o.day_care_day, today),
            day_care_day_en=day_en(o.day_care_day, today),
            day_care_places=o.day_care_places,
            clinic_day=day_zh(o.clinic_day, today),
            clinic_day_en=day_en(o.clinic_day, today),
            departments="、".join(o.clinic_departments) or "暂时没有号",
            departments_en=", ".join(o.clinic_departments_en) or "no free appointments",
            volunteers=o.volunteers,
        )
        return []


class ActionNotYet(Action):
    """Booking flows are being built (issue 3): until then, say so and give the hotline."""

    def __init__(self, care: Optional[CareServices] = None) -> None:
        self._care = care

    def name(self) -> str:
        return "action_not_yet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        care = self._care or runtime.services()
        dispatcher.utter_message(
            response="utter_not_yet", centre_hotline=care.settings.centre_hotline
        )
        return []
