"""Reading what can be booked: open slots with filters, and the nearest alternatives."""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Any, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from care import models as m
from care.clock import Clock
from care.db import Database
from care.errors import InvalidRequest, UnknownSlot
from care.records import SlotRecord


class SlotQueries:
    def __init__(self, db: Database, clock: Clock, tz: tzinfo) -> None:
        self.db = db
        self.clock = clock
        self.tz = tz

    def availability(
        self,
        service: str,
        date_from: date,
        date_to: date,
        *,
        option: Optional[str] = None,
        diet_tag: Optional[str] = None,
        department: Optional[str] = None,
        part_of_day: Optional[str] = None,
        volunteer_language: Optional[str] = None,
        quantity: int = 1,
        include_full: bool = False,
        include_closed: bool = False,
    ) -> list[SlotRecord]:
        if service not in m.SERVICES:
            raise InvalidRequest(f"unknown service {service!r}")
        now = self.clock()
        stmt = (
            select(m.Slot)
            .where(
                m.Slot.service == service,
                m.Slot.date >= date_from,
                m.Slot.date <= date_to,
                m.Slot.starts_at > now if include_closed else m.Slot.cutoff_at > now,
            )
            .order_by(m.Slot.starts_at, m.Slot.id)
        )
        if option is not None:
            stmt = stmt.where(m.Slot.option == option)
        if not include_full:
            stmt = stmt.where(m.Slot.used + quantity <= m.Slot.capacity)
        with self.db.read() as s:
            slots = [SlotRecord.of(row) for row in s.scalars(stmt).unique()]
        return [
            slot
            for slot in slots
            if _matches(slot, self.tz, diet_tag, department, part_of_day, volunteer_language)
        ]

    def slot(self, slot_id: int) -> SlotRecord:
        with self.db.read() as s:
            row = s.get(m.Slot, slot_id)
            if row is None:
                raise UnknownSlot(f"no slot {slot_id}", slot_id=slot_id)
            return SlotRecord.of(row)

    def slot_by_code(self, code: str) -> SlotRecord:
        with self.db.read() as s:
            row = s.scalars(select(m.Slot).where(m.Slot.code == code)).first()
            if row is None:
                raise UnknownSlot(f"no slot {code}", code=code)
            return SlotRecord.of(row)

    def alternatives(self, slot_id: int, quantity: int = 1, limit: int = 3) -> list[SlotRecord]:
        with self.db.read() as s:
            return self._alternatives(s, _slot(s, slot_id), quantity, limit)

    def _alternatives(
        self, s: Session, slot: m.Slot, quantity: int, limit: int = 3
    ) -> list[SlotRecord]:
        """Nearest open slots of the same kind (same meal, department, period ...)."""
        candidates = s.scalars(
            select(m.Slot).where(
                m.Slot.service == slot.service,
                m.Slot.option == slot.option,
                m.Slot.id != slot.id,
                m.Slot.cutoff_at > self.clock(),
                m.Slot.used + quantity <= m.Slot.capacity,
            )
        ).unique()
        same_kind = [c for c in candidates if _kind(c) == _kind(slot)]
        same_kind.sort(key=lambda c: (abs((c.starts_at - slot.starts_at).total_seconds()), c.id))
        return [SlotRecord.of(c) for c in same_kind[:limit]]

    def counterpart(
        self, slot_id: int, day: date, at: Optional[str] = None
    ) -> Optional[SlotRecord]:
        """The same thing on another day (same meal, period, department or volunteer), free.

        At the time asked for (HH:MM), else at the old slot's time, else the nearest.
        """
        with self.db.read() as s:
            old = _slot(s, slot_id)
            wanted_hm = at or f"{old.starts_at.astimezone(self.tz):%H:%M}"
            rows = s.scalars(
                select(m.Slot).where(
                    m.Slot.service == old.service,
                    m.Slot.option == old.option,
                    m.Slot.date == day,
                    m.Slot.id != old.id,
                    m.Slot.cutoff_at > self.clock(),
                    m.Slot.used + 1 <= m.Slot.capacity,
                )
            ).unique()
            same = [r for r in rows if _kind(r) == _kind(old) and _who(r) == _who(old)]
            if not same:
                return None
            hh, mm = (int(x) for x in wanted_hm.split(":"))

            def distance(r: m.Slot) -> tuple[int, int]:
                local = r.starts_at.astimezone(self.tz)
                return (abs(local.hour * 60 + local.minute - hh * 60 - mm), r.id)

            return SlotRecord.of(min(same, key=distance))


def _slot(s: Session, slot_id: int) -> m.Slot:
    row = s.get(m.Slot, slot_id)
    if row is None:
        raise UnknownSlot(f"no slot {slot_id}", slot_id=slot_id)
    return row


def _who(slot: m.Slot) -> Any:
    """A companion call moves with its volunteer; the rest move to any place of the kind."""
    return slot.volunteer_id if slot.service == "companion_call" else None


def _kind(slot: m.Slot) -> tuple[Any, ...]:
    if slot.meal_row is not None:
        return ("meal", slot.meal_row.meal)
    if slot.clinic_row is not None:
        return ("clinic", slot.clinic_row.department)
    return (slot.service,)


def _matches(
    slot: SlotRecord,
    tz: tzinfo,
    diet_tag: Optional[str],
    department: Optional[str],
    part_of_day: Optional[str],
    language: Optional[str],
) -> bool:
    d = slot.details
    if diet_tag and not any(diet_tag in item.get("tags", []) for item in d.get("menu", [])):
        return False
    if department and department.lower() not in (
        str(d.get("department", "")).lower(),
        str(d.get("department_en", "")).lower(),
    ):
        return False
    if language and language not in d.get("languages", []):
        return False
    if part_of_day:
        if slot.service == "day_care":
            return slot.option == part_of_day
        hour = slot.starts_at.astimezone(tz).hour
        return hour < 12 if part_of_day == "morning" else hour >= 12
    return True
