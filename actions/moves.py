"""``reschedule_booking``: "把明天的午饭改到后天" — find it, find its place, read back, move.

The old day picks the booking (as for cancelling), the new day and time pick the
same kind of place (same meal, period, department, volunteer). Nothing moves
before a yes; care.bookings.reschedule moves it in one transaction, so if the
new place is gone the old booking stays.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.bookings import booking_buttons, meant
from actions.parsed import entity
from actions.runtime import CareMixin
from actions.say import YES_NO, day_en, day_zh, describe_booking, describe_slot, numbered
from care.audit import Actor
from care.errors import BookingClosed, CareError, NotPermitted, SlotFull
from care.moves import read_move

log = logging.getLogger(__name__)

MOVE_SLOTS = ("moving", "move_to", "booking_choices")


class ActionFindMove(CareMixin, Action):
    def name(self) -> str:
        return "action_find_move"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        language = tracker.get_slot("language") or "zh"
        today, tz = self.today(), self.care.tz
        request = read_move(text, self.care.clock().astimezone(tz))
        bookings = self.upcoming(tracker)
        offered = tracker.get_slot("booking_choices")
        chosen = tracker.get_slot("moving")
        # "改到哪天？" → "后天", or a correction after the read-back: all of it is the new day.
        followup = bool(chosen) and not offered and not request.new_text
        when = request.old if followup else request.new
        moving = next((b for b in bookings if str(b.id) == chosen), None) if followup else None
        if moving is None:
            matches = meant(
                bookings,
                request.old_text or text,
                request.old.date.isoformat() if request.old.date and not followup else None,
                entity(tracker, "meal"),
                offered,
            )
            if not matches:
                dispatcher.utter_message(response="utter_cancel_nothing_found")
                return [SlotSet(s, None) for s in MOVE_SLOTS]
            if len(matches) > 1:
                dispatcher.utter_message(
                    response="utter_move_which",
                    lines=numbered(matches, language, today, tz),
                    buttons=booking_buttons(matches),
                )
                return [SlotSet("booking_choices", [str(b.id) for b in matches])]
            moving = matches[0]
        kept = [SlotSet("moving", str(moving.id)), SlotSet("booking_choices", None)]
        new_day = when.date
        if new_day is None and when.time:
            new_day = moving.slot.date  # "换到下午三点": same day, another time
        if new_day is None:
            dispatcher.utter_message(
                response="utter_ask_move_day", line=describe_booking(moving, language, today, tz)
            )
            return [*kept, SlotSet("move_to", None)]
        at = when.time.strftime("%H:%M") if when.time else None
        target = self.care.bookings.counterpart(moving.slot.id, new_day, at)
        if target is None:
            dispatcher.utter_message(
                response="utter_move_no_place",
                day=day_zh(new_day, today),
                day_en=day_en(new_day, today),
            )
            return [*kept, SlotSet("move_to", None)]
        dispatcher.utter_message(
            response="utter_ask_move_confirm",
            old=describe_booking(moving, language, today, tz),
            new=describe_slot(target, language, today, tz, moving.details.get("pickup")),
            buttons=YES_NO,
        )
        return [*kept, SlotSet("move_to", target.code)]


class ActionMoveConfirmed(CareMixin, Action):
    def name(self) -> str:
        return "action_move_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset = [SlotSet(s, None) for s in MOVE_SLOTS]
        moving, target = tracker.get_slot("moving"), tracker.get_slot("move_to")
        person = self.person(tracker)
        if not moving or not target or person is None:
            dispatcher.utter_message(response="utter_ok")
            return reset
        channel = self.channel(tracker)
        key = self.request_key(tracker)
        try:
            slot = self.care.bookings.slot_by_code(target)
            result = self.care.bookings.reschedule(
                int(moving), slot.id, Actor.person(person.id), channel, idempotency_key=key
            )
        except SlotFull:
            dispatcher.utter_message(response="utter_visit_taken")
            return reset
        except BookingClosed:
            dispatcher.utter_message(response="utter_cancel_too_late")
            return reset
        except NotPermitted:
            dispatcher.utter_message(response="utter_family_not_linked")
            return reset
        except CareError:
            log.exception("moving a booking failed")
            dispatcher.utter_message(
                response="utter_not_yet", centre_hotline=self.care.settings.centre_hotline
            )
            return reset
        language = tracker.get_slot("language") or "zh"
        new = result.new
        dispatcher.utter_message(
            response="utter_moved", line=describe_booking(new, language, self.today(), self.care.tz)
        )
        return reset


class ActionMoveKept(Action):
    def name(self) -> str:
        return "action_move_kept"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_move_kept")
        return [SlotSet(s, None) for s in MOVE_SLOTS]
