"""Capacity-safe booking operations: availability, book, waitlist, cancel, reschedule.

Every operation is one database transaction that also writes the audit log.
Places are taken by a conditional ``UPDATE slots SET used = used + n WHERE
used + n <= capacity`` (and a CHECK behind it), never by check-then-insert; the
slot row is locked first (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite) so retries with one idempotency key queue up and see the first result.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any, Callable, Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from care import audit
from care import models as m
from care.audit import Actor
from care.booking_places import PlaceKeeper, behalf_of, booking_row, check_open
from care.errors import (
    AlreadyBooked,
    IdempotencyConflict,
    InvalidRequest,
    InvalidTransition,
    NotPermitted,
    SlotFull,
)
from care.people import get_elder
from care.records import BookingRecord, CancelResult, RescheduleResult

log = logging.getLogger(__name__)

MAX_QUANTITY = {"meal": 4, "day_care": 1, "clinic": 1, "companion_call": 1}
OUTCOMES = ("completed", "no_show")


def request_hash(**parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class _KeyRace(Exception):
    """Another transaction committed the same idempotency key first."""


class Bookings(PlaceKeeper):
    """Changes to bookings; reading slots comes from ``SlotQueries``, the in-transaction
    steps that lock, release and promote from ``PlaceKeeper`` (care.booking_places)."""

    # -- reading ---------------------------------------------------------------

    def get(self, booking_id: int) -> BookingRecord:
        with self.db.read() as s:
            return BookingRecord.of(booking_row(s, booking_id))

    def upcoming(self, elder_id: int) -> list[BookingRecord]:
        """Confirmed and waitlisted bookings that have not ended yet, soonest first."""
        with self.db.read() as s:
            get_elder(s, elder_id)
            rows = s.scalars(
                select(m.Booking)
                .join(m.Slot, m.Booking.slot_id == m.Slot.id)
                .where(
                    m.Booking.elder_id == elder_id,
                    m.Booking.status.in_(m.ACTIVE_STATUSES),
                    m.Slot.ends_at > self.clock(),
                )
                .order_by(m.Slot.starts_at, m.Booking.id)
            ).unique()
            return [BookingRecord.of(r) for r in rows]

    # -- changing ----------------------------------------------------------------

    def book(
        self,
        elder_id: int,
        slot_id: int,
        actor: Actor,
        channel: str,
        *,
        idempotency_key: Optional[str] = None,
        quantity: int = 1,
        details: Optional[dict[str, Any]] = None,
        waitlist: bool = False,
    ) -> BookingRecord:
        """Book a place; with ``waitlist`` a full slot puts the elder on its waitlist."""
        fingerprint = request_hash(
            op="book",
            elder=elder_id,
            slot=slot_id,
            by=actor.label,
            quantity=quantity,
            details=details or {},
            waitlist=waitlist,
        )
        try:
            with self.db.write() as s:
                row, replayed = self._book_in(
                    s,
                    elder_id,
                    slot_id,
                    actor,
                    channel,
                    idempotency_key,
                    fingerprint,
                    quantity,
                    details or {},
                    waitlist,
                )
                return BookingRecord.of(row, replayed=replayed)
        except _KeyRace:
            return self._replay(idempotency_key, fingerprint)
        except SlotFull as full:
            # Looked up after the write lock is released: losers of a race stay cheap.
            full.alternatives = self.alternatives(slot_id, quantity)
            raise

    def join_waitlist(
        self, elder_id: int, slot_id: int, actor: Actor, channel: str, **kwargs: Any
    ) -> BookingRecord:
        """Waitlist for a full slot (or a plain booking when a place is free)."""
        return self.book(elder_id, slot_id, actor, channel, waitlist=True, **kwargs)

    def cancel(
        self,
        booking_id: int,
        actor: Actor,
        channel: str,
        reason: Optional[str] = None,
        then: Optional[Callable[[Session, CancelResult], None]] = None,
    ) -> CancelResult:
        """Cancel; a freed place goes to the first waitlisted elder it fits.

        ``then`` writes what follows from the change (a message to the elder) in the
        same transaction; it is not called when the booking was already cancelled."""
        with self.db.write() as s:
            row = booking_row(s, booking_id)
            slot = self._lock_slot(s, row.slot_id)
            row = self._lock_booking(s, booking_id)
            self._authorise(s, row.elder_id, actor, "cancel")
            if row.status == "cancelled":
                return CancelResult(BookingRecord.of(row, replayed=True), [])
            self._release(s, row, slot, actor, channel, reason or "cancelled")
            done = CancelResult(BookingRecord.of(row), self._promote(s, slot))
            if then is not None:
                then(s, done)
            return done

    def reschedule(
        self,
        booking_id: int,
        new_slot_id: int,
        actor: Actor,
        channel: str,
        *,
        idempotency_key: Optional[str] = None,
        details: Optional[dict[str, Any]] = None,
        then: Optional[Callable[[Session, RescheduleResult], None]] = None,
    ) -> RescheduleResult:
        """Move a booking in one transaction: if the new place fails, the old one stays
        (``then`` as for ``cancel``, not called for a replayed request)."""
        fingerprint = request_hash(
            op="reschedule",
            booking=booking_id,
            slot=new_slot_id,
            by=actor.label,
            details=details,
        )
        try:
            with self.db.write() as s:
                old = booking_row(s, booking_id)
                # Both slots in id order, so two opposite moves cannot deadlock.
                first, second = sorted({old.slot_id, new_slot_id})
                locked = {first: self._lock_slot(s, first)}
                if second != first:
                    locked[second] = self._lock_slot(s, second)
                old = self._lock_booking(s, booking_id)
                if idempotency_key:
                    done = self._by_key(s, idempotency_key)
                    if done is not None:
                        if done.request_hash != fingerprint:
                            raise IdempotencyConflict(
                                "that request key was used for another change"
                            )
                        return RescheduleResult(
                            BookingRecord.of(old), BookingRecord.of(done, replayed=True), []
                        )
                if new_slot_id == old.slot_id:
                    raise InvalidRequest("the new time is the same as the old one")
                self._authorise(s, old.elder_id, actor, "cancel")
                self._release(s, old, locked[old.slot_id], actor, channel, "rescheduled")
                new, _ = self._book_in(
                    s,
                    old.elder_id,
                    new_slot_id,
                    actor,
                    channel,
                    idempotency_key,
                    fingerprint,
                    old.quantity,
                    old.details if details is None else details,
                    False,
                    rescheduled_from=old.id,
                )
                promoted = self._promote(s, locked[old.slot_id])
                moved = RescheduleResult(BookingRecord.of(old), BookingRecord.of(new), promoted)
                if then is not None:
                    then(s, moved)
                return moved
        except _KeyRace:
            replay = self._replay(idempotency_key, fingerprint)
            return RescheduleResult(self.get(booking_id), replay, [])
        except SlotFull as full:
            full.alternatives = self.alternatives(new_slot_id)
            raise

    def set_outcome(self, booking_id: int, outcome: str, actor: Actor) -> BookingRecord:
        """Staff mark a confirmed booking completed or no-show once it has started."""
        if outcome not in OUTCOMES:
            raise InvalidRequest(f"outcome must be one of {OUTCOMES}")
        if actor.staff is None:
            raise NotPermitted("only staff record attendance")
        now = self.clock()
        with self.db.write() as s:
            row = booking_row(s, booking_id)
            if row.status != "confirmed":
                raise InvalidTransition(f"a {row.status} booking cannot become {outcome}")
            if now < row.slot.starts_at:
                raise InvalidTransition("attendance is recorded after the start")
            row.status, row.updated_at = outcome, now
            audit.record(
                s,
                now,
                actor,
                f"booking.{outcome}",
                f"booking:{row.id}",
                on_behalf_of=f"person:{row.elder_id}",
            )
            return BookingRecord.of(row)

    # -- inside a write transaction ----------------------------------------------

    def _book_in(
        self,
        s: Session,
        elder_id: int,
        slot_id: int,
        actor: Actor,
        channel: str,
        key: Optional[str],
        fingerprint: str,
        quantity: int,
        details: dict[str, Any],
        waitlist: bool,
        rescheduled_from: Optional[int] = None,
    ) -> tuple[m.Booking, bool]:
        slot = self._lock_slot(s, slot_id)
        if key:
            existing = self._by_key(s, key)
            if existing is not None:
                if existing.request_hash != fingerprint:
                    raise IdempotencyConflict("that request key was used for another booking")
                return existing, True
        self._authorise(s, elder_id, actor, "book")
        now = self.clock()
        check_open(slot, now)
        if not 1 <= quantity <= MAX_QUANTITY[slot.service]:
            raise InvalidRequest(
                f"between 1 and {MAX_QUANTITY[slot.service]} places can be booked at once",
                max=MAX_QUANTITY[slot.service],
            )
        held = s.scalars(
            select(m.Booking.id).where(
                m.Booking.elder_id == elder_id,
                m.Booking.group_code == slot.group_code,
                m.Booking.status.in_(m.ACTIVE_STATUSES),
            )
        ).first()
        if held is not None:
            raise AlreadyBooked("already booked for this", booking_id=held)
        taken = s.execute(
            update(m.Slot)
            .where(m.Slot.id == slot.id, m.Slot.used + quantity <= m.Slot.capacity)
            .values(used=m.Slot.used + quantity)
            .execution_options(synchronize_session=False)
        ).rowcount
        if taken != 1 and not waitlist:
            raise SlotFull("no places left")
        s.expire(slot)
        row = m.Booking(
            service=slot.service,
            slot_id=slot.id,
            group_code=slot.group_code,
            elder_id=elder_id,
            booked_by_id=actor.person_id,
            booked_by_staff=actor.staff,
            channel=channel,
            status="confirmed" if taken == 1 else "waitlisted",
            quantity=quantity,
            details=details,
            idempotency_key=key or None,
            request_hash=fingerprint,
            rescheduled_from_id=rescheduled_from,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        try:
            s.flush()
        except IntegrityError as exc:
            if key:
                raise _KeyRace() from exc
            raise AlreadyBooked("already booked for this") from None
        audit.record(
            s,
            now,
            actor,
            f"booking.{'waitlist' if row.status == 'waitlisted' else 'create'}",
            f"booking:{row.id}",
            channel=channel,
            on_behalf_of=behalf_of(actor, elder_id),
            detail={"slot": slot.code, "quantity": quantity, "rescheduled_from": rescheduled_from},
        )
        return row, False

    @staticmethod
    def _by_key(s: Session, key: str) -> Optional[m.Booking]:
        return s.scalars(select(m.Booking).where(m.Booking.idempotency_key == key)).first()

    def _replay(self, key: Optional[str], fingerprint: str) -> BookingRecord:
        with self.db.read() as s:
            row = self._by_key(s, key) if key else None
            if row is None:
                raise AlreadyBooked("already booked for this")
            if row.request_hash != fingerprint:
                raise IdempotencyConflict("that request key was used for another booking")
            return BookingRecord.of(row, replayed=True)
