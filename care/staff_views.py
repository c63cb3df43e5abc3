"""What the staff console reads: bookings, places used per service, alerts, elders.

Read-only queries; every filter is a bound parameter (never formatted into SQL).
Callers write the audit rows for what they show (see staff/).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Optional

from sqlalchemy import case, func, select

from care import models as m
from care.db import Database
from care.errors import InvalidRequest, UnknownAlert, UnknownElder
from care.records import AlertRecord, BookingRecord, PersonRecord

MAX_ROWS = 500


@dataclass(frozen=True)
class ServiceLoad:
    """One service on one day: places offered, places taken, people waiting."""

    service: str
    capacity: int
    used: int
    waitlisted: int

    @property
    def free(self) -> int:
        return self.capacity - self.used

    @property
    def percent(self) -> int:
        return round(100 * self.used / self.capacity) if self.capacity else 0


class StaffViews:
    def __init__(self, db: Database) -> None:
        self.db = db

    def bookings(
        self,
        service: Optional[str] = None,
        day: Optional[date] = None,
        status: Optional[str] = None,
        elder_id: Optional[int] = None,
        limit: int = MAX_ROWS,
    ) -> list[BookingRecord]:
        if service is not None and service not in m.SERVICES:
            raise InvalidRequest(f"service must be one of {', '.join(m.SERVICES)}")
        if status is not None and status not in m.BOOKING_STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(m.BOOKING_STATUSES)}")
        stmt = (
            select(m.Booking)
            .join(m.Slot, m.Booking.slot_id == m.Slot.id)
            .order_by(m.Slot.starts_at, m.Booking.id)
            .limit(max(1, min(limit, MAX_ROWS)))
        )
        if service is not None:
            stmt = stmt.where(m.Booking.service == service)
        if day is not None:
            stmt = stmt.where(m.Slot.date == day)
        if status is not None:
            stmt = stmt.where(m.Booking.status == status)
        if elder_id is not None:
            stmt = stmt.where(m.Booking.elder_id == elder_id)
        with self.db.read() as s:
            return [BookingRecord.of(r) for r in s.scalars(stmt).unique()]

    def load(self, day: date) -> list[ServiceLoad]:
        """Every service on ``day``, in catalogue order, zeros for a service without slots."""
        with self.db.read() as s:
            places = {
                row[0]: (int(row[1] or 0), int(row[2] or 0))
                for row in s.execute(
                    select(m.Slot.service, func.sum(m.Slot.capacity), func.sum(m.Slot.used))
                    .where(m.Slot.date == day)
                    .group_by(m.Slot.service)
                )
            }
            waiting = dict(
                s.execute(
                    select(m.Booking.service, func.count())
                    .join(m.Slot, m.Booking.slot_id == m.Slot.id)
                    .where(m.Slot.date == day, m.Booking.status == "waitlisted")
                    .group_by(m.Booking.service)
                ).all()
            )
        return [
            ServiceLoad(svc, *places.get(svc, (0, 0)), int(waiting.get(svc, 0)))
            for svc in m.SERVICES
        ]

    def alerts(self, include_resolved: bool = False) -> list[AlertRecord]:
        """Open before acknowledged (before resolved), most urgent kind first, newest first."""
        status_order = case(
            (m.Alert.status == "open", 0), (m.Alert.status == "acknowledged", 1), else_=2
        )
        stmt = select(m.Alert).order_by(
            status_order, m.Alert.priority, m.Alert.created_at.desc(), m.Alert.id.desc()
        )
        if not include_resolved:
            stmt = stmt.where(m.Alert.status != "resolved")
        with self.db.read() as s:
            return [AlertRecord.of(r) for r in s.scalars(stmt.limit(MAX_ROWS))]

    def alert(self, alert_id: int) -> AlertRecord:
        with self.db.read() as s:
            row = s.get(m.Alert, alert_id)
            if row is None:
                raise UnknownAlert(f"no alert {alert_id}", alert_id=alert_id)
            return AlertRecord.of(row)

    def elders(self) -> list[PersonRecord]:
        with self.db.read() as s:
            rows = s.scalars(select(m.Person).where(m.Person.kind == "elder").order_by(m.Person.id))
            return [PersonRecord.of(r) for r in rows]

    def elder(self, elder_id: int) -> PersonRecord:
        with self.db.read() as s:
            row = s.get(m.Person, elder_id)
            if row is None or row.kind != "elder":
                raise UnknownElder(f"no elder {elder_id}", elder_id=elder_id)
            return PersonRecord.of(row)
