"""The care services of this action-server process, installed once at start-up.

rasa-sdk instantiates actions without arguments, so the factory's result is
handed over here by ``anxin actions`` before the server starts, never at import.
"""

from __future__ import annotations

from datetime import date
from typing import Optional

from rasa_sdk import Tracker

from care.records import BookingRecord, PersonRecord
from care.services import CareServices

_services: Optional[CareServices] = None


def install(services: CareServices) -> None:
    global _services
    _services = services


def services() -> CareServices:
    if _services is None:
        raise RuntimeError("care services are not installed; start with `anxin actions`")
    return _services


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
        return tracker.get_latest_input_channel() or "unknown"

    def person(self, tracker: Tracker) -> Optional[PersonRecord]:
        return self.care.people.find_by_identity(self.channel(tracker), tracker.sender_id)

    def upcoming(self, tracker: Tracker) -> list[BookingRecord]:
        """The speaker's upcoming bookings (none for a stranger or a family member)."""
        person = self.person(tracker)
        return self.care.bookings.upcoming(person.id) if person and person.kind == "elder" else []
