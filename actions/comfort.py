"""``feeling_lonely`` / ``feeling_sad``: a warm word by name, something real to do, mood logged."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import CareMixin
from actions.say import day_en, day_zh

log = logging.getLogger(__name__)


class ActionComfort(CareMixin, Action):
    def name(self) -> str:
        return "action_comfort"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        care = self.care
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        mood = "lonely" if intent == "feeling_lonely" else "sad"
        language = tracker.get_slot("language") or "zh"
        channel = self.channel(tracker)
        try:
            result = care.comfort.record(channel, self.external_id(tracker), mood)
        except Exception:  # a kind word must not depend on the database
            log.exception("could not record mood")
            dispatcher.utter_message(response=f"utter_comfort_{mood}")
            return []
        person = result.person
        if person is not None:
            dispatcher.utter_message(response=f"utter_comfort_{mood}_named", name=person.name)
        else:
            dispatcher.utter_message(response=f"utter_comfort_{mood}")
        today = self.today()
        idea = care.comfort.suggest(person, language, today)
        if idea.call is not None:
            local = idea.call.starts_at.astimezone(care.tz)
            dispatcher.utter_message(
                response="utter_suggest_call_interest"
                if idea.shared_interest
                else "utter_suggest_call",
                volunteer=idea.call.details["volunteer"],
                volunteer_en=idea.call.details["volunteer_en"],
                interest=idea.shared_interest or "",
                day=day_zh(local.date(), today),
                day_en=day_en(local.date(), today),
                time=f"{local:%H:%M}",
            )
        if idea.activity is not None:
            when = date.fromisoformat(idea.activity["date"])
            dispatcher.utter_message(
                response="utter_suggest_activity",
                activity=idea.activity["name"],
                day=day_zh(when, today),
                day_en=day_en(when, today),
                time=idea.activity["start"],
            )
        return []
