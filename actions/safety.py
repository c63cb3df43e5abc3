"""Emergency, crisis and "a person, please": reply at once, then alert staff and family.

The first words (call 120) never depend on the database: if recording the alert
fails, the person still hears what to do now, and the centre's hotline.

A possible danger (the NLU's ``safety.level``: anxin/nlu_safety.py) gets those first words
and one short question instead of the alarm, and a ``check`` that escalates by itself if
nobody answers (care/safety.py). The answer comes to ``action_safety_check_answer``
(anxin/policy_safety_check.py sends it there): help needed → the full alarm; "没事" →
closed, with a note for staff and nothing sent to the family.
"""

from __future__ import annotations

import abc
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import CareMixin
from actions.say import day_en, full_day_zh
from care.safety_reading import EMERGENCY, POSSIBLE, read, read_check_answer

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


def _level(tracker: Tracker) -> str:
    """The safety level the NLU read (emergency unless it said possible)."""
    safety = tracker.latest_message.get("safety") or {}
    return POSSIBLE if safety.get("level") == POSSIBLE else EMERGENCY


class ActionEmergency(_SafetyAction):
    def name(self) -> str:
        return "action_emergency"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        check = tracker.get_slot("safety_check")
        if _level(tracker) == POSSIBLE and check is None:
            return self.ask(dispatcher, tracker)
        numbers = self.numbers()
        dispatcher.utter_message(response="utter_emergency_call_now", **numbers)
        try:
            if check is not None:  # the question still open: this is its answer
                outcome = self.care.safety.answer_check(int(check), "help")
            else:
                outcome = None
            if outcome is None:
                outcome = self.care.safety.emergency(
                    self.channel(tracker), self.external_id(tracker), _said(tracker)
                )
        except Exception:  # the person must still be told who to call
            log.exception("could not record an emergency alert")
            dispatcher.utter_message(response="utter_emergency_alert_failed", **numbers)
            return [*self.stop_any_form(), SlotSet("safety_check", None)]
        dispatcher.utter_message(
            response="utter_emergency_staff_told_family"
            if outcome.family_notified
            else "utter_emergency_staff_told",
            **numbers,
        )
        return [*self.stop_any_form(), SlotSet("safety_check", None)]

    def ask(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """Possible danger: call 120 if it is an emergency, and one question; a check that
        escalates by itself if no answer comes."""
        numbers = self.numbers()
        safety = tracker.latest_message.get("safety") or {}
        fall = safety.get("why") == "fall"
        dispatcher.utter_message(
            response="utter_possible_fall" if fall else "utter_possible_unwell", **numbers
        )
        try:
            check = self.care.safety.open_check(
                self.channel(tracker), self.external_id(tracker), _said(tracker)
            )
        except Exception:  # asked all the same; staff cannot be reminded by the timer
            log.exception("could not record a safety check")
            return []
        # The question interrupts a form like an emergency does: its answer is not a slot.
        return [*self.stop_any_form(), SlotSet("safety_check", check.id)]


class ActionSafetyCheckAnswer(_SafetyAction):
    """The answer to the possible-danger question (anxin/policy_safety_check.py)."""

    def name(self) -> str:
        return "action_safety_check_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        numbers = self.numbers()
        check = int(tracker.get_slot("safety_check"))
        said = _said(tracker)
        answer = read_check_answer(said)
        if read(said).level == EMERGENCY:
            answer = "help"
        done: list[EventType] = [SlotSet("safety_check", None), SlotSet("check_asked_again", None)]
        if answer == "unclear" and not tracker.get_slot("check_asked_again"):
            dispatcher.utter_message(response="utter_check_ask_again", **numbers)
            return [SlotSet("check_asked_again", True)]
        if answer == "unclear":
            # Still open: if nobody says they are fine, staff are alerted when it is due.
            dispatcher.utter_message(response="utter_check_unclear", **numbers)
            return done
        try:
            outcome = self.care.safety.answer_check(check, answer)
            state = self.care.safety.check_state(check)
        except Exception:
            log.exception("could not record the answer to a safety check")
            if answer == "help":
                dispatcher.utter_message(response="utter_emergency_call_now", **numbers)
                dispatcher.utter_message(response="utter_emergency_alert_failed", **numbers)
            else:
                dispatcher.utter_message(response="utter_check_fine", **numbers)
            return done
        if answer == "help":
            dispatcher.utter_message(response="utter_emergency_call_now", **numbers)
            told_family = outcome is not None and outcome.family_notified
            dispatcher.utter_message(
                response="utter_emergency_staff_told_family"
                if told_family
                else "utter_emergency_staff_told",
                **numbers,
            )
        elif state == "escalated":  # the timer was first: staff are already on their way
            dispatcher.utter_message(response="utter_check_fine_staff_told", **numbers)
        else:
            dispatcher.utter_message(response="utter_check_fine", **numbers)
        return done


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
        if misses_in_a_row(tracker.events) >= 2:  # twice lost: offer a person, not a third try
            dispatcher.utter_message(response="utter_offer_person", buttons=PERSON_OR_NOT)
        else:
            dispatcher.utter_message(response="utter_please_rephrase", buttons=MAIN_MENU)
        return []
