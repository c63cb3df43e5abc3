"""``ask_services``: what the centre offers, with real free places from the catalogue."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import CareMixin
from actions.say import day_en, day_zh
from care.overview import overview


class ActionListServices(CareMixin, Action):
    def name(self) -> str:
        return "action_list_services"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        care = self.care
        today = self.today()
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


class ActionNotYet(CareMixin, Action):
    """Booking flows are being built (issue 3): until then, say so and give the hotline."""

    def name(self) -> str:
        return "action_not_yet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        care = self.care
        dispatcher.utter_message(
            response="utter_not_yet", centre_hotline=care.settings.centre_hotline
        )
        return []
