"""The care services of this action-server process, installed once at start-up.

rasa-sdk instantiates actions without arguments, so the factory's result is
handed over here by ``anxin actions`` before the server starts, never at import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Callable, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from care.audit import Actor
from care.errors import AlreadyBooked, BookingClosed, CareError, NotPermitted
from care.records import BookingRecord, PersonRecord
from care.senders import request_key, split_sender
from care.services import CareServices

log = logging.getLogger(__name__)

_services: Optional[CareServices] = None


def install(services: CareServices) -> None:
    global _services
    _services = services


def services() -> CareServices:
    if _services is None:
        raise RuntimeError("care services are not installed; start with `anxin actions`")
    return _services


@dataclass(frozen=True)
class Party:
    """Who a booking is for, and who is making it (the elder, or a linked family member)."""

    elder_id: int
    actor: Actor
    by: Optional[PersonRecord] = None  # the family member, when not the elder
    elder_name: str = ""


class CareMixin:
    """What every action that talks to care/ needs: the services, today, the person speaking.

    A mixin, not an Action subclass, so rasa-sdk does not try to register it.
    """

    def __init__(self, care: Optional[CareServices] = None) -> None:
        self._care = care

    @property
    def care(self) -> CareServices:
        return self._care or services()

    def today(self) -> date:
        return self.care.clock().astimezone(self.care.tz).date()

    @staticmethod
    def channel(tracker: Tracker) -> str:
        """The channel the conversation belongs to: its sender id's prefix (care.senders),
        which only that channel's verified route gives, never what a request claims."""
        return split_sender(tracker.sender_id)[0]

    @staticmethod
    def external_id(tracker: Tracker) -> str:
        """The speaker's own id on that channel: their identity in care/."""
        return split_sender(tracker.sender_id)[1]

    def request_key(self, tracker: Tracker) -> str:
        """The confirming message's id: a retried action (Rasa retries) books nothing twice."""
        message_id = tracker.latest_message.get("message_id") or len(tracker.events)
        return request_key(tracker.sender_id, message_id)

    def person(self, tracker: Tracker) -> Optional[PersonRecord]:
        return self.care.people.find_by_identity(self.channel(tracker), self.external_id(tracker))

    def upcoming(self, tracker: Tracker) -> list[BookingRecord]:
        """The speaker's upcoming bookings, or a linked relative's parent's (none for strangers)."""
        person = self.person(tracker)
        if person is not None and person.kind == "family":
            party = self.booking_party(tracker)  # a relative sees their parent's bookings
            return self.care.bookings.upcoming(party.elder_id) if party else []
        return self.care.bookings.upcoming(person.id) if person is not None else []

    def booking_party(
        self, tracker: Tracker, dispatcher: Optional[CollectingDispatcher] = None
    ) -> Optional[Party]:
        """Who a booking is for: the speaker, or the one elder a relative is linked to.

        A first-time speaker becomes an elder by the name they gave. A relative with
        no active link (or several and no "给我妈" to choose) is told so, and None.
        """
        person = self.person(tracker)
        if person is not None and person.kind == "family":
            called = tracker.get_slot("booking_for")
            links = self.care.family.elders_of(person.id, called)
            if not links and called:  # they said "my mum" but never told us what they call her
                links = self.care.family.elders_of(person.id)
            if len(links) == 1:
                link, elder = links[0]
                return Party(elder.id, Actor.person(person.id), person, elder.name)
            if dispatcher is not None:
                which = "utter_family_which_elder" if links else "utter_family_not_linked"
                dispatcher.utter_message(response=which)
            return None
        if person is None and tracker.get_slot("booking_for"):
            # "给我妈订" from someone we do not know: a relative who has not linked yet.
            if dispatcher is not None:
                dispatcher.utter_message(response="utter_family_not_linked")
            return None
        if person is None:
            if not tracker.get_slot("elder_name"):
                return None
            language = tracker.get_slot("language") or "zh"
            person = self.care.people.register_elder(
                self.channel(tracker), self.external_id(tracker), tracker.get_slot("elder_name"),
                language,
            )
        return Party(person.id, Actor.person(person.id))

    def for_whom(self, tracker: Tracker) -> dict[str, str]:
        """A relative's read-back names the elder: "给李秀兰订：" / "for Li Xiulan, "."""
        person = self.person(tracker)
        party = self.booking_party(tracker) if person and person.kind == "family" else None
        if party is None or party.by is None:
            return {"for_whom": "", "for_whom_en": ""}
        return {"for_whom": f"给{party.elder_name}订：", "for_whom_en": f"for {party.elder_name}, "}

    def tell_elder(self, party: Party, booking: BookingRecord, line: Callable[[str], str]) -> None:
        """A relative booked: the elder hears it on their own channel (through the outbox)."""
        if party.by is not None:
            self.care.family.notify_booked_for(booking, line("zh"), line("en"))

    def cannot_book_for_anyone(self, tracker: Tracker) -> bool:
        """A relative with no active link (or no way to tell which elder): ask nothing."""
        person = self.person(tracker)
        if person is None:
            return bool(tracker.get_slot("booking_for"))
        return person.kind == "family" and self.booking_party(tracker) is None

    def explain_refusal(
        self, dispatcher: CollectingDispatcher, error: CareError, flow: str
    ) -> None:
        """Why a booking was not made, kindly: closed, already booked, no permission, or call us."""
        if isinstance(error, BookingClosed):
            dispatcher.utter_message(response=f"utter_{flow}_closed")
        elif isinstance(error, AlreadyBooked):
            dispatcher.utter_message(response=f"utter_{flow}_already_booked")
        elif isinstance(error, NotPermitted):
            dispatcher.utter_message(response="utter_family_not_linked")
        else:
            log.exception("%s booking failed", flow)
            dispatcher.utter_message(
                response="utter_not_yet", centre_hotline=self.care.settings.centre_hotline
            )
