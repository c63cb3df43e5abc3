"""``ask_menu``: what the canteen cooks on a day, with diet tags, even mid-booking."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.parsed import entity
from actions.runtime import CareMixin
from actions.say import day_en, day_zh

TAGS_ZH = {"low-salt": "少盐", "low-sugar": "控糖", "soft": "软烂", "low-fat": "少油",
           "vegetarian": "素", "halal": "清真"}  # fmt: skip
MEALS_ZH = {"lunch": "午饭", "dinner": "晚饭"}


def dish_line(dish: dict[str, Any], language: str) -> str:
    tags = dish.get("tags", [])
    if language == "en":
        return dish["name_en"] + (f" ({', '.join(tags)})" if tags else "")
    return dish["name"] + (f"（{'、'.join(TAGS_ZH.get(t, t) for t in tags)}）" if tags else "")


class ActionShowMenu(CareMixin, Action):
    def name(self) -> str:
        return "action_show_menu"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        care = self.care
        language = tracker.get_slot("language") or "zh"
        today = self.today()
        said = entity(tracker, "date") or tracker.get_slot("meal_date")
        first = date.fromisoformat(said) if said else today
        wanted = entity(tracker, "meal") or tracker.get_slot("meal")
        # No date said: the next day the canteen cooks (today's lunch may be over).
        for offset in range(1 if said else 7):
            day = first + timedelta(days=offset)
            meals = [
                s
                for s in care.bookings.availability("meal", day, day, include_full=True)
                if s.option == "dine_in" and (wanted is None or s.details.get("meal") == wanted)
            ]
            if meals:
                break
        if not meals:
            dispatcher.utter_message(
                response="utter_no_menu", day=day_zh(first, today), day_en=day_en(first, today)
            )
            return []
        for slot in meals:
            meal = slot.details["meal"]
            dishes = "、" if language == "zh" else ", "
            dispatcher.utter_message(
                response="utter_menu",
                day=day_zh(day, today),
                day_en=day_en(day, today),
                meal=MEALS_ZH[meal] if language == "zh" else meal,
                dishes=dishes.join(dish_line(d, language) for d in slot.details["menu"]),
            )
        return []
