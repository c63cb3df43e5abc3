"""The steps of a booking change that take, give back and hand on places.

All run inside a write transaction that care.booking.Bookings opened: locking a slot or
a booking row, checking who may act for an elder, releasing a place, and giving freed
places to the waitlist in booking-id order. Apart from care.booking so that each module
stays readable; ``Bookings`` inherits them and remains the one public class.
"""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from care import audit
from care import models as m
from care.audit import Actor
from care.availability import SlotQueries
from care.errors import (
    BookingClosed,
    InvalidTransition,
    NotPermitted,
    UnknownBooking,
    UnknownSlot,
)
from care.people import active_link, get_elder
from care.records import BookingRecord


class PlaceKeeper(SlotQueries):
    """In-transaction helpers of ``care.booking.Bookings`` (the caller holds the locks)."""

    def _release(
        self, s: Session, row: m.Booking, slot: m.Slot, actor: Actor, channel: str, reason: str
    ) -> None:
        if row.status not in m.ACTIVE_STATUSES:
            raise InvalidTransition(f"a {row.status} booking cannot be changed")
        now = self.clock()
        if actor.staff is None:
            check_open(slot, now)
        if row.status == "confirmed":
            s.execute(
                update(m.Slot)
                .where(m.Slot.id == slot.id)
                .values(used=m.Slot.used - row.quantity)
                .execution_options(synchronize_session=False)
            )
            s.expire(slot)
        row.status, row.cancelled_at, row.updated_at, row.note = "cancelled", now, now, reason
        audit.record(
            s,
            now,
            actor,
            "booking.cancel",
            f"booking:{row.id}",
            channel=channel,
            on_behalf_of=behalf_of(actor, row.elder_id),
            detail={"reason": reason},
        )
        s.flush()

    def _promote(self, s: Session, slot: m.Slot) -> list[BookingRecord]:
        now = self.clock()
        if now >= slot.cutoff_at:
            return []
        promoted = []
        waiting = s.scalars(
            select(m.Booking)
            .where(m.Booking.slot_id == slot.id, m.Booking.status == "waitlisted")
            .order_by(m.Booking.id)
        ).unique()
        for row in list(waiting):
            taken = s.execute(
                update(m.Slot)
                .where(m.Slot.id == slot.id, m.Slot.used + row.quantity <= m.Slot.capacity)
                .values(used=m.Slot.used + row.quantity)
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken != 1:
                continue
            row.status, row.updated_at = "confirmed", now
            audit.record(
                s,
                now,
                audit.SYSTEM,
                "booking.promote",
                f"booking:{row.id}",
                on_behalf_of=f"person:{row.elder_id}",
                detail={"slot": slot.code},
            )
            promoted.append(row)
        s.flush()
        s.expire(slot)
        return [BookingRecord.of(r) for r in promoted]

    def _authorise(self, s: Session, elder_id: int, actor: Actor, need: str) -> None:
        get_elder(s, elder_id)
        if actor.staff is not None or actor.person_id == elder_id:
            return
        if actor.person_id is None:
            raise NotPermitted("bookings are made by a person or by staff")
        link = active_link(s, elder_id, actor.person_id)
        allowed = link is not None and (link.can_book if need == "book" else link.can_cancel)
        if not allowed:
            raise NotPermitted(
                "no active family link with permission to " + need,
                elder_id=elder_id,
                person_id=actor.person_id,
            )

    def _lock_slot(self, s: Session, slot_id: int) -> m.Slot:
        row = s.scalars(self.db.lock(select(m.Slot).where(m.Slot.id == slot_id), of=m.Slot)).first()
        if row is None:
            raise UnknownSlot(f"no slot {slot_id}", slot_id=slot_id)
        return row

    def _lock_booking(self, s: Session, booking_id: int) -> m.Booking:
        stmt = self.db.lock(select(m.Booking).where(m.Booking.id == booking_id), of=m.Booking)
        row = s.scalars(stmt.execution_options(populate_existing=True)).first()
        if row is None:
            raise UnknownBooking(f"no booking {booking_id}", booking_id=booking_id)
        return row


def booking_row(s: Session, booking_id: int) -> m.Booking:
    """The booking, or UnknownBooking (a clear 404) when there is none."""
    row = s.get(m.Booking, booking_id)
    if row is None:
        raise UnknownBooking(f"no booking {booking_id}", booking_id=booking_id)
    return row


def check_open(slot: m.Slot, now: datetime) -> None:
    """Refuse changes once the slot has started or its order cutoff has passed."""
    if now >= slot.starts_at:
        raise BookingClosed("that time has passed", reason="past")
    if now >= slot.cutoff_at:
        raise BookingClosed(
            "orders for this have closed", reason="cutoff", cutoff_at=slot.cutoff_at
        )


def behalf_of(actor: Actor, elder_id: int) -> Optional[str]:
    """The audit log's on_behalf_of: set only when someone acts for the elder."""
    return None if actor.person_id == elder_id else f"person:{elder_id}"
