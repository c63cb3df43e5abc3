"""Emergency, crisis and "a person, please": reply at once, then alert staff and family.

The first words (call 120) never depend on the database: if recording the alert
fails, the person still hears what to do now, and the centre's hotline.
"""

from __future__ import annotations

import abc
import logging
import re
from typing import Any, Mapping

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import CareMixin
from actions.say import day_en, full_day_zh

log = logging.getLogger(__name__)


def _said(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


class _SafetyAction(CareMixin, Action, abc.ABC):
    """Shared parts; abstract, so rasa-sdk does not register it as an action itself."""

    @abc.abstractmethod
    def name(self) -> str: ...

    def numbers(self) -> dict[str, str]:
        settings = self.care.settings
        return {
            "ambulance": settings.ambulance,
            "crisis_hotline": settings.crisis_hotline,
            "centre_hotline": settings.centre_hotline,
        }

    def stop_any_form(self) -> list[EventType]:
        # Safety interrupts whatever was being asked: no half-filled form resumes by itself.
        return [ActiveLoop(None), SlotSet("requested_slot", None)]


class ActionEmergency(_SafetyAction):
    def name(self) -> str:
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        numbers = self.numbers()
        dispatcher.utter_message(response="utter_emergency_call_now", **numbers)
        try:
            outcome = self.care.safety.emergency(
                self.channel(tracker), self.external_id(tracker), _said(tracker)
            )
        except Exception:  # the person must still be told who to call
            log.exception("could not record an emergency alert")
            dispatcher.utter_message(response="utter_emergency_alert_failed", **numbers)
            return self.stop_any_form()
        dispatcher.utter_message(
            response="utter_emergency_staff_told_family"
            if outcome.family_notified
            else "utter_emergency_staff_told",
            **numbers,
        )
        return self.stop_any_form()


class ActionCrisis(_SafetyAction):
    def name(self) -> str:
        return "action_crisis"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        numbers = self.numbers()
        dispatcher.utter_message(response="utter_crisis", **numbers)
        try:
            self.care.safety.crisis(
                self.channel(tracker), self.external_id(tracker), _said(tracker)
            )
        except Exception:
            log.exception("could not record a crisis alert")
        dispatcher.utter_message(response="utter_crisis_offer_person", **numbers)
        return self.stop_any_form()


class ActionHandoff(_SafetyAction):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        numbers = self.numbers()
        try:
            self.care.safety.handoff(
                self.channel(tracker), self.external_id(tracker), _said(tracker)
            )
        except Exception:
            log.exception("could not record a hand-off alert")
            dispatcher.utter_message(response="utter_handoff_failed", **numbers)
            return self.stop_any_form()
        local = self.care.clock().astimezone(self.care.tz)
        hours = self.care.staff_hours
        if hours.open_at(local):
            dispatcher.utter_message(response="utter_handoff", **numbers)
        else:  # nobody at the centre now: say when someone will be
            back = hours.next_opening(local)
            dispatcher.utter_message(
                response="utter_handoff_after_hours",
                when=f"{full_day_zh(back.date(), local.date())} {back:%H:%M}",
                when_en=f"{day_en(back.date(), local.date())} at {back:%H:%M}",
                **numbers,
            )
        return [*self.stop_any_form(), SlotSet("handed_off", True)]


# Below the fallback threshold we would normally just ask again. But "我这胸口…" cut off
# by a shaky voice line must not get "please say that again" if it smells like an emergency.
SAFETY_NET = {"emergency": 0.25, "crisis": 0.25}


WHEN_ENTITIES = ("date", "time", "part_of_day", "quantity")
FILLER = re.compile(r"o'?clock|please|the|one|at|on|is|it|[\W\d_]|点|号|个|那|的|吧|钟|半", re.I)


def only_when(message: Mapping[str, Any]) -> bool:
    """ "9 o'clock", "10号": an answer about time, not a cry for help, whatever its guess."""
    text = str(message.get("text") or "")
    spans = sorted(
        (int(e.get("start") or 0), int(e.get("end") or 0))
        for e in message.get("entities") or []
        if e.get("entity") in WHEN_ENTITIES and e.get("end")
    )
    for start, end in reversed(spans):
        text = text[:start] + " " + text[end:]
    return bool(spans) and not FILLER.sub("", text).strip()


# What an elder most often wants, one tap (or one number) away.
MAIN_MENU = [
    {"title": "订饭 / Meals", "payload": "/book_meal"},
    {"title": "日托 / Day care", "payload": "/book_day_care"},
    {"title": "看病 / Clinic", "payload": "/book_clinic"},
    {"title": "陪我聊聊 / A call", "payload": "/book_companion_call"},
    {"title": "我的预约 / My bookings", "payload": "/list_bookings"},
    {"title": "找工作人员 / A person", "payload": "/request_human"},
]
PERSON_OR_NOT = [
    {"title": "请工作人员来 / Yes, a person", "payload": "/request_human"},
    {"title": "不用 / No, thanks", "payload": "/deny"},
]


def misses_in_a_row(events: list[dict[str, Any]]) -> int:
    """How many of the latest user messages in a row were not understood."""
    count = 0
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != "nlu_fallback":
            break
        count += 1
    return count


class ActionSafeFallback(_SafetyAction):
    def name(self) -> str:
        return "action_safe_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        ranking = tracker.latest_message.get("intent_ranking") or []
        top: dict[str, Any] = next((r for r in ranking if r.get("name") != "nlu_fallback"), {})
        threshold = SAFETY_NET.get(top.get("name", ""))
        confident = threshold is not None and float(top.get("confidence") or 0) >= threshold
        if confident and not only_when(tracker.latest_message):
            action = ActionEmergency if top["name"] == "emergency" else ActionCrisis
            return await action(self._care).run(dispatcher, tracker, domain)
        if misses_in_a_row(tracker.events) >= 2:  # twice lost: offer a person, not a third try
            dispatcher.utter_message(response="utter_offer_person", buttons=PERSON_OR_NOT)
        else:
            dispatcher.utter_message(response="utter_please_rephrase", buttons=MAIN_MENU)
        return []
