"""The meal booking form: date, lunch or dinner, dine-in or delivery, read back, then book.

Thin on purpose: understanding dates lives in care/when.py (via the WhenExtractor
entities), capacity and rules in care/booking.py. One question at a time; the
booking is read back in full and only made after a yes.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.asking import AsksName, correction_instead_of_no, date_not_understood
from actions.dates import checked_day
from actions.menu import dish_line
from actions.parsed import entity
from actions.runtime import CareMixin
from actions.say import YES_NO, day_en, day_zh, describe_booking, full_day_zh
from care.choices import ordinal
from care.errors import CareError, SlotFull

log = logging.getLogger(__name__)

FORM_SLOTS = ("meal_date", "meal", "dining", "meal_confirmed")
MEAL_BY_PART = {"noon": "lunch", "evening": "dinner"}


def meal_code(tracker: Tracker) -> str:
    """The catalogue slot the answers point at, e.g. meal:2026-11-26:lunch:delivery."""
    meal, dining = tracker.get_slot("meal"), tracker.get_slot("dining")
    return f"meal:{tracker.get_slot('meal_date')}:{meal}:{dining}"


def quantity(tracker: Tracker) -> int:
    return int(float(tracker.get_slot("meal_quantity") or 1))


def by_number(tracker: Tracker, slot: str, choices: tuple[str, ...]) -> dict[str, Any]:
    """ "1" / "第二个" for the buttons just shown (channels show them as a numbered list)."""
    if tracker.get_slot("requested_slot") != slot:
        return {}
    n = ordinal(str(tracker.latest_message.get("text") or ""), len(choices))
    return {slot: choices[n - 1]} if n else {}


class ValidateMealForm(AsksName, CareMixin, FormValidationAction):
    def name(self) -> str:
        return "validate_meal_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        # Someone we do not know yet is asked their name once, before the read-back.
        if self.cannot_book_for_anyone(tracker):
            return []  # action_book_meal explains how to link first
        if self.person(tracker) is not None:
            return [slot for slot in domain_slots if slot != "elder_name"]
        return domain_slots

    async def extract_meal_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return date_not_understood(dispatcher, tracker, "meal_date")

    async def extract_meal_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return correction_instead_of_no(tracker, "meal_confirmed")

    async def extract_meal(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        # "中午" / "晚上" say which meal as well as any word for lunch would.
        if tracker.get_slot("meal") or entity(tracker, "meal"):
            return {}
        meal = MEAL_BY_PART.get(entity(tracker, "part_of_day") or "")
        return {"meal": meal} if meal else by_number(tracker, "meal", ("lunch", "dinner"))

    async def extract_dining(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        if tracker.get_slot("dining") or entity(tracker, "dining"):
            return {}
        return by_number(tracker, "dining", ("dine_in", "delivery"))

    async def validate_meal_date(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        day = checked_day(
            self.care, self.today(), dispatcher, tracker, value, "meal", "utter_no_meals_that_day"
        )
        if day is None:
            return {"meal_date": None}
        return {"meal_date": day.isoformat()}

    async def validate_meal(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        # Not every day has both meals (no dinner on Saturdays in the demo centre).
        raw = tracker.get_slot("meal_date")
        if not raw or value not in ("lunch", "dinner"):
            return {"meal": value}
        day = date.fromisoformat(raw)
        served = {s.details.get("meal") for s in self.care.bookings.availability(
            "meal", day, day, include_full=True
        )}  # fmt: skip
        if value not in served:
            today = self.today()
            dispatcher.utter_message(
                response=f"utter_no_{value}_that_day",
                day=day_zh(day, today),
                day_en=day_en(day, today),
            )
            return {"meal": None}
        return {"meal": value}

    async def validate_meal_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if value is True:
            return {"meal_confirmed": True}
        changed = {n for n in ("date", "meal", "dining") if entity(tracker, n)}
        if changed:  # "不对，是后天": keep the correction, read back again
            return {"meal_confirmed": None}
        dispatcher.utter_message(response="utter_start_again")
        return {slot: None for slot in FORM_SLOTS}


class ActionAskMealConfirmed(CareMixin, Action):
    """The read-back: date with weekday, which meal, where, how many — then wait for yes."""

    def name(self) -> str:
        return "action_ask_meal_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        day = date.fromisoformat(tracker.get_slot("meal_date"))
        today = self.today()
        slot = self.care.bookings.slot_by_code(meal_code(tracker))
        local = slot.starts_at.astimezone(self.care.tz)
        language = tracker.get_slot("language") or "zh"
        dispatcher.utter_message(
            response=f"utter_readback_{tracker.get_slot('meal')}_{tracker.get_slot('dining')}",
            day=full_day_zh(day, today),
            day_en=f"{day:%A} {day.day} {day:%B}",
            time=f"{local:%H:%M}",
            quantity=quantity(tracker),
            dishes=("、" if language == "zh" else ", ").join(
                dish_line(d, language) for d in slot.details.get("menu") or []
            ),
            buttons=YES_NO,
            **self.for_whom(tracker),
        )
        return []


class ActionBookMeal(CareMixin, Action):
    def name(self) -> str:
        return "action_book_meal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset = [SlotSet(slot, None) for slot in (*FORM_SLOTS, "meal_quantity", "elder_name")]
        if tracker.get_slot("meal_confirmed") is not True:
            self.booking_party(tracker, dispatcher)  # a relative with no link hears why
            return reset
        channel = self.channel(tracker)
        key = self.request_key(tracker)
        try:
            who = self.booking_party(tracker, dispatcher)
            if who is None:
                return reset
            slot = self.care.bookings.slot_by_code(meal_code(tracker))
            booking = self.care.bookings.book(
                who.elder_id,
                slot.id,
                who.actor,
                channel,
                idempotency_key=key,
                quantity=quantity(tracker),
            )
        except SlotFull as full:
            alt = full.alternatives[0] if full.alternatives else None
            if alt is not None:
                dispatcher.utter_message(
                    response="utter_meal_full_alternative",
                    day=day_zh(alt.date, self.today()),
                    day_en=day_en(alt.date, self.today()),
                )
            else:
                dispatcher.utter_message(response="utter_meal_full")
            return reset
        except CareError as refused:
            self.explain_refusal(dispatcher, refused, "meal")
            return reset
        today, tz = self.today(), self.care.tz
        self.tell_elder(who, booking, lambda lang: describe_booking(booking, lang, today, tz))
        dispatcher.utter_message(response="utter_meal_booked")
        return reset
