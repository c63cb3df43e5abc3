"""What the centre offers in the coming days, in numbers the assistant can read out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Optional

from care.records import SlotRecord
from care.services import CareServices

LOOKAHEAD_DAYS = 7


@dataclass(frozen=True)
class Overview:
    centre: str
    centre_en: str
    lunch_day: Optional[date]
    lunch_seats: int
    day_care_day: Optional[date]
    day_care_places: int
    clinic_day: Optional[date]
    clinic_departments: list[str]
    clinic_departments_en: list[str]
    volunteers: int


def _first_day(slots: list[SlotRecord]) -> tuple[Optional[date], list[SlotRecord]]:
    if not slots:
        return None, []
    first = min(s.date for s in slots)
    return first, [s for s in slots if s.date == first]


def overview(care: CareServices, today: date) -> Overview:
    """For each service, the soonest day that still has free places, and how many."""
    until = today + timedelta(days=LOOKAHEAD_DAYS)
    lunches = [
        s
        for s in care.bookings.availability("meal", today, until, option="dine_in")
        if s.details.get("meal") == "lunch"
    ]
    lunch_day, lunch = _first_day(lunches)
    day_care_day, day_care = _first_day(care.bookings.availability("day_care", today, until))
    clinic_day, clinic = _first_day(care.bookings.availability("clinic", today, until))
    calls = care.bookings.availability("companion_call", today, until)
    centre = care.catalog.centre() or {}
    return Overview(
        centre=centre.get("name", ""),
        centre_en=centre.get("name_en", ""),
        lunch_day=lunch_day,
        lunch_seats=sum(s.free for s in lunch),
        day_care_day=day_care_day,
        day_care_places=max((s.free for s in day_care), default=0),
        clinic_day=clinic_day,
        clinic_departments=list(dict.fromkeys(s.details["department"] for s in clinic)),
        clinic_departments_en=list(dict.fromkeys(s.details["department_en"] for s in clinic)),
        volunteers=len({s.details["volunteer_code"] for s in calls}),
    )
