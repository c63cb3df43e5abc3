"""One form for day care, clinic visits and companionship calls.

The three differ only in what is offered on the chosen day, so they share the
questions: which day → which of a few choices (buttons; answer by number, time,
name or period) → for day care, where the bus picks you up → the name of a
first-time person → a full read-back → book after a yes. When the day is full,
the nearest free alternatives and the waiting list are offered instead.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date
from typing import Any, Optional

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.asking import AsksName, correction_instead_of_no, date_not_understood
from actions.dates import checked_day
from actions.parsed import answers_question, entity, intent_of
from actions.runtime import CareMixin
from actions.say import YES_NO, buttons, day_en, day_zh, describe_slot
from care.choices import Option, offer, option_of, pick
from care.errors import CareError, SlotFull
from care.records import SlotRecord

log = logging.getLogger(__name__)

SERVICES = ("day_care", "clinic", "companion_call")
FORM_SLOTS = ("visit_date", "visit_slot", "visit_pickup", "visit_options", "visit_confirmed")
NO_PICKUP = "pickup:none"


def service_of(tracker: Tracker) -> str:
    service = tracker.get_slot("visit_service")
    return service if service in SERVICES else "day_care"


def offered(tracker: Tracker) -> list[Option]:
    return [
        Option(**{**o, "keys": tuple(o.get("keys") or ())})
        for o in tracker.get_slot("visit_options") or []
    ]


def filters_for(tracker: Tracker) -> dict[str, Any]:
    """What narrows the choices: the department asked for, a volunteer speaking your language."""
    service, filters = service_of(tracker), {}
    if service == "clinic" and tracker.get_slot("visit_department"):
        filters["department"] = tracker.get_slot("visit_department")
    if service == "companion_call":
        filters["volunteer_language"] = tracker.get_slot("language") or "zh"
    return filters


class ValidateVisitForm(AsksName, CareMixin, FormValidationAction):
    def name(self) -> str:
        return "validate_visit_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if self.cannot_book_for_anyone(tracker):
            return []  # action_book_visit explains how to link first
        wanted = ["visit_date", "visit_slot"]
        if service_of(tracker) == "day_care" and not tracker.get_slot("visit_waitlist"):
            wanted.append("visit_pickup")
        if self.person(tracker) is None:
            wanted.append("elder_name")
        return [*wanted, "visit_confirmed"]

    async def extract_visit_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return date_not_understood(dispatcher, tracker, "visit_date")

    async def extract_visit_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return correction_instead_of_no(tracker, "visit_confirmed")

    async def extract_visit_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return self._choose(dispatcher, tracker, "visit_slot")

    async def extract_visit_pickup(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return self._choose(dispatcher, tracker, "visit_pickup")

    def _choose(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str
    ) -> dict[str, Any]:
        if tracker.get_slot("requested_slot") != slot:
            return {}
        if not answers_question(tracker):
            return {}
        options = offered(tracker)
        text = str(tracker.latest_message.get("text") or "")
        chosen = pick(
            options,
            text,
            code=entity(tracker, "choice"),
            time=entity(tracker, "time"),
            part_of_day=entity(tracker, "part_of_day"),
        )
        if chosen is None and slot == "visit_slot":
            chosen = self._at_time(tracker, entity(tracker, "time"))
        if chosen is None and intent_of(tracker) == "deny":
            return {}  # "算了" / "no": the stop rule ends the form
        if chosen is not None:
            return (
                {slot: chosen.code, "visit_waitlist": chosen.waitlist}
                if slot == ("visit_slot")
                else {slot: chosen.code}
            )
        if entity(tracker, "date") or entity(tracker, "time") or entity(tracker, "part_of_day"):
            # A new day or time: offer again around it rather than saying "which one?".
            return {slot: None}
        dispatcher.utter_message(response="utter_visit_pick_again")
        return {slot: None}

    async def validate_visit_date(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        service = service_of(tracker)
        day = checked_day(
            self.care, self.today(), dispatcher, tracker, value, service,
            f"utter_no_{service}_that_day",
        )  # fmt: skip
        if day is None:
            return {"visit_date": None, "visit_slot": None}
        chosen = tracker.get_slot("visit_slot")
        old = self._slot(chosen) if chosen else None
        if old is not None and old.date != day:
            return {"visit_date": day.isoformat(), "visit_slot": None, "visit_pickup": None}
        return {"visit_date": day.isoformat()}

    async def validate_visit_confirmed(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if value is True:
            return {"visit_confirmed": True}
        if entity(tracker, "date"):  # "不对，是后天": the date mapping already took it
            return {"visit_confirmed": None}
        exact = self._at_time(tracker, entity(tracker, "time"))
        if exact is not None:  # "no, 10 am": that time is free, read back again
            return {"visit_confirmed": None, "visit_slot": exact.code}
        if (
            entity(tracker, "time")
            or entity(tracker, "part_of_day")
            or entity(tracker, "department")
        ):  # "不对，要下午的": offer again around the new wish
            return {"visit_confirmed": None, "visit_slot": None, "visit_pickup": None}
        dispatcher.utter_message(response="utter_start_again")
        return {slot: None for slot in FORM_SLOTS}

    def _at_time(self, tracker: Tracker, time: Optional[str]) -> Optional[Option]:
        """ "九点的": a free slot at exactly that time is taken even if it was not listed."""
        raw = tracker.get_slot("visit_date")
        if not time or not raw:
            return None
        day = date.fromisoformat(raw)
        free = self.care.bookings.availability(
            service_of(tracker), day, day, **filters_for(tracker)
        )
        exact = [o for o in (option_of(s, self.care.tz) for s in free) if o.start == time]
        return exact[0] if len(exact) == 1 else None

    def _slot(self, code: str) -> Optional[SlotRecord]:
        try:
            return self.care.bookings.slot_by_code(code)
        except CareError:
            return None


class ActionAskVisitDate(Action):
    def name(self) -> str:
        return "action_ask_visit_date"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response=f"utter_ask_{service_of(tracker)}_date")
        return []


class ActionAskVisitSlot(CareMixin, Action):
    """A few free choices on that day; when it is full, alternatives and the waiting list."""

    def name(self) -> str:
        return "action_ask_visit_slot"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        service, language = service_of(tracker), tracker.get_slot("language") or "zh"
        day = date.fromisoformat(tracker.get_slot("visit_date"))
        today, tz = self.today(), self.care.tz
        filters = filters_for(tracker)
        free = self.care.bookings.availability(service, day, day, **filters)
        time, part = entity(tracker, "time"), entity(tracker, "part_of_day")
        options = offer(free, tz, time=time, part_of_day=part)
        response = f"utter_ask_visit_slot_{service}"
        if not options:
            taken = self.care.bookings.availability(service, day, day, include_full=True, **filters)
            if taken:
                full = offer(taken, tz, time=time, part_of_day=part, limit=1)[0]
                alternatives = self.care.bookings.alternatives(self._id(full.code), limit=2)
                options = [option_of(s, tz) for s in alternatives]
                options.append(option_of(self.care.bookings.slot_by_code(full.code), tz, True))
                response = "utter_visit_full_offer"
            else:  # e.g. no volunteer speaks the person's language that day
                response = f"utter_no_{service}_that_day"
                dispatcher.utter_message(
                    response=response, day=day_zh(day, today), day_en=day_en(day, today)
                )
                return [SlotSet("visit_date", None), SlotSet("requested_slot", "visit_date")]
        dispatcher.utter_message(
            response=response,
            day=day_zh(day, today),
            day_en=day_en(day, today),
            buttons=buttons(options, language),
        )
        return [SlotSet("visit_options", [asdict(o) for o in options])]

    def _id(self, code: str) -> int:
        return self.care.bookings.slot_by_code(code).id


class ActionAskVisitPickup(CareMixin, Action):
    """Day care: the bus stop and time, or coming on one's own."""

    def name(self) -> str:
        return "action_ask_visit_pickup"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = tracker.get_slot("language") or "zh"
        slot = self.care.bookings.slot_by_code(tracker.get_slot("visit_slot"))
        options = [
            Option(f"pickup:{i}", f"{p['time']} {p['name']}", f"{p['time']} {p['name_en']}",
                   p["time"], (p["name"], p["name_en"].lower()))
            for i, p in enumerate(slot.details.get("pickup_points") or [])
        ]  # fmt: skip
        options.append(
            Option(NO_PICKUP, "不用接，自己来", "No pickup, I'll come myself", "",
                   ("自己", "不用", "不坐", "myself", "no pickup", "on my own"))
        )  # fmt: skip
        dispatcher.utter_message(
            response="utter_ask_visit_pickup", buttons=buttons(options, language)
        )
        return [SlotSet("visit_options", [asdict(o) for o in options])]


def pickup_of(slot: SlotRecord, choice: Optional[str]) -> Optional[dict[str, Any]]:
    if not choice or choice == NO_PICKUP or not choice.startswith("pickup:"):
        return None
    points = slot.details.get("pickup_points") or []
    index = int(choice.split(":")[1])
    return points[index] if index < len(points) else None


class ActionAskVisitConfirmed(CareMixin, Action):
    """The read-back: date with weekday, time, place, options — then wait for a yes."""

    def name(self) -> str:
        return "action_ask_visit_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = tracker.get_slot("language") or "zh"
        slot = self.care.bookings.slot_by_code(tracker.get_slot("visit_slot"))
        line = describe_slot(
            slot,
            language,
            self.today(),
            self.care.tz,
            pickup=pickup_of(slot, tracker.get_slot("visit_pickup")),
            waiting=bool(tracker.get_slot("visit_waitlist")),
        )
        dispatcher.utter_message(
            response="utter_readback_visit", line=line, buttons=YES_NO, **self.for_whom(tracker)
        )
        return []


class ActionBookVisit(CareMixin, Action):
    def name(self) -> str:
        return "action_book_visit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reset = [SlotSet(s, None) for s in (*FORM_SLOTS, "visit_waitlist", "elder_name")]
        if tracker.get_slot("visit_confirmed") is not True:
            self.booking_party(tracker, dispatcher)  # a relative with no link hears why
            return reset
        channel, language = self.channel(tracker), tracker.get_slot("language") or "zh"
        key = self.request_key(tracker)
        waitlist = bool(tracker.get_slot("visit_waitlist"))
        try:
            slot = self.care.bookings.slot_by_code(tracker.get_slot("visit_slot"))
            pickup = pickup_of(slot, tracker.get_slot("visit_pickup"))
            who = self.booking_party(tracker, dispatcher)
            if who is None:
                return reset
            booking = self.care.bookings.book(
                who.elder_id,
                slot.id,
                who.actor,
                channel,
                idempotency_key=key,
                details={"pickup": pickup} if pickup else None,
                waitlist=waitlist,
            )
        except SlotFull:
            dispatcher.utter_message(response="utter_visit_taken")
            return reset
        except CareError as refused:
            self.explain_refusal(dispatcher, refused, "visit")
            return reset
        waiting = booking.status == "waitlisted"

        def line(lang: str) -> str:
            return describe_slot(booking.slot, lang, self.today(), self.care.tz, pickup, waiting)

        self.tell_elder(who, booking, line)
        dispatcher.utter_message(
            response="utter_visit_waitlisted" if waiting else "utter_visit_booked",
            line=line(language),
        )
        return reset
