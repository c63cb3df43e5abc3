"""Bookings as staff see them, and staff changing one on an elder's behalf.

The day's board is read in three queries (slots, active bookings with their elders,
the names of family members who booked), never one per slot. Cancelling and moving
go through ``care.booking.Bookings`` (capacity-safe, audited there) and write the
elder's message to the outbox in the same transaction, read back in the elder's
language: what, which day with its weekday, what time, where, why, and whom to call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta, tzinfo
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from care import audit
from care import models as m
from care.audit import Actor
from care.booking import Bookings
from care.errors import BookingClosed, InvalidRequest, InvalidTransition
from care.records import BookingRecord, CancelResult, RescheduleResult, SlotRecord

log = logging.getLogger(__name__)

CHANNEL = "staff_console"
MOVE_DAYS = 14
MAX_DAYS_AWAY = 3660
REASON_LIMIT = 500
WEEKDAYS_ZH = "一二三四五六日"
OPTION_ZH = {"dine_in": "在食堂吃", "delivery": "送到家", "morning": "上午",
             "afternoon": "下午", "full_day": "全天"}  # fmt: skip
OPTION_EN = {"dine_in": "at the canteen", "delivery": "delivered home", "morning": "morning",
             "afternoon": "afternoon", "full_day": "full day"}  # fmt: skip
MEAL_ZH = {"lunch": "午饭", "dinner": "晚饭"}

CANCELLED = {
    "zh": "安心提醒：服务中心工作人员帮您取消了这个预约：{what}。原因：{reason}。"
    "有问题请打中心电话 {hotline}。",
    "en": "Anxin: the care centre has cancelled this booking for you: {what}. "
    "Reason: {reason}. If you have questions, please call the centre on {hotline}.",
}
MOVED = {
    "zh": "安心提醒：服务中心工作人员帮您改了预约的时间。原来是：{old}。现在是：{new}。"
    "原因：{reason}。有问题请打中心电话 {hotline}。",
    "en": "Anxin: the care centre has moved your booking. It was: {old}. It is now: {new}. "
    "Reason: {reason}. If you have questions, please call the centre on {hotline}.",
}
PROMOTED = {
    "zh": "安心提醒：好消息，您排队等的位置空出来了，已经给您订好：{what}。"
    "不需要的话请打中心电话 {hotline}。",
    "en": "Anxin: good news, a place came free and is now booked for you: {what}. "
    "If you no longer need it, please call the centre on {hotline}.",
}


@dataclass(frozen=True)
class Seat:
    """One active booking on the board, with whom it is for and who made it."""

    booking: BookingRecord
    elder_name: str
    elder_phone: Optional[str]
    booked_by_name: Optional[str]


@dataclass
class SlotBoard:
    slot: SlotRecord
    confirmed: list[Seat] = field(default_factory=list)
    waitlist: list[Seat] = field(default_factory=list)

    @property
    def percent(self) -> int:
        capacity = self.slot.capacity
        return min(100, round(100 * self.slot.used / capacity)) if capacity else 0


def parse_day(text: Optional[str], today: date) -> date:
    if not text:
        return today
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequest("date must be YYYY-MM-DD") from None
    # Far enough for any real question; the day before 0001-01-01 does not exist.
    if abs((day - today).days) > MAX_DAYS_AWAY:
        raise InvalidRequest("date is too far from today")
    return day


def parse_service(text: Optional[str]) -> Optional[str]:
    if not text:
        return None
    if text not in m.SERVICES:
        raise InvalidRequest(f"service must be one of {', '.join(m.SERVICES)}")
    return text


def board(bookings: Bookings, day: date, service: Optional[str] = None) -> list[SlotBoard]:
    """Each slot of ``day`` (service order, then time) with its bookings; waitlist in the
    order places are given out (booking id, as ``Bookings._promote`` does)."""
    stmt = select(m.Slot).where(m.Slot.date == day)
    if service is not None:
        stmt = stmt.where(m.Slot.service == service)
    with bookings.db.read() as s:
        slots = [SlotRecord.of(r) for r in s.scalars(stmt.order_by(m.Slot.starts_at, m.Slot.id))]
        rows = s.execute(
            select(m.Booking, m.Person)
            .join(m.Person, m.Person.id == m.Booking.elder_id)
            .where(
                m.Booking.slot_id.in_([x.id for x in slots]),
                m.Booking.status.in_(m.ACTIVE_STATUSES),
            )
            .order_by(m.Booking.id)
        ).all()
        booker_ids = {b.booked_by_id for b, _ in rows if b.booked_by_id is not None}
        names = dict(
            s.execute(select(m.Person.id, m.Person.name).where(m.Person.id.in_(booker_ids))).all()
        )
        seats = [
            Seat(
                BookingRecord.of(b),
                p.name,
                p.phone,
                names.get(b.booked_by_id) if b.booked_by_id is not None else None,
            )
            for b, p in rows
        ]
    order = {svc: i for i, svc in enumerate(m.SERVICES)}
    boards = {x.id: SlotBoard(x) for x in sorted(slots, key=lambda x: order[x.service])}
    for seat in seats:
        found = boards[seat.booking.slot.id]
        (found.confirmed if seat.booking.status == "confirmed" else found.waitlist).append(seat)
    return list(boards.values())


def move_targets(bookings: Bookings, booking: BookingRecord, today: date) -> list[SlotRecord]:
    """Open slots of the same service with room for this booking over the next two weeks."""
    found = bookings.availability(
        booking.service, today, today + timedelta(days=MOVE_DAYS), quantity=booking.quantity
    )
    return [x for x in found if x.id != booking.slot.id]


def clean_reason(reason: str) -> str:
    """One line, at most ``REASON_LIMIT`` characters; empty means "ask again"."""
    return " ".join(reason.split())[:REASON_LIMIT]


def cancel_for_elder(
    bookings: Bookings, booking_id: int, staff: str, reason: str, hotline: str
) -> CancelResult:
    """Cancel as ``staff``; the elder (and anyone promoted) is told in the same transaction.

    Raises ``InvalidTransition`` when the booking was no longer active (nothing written)."""
    reason = clean_reason(reason)
    if not reason:
        raise InvalidRequest("a reason is needed")
    current = bookings.get(booking_id)
    if current.status not in m.ACTIVE_STATUSES:
        raise InvalidTransition(f"a {current.status} booking cannot be changed")
    _not_started(bookings, current)

    def tell(s: Session, done: CancelResult) -> None:
        _tell_cancelled(s, bookings, done.booking, reason, hotline)
        _tell_promoted(s, bookings, done.promoted, hotline)

    result = bookings.cancel(booking_id, Actor.staff_user(staff), CHANNEL, reason, then=tell)
    if result.booking.replayed:
        # Cancelled by someone else between our read and our write: nothing was changed.
        raise InvalidTransition("the booking was already cancelled")
    log.info("booking %s cancelled by staff, %d promoted", booking_id, len(result.promoted))
    return result


def move_for_elder(
    bookings: Bookings, booking_id: int, slot_id: int, staff: str, reason: str, hotline: str
) -> RescheduleResult:
    """Move as ``staff`` to ``slot_id`` (same service); the elder is told the new time."""
    reason = clean_reason(reason)
    if not reason:
        raise InvalidRequest("a reason is needed")
    current = bookings.get(booking_id)
    _not_started(bookings, current)
    target = bookings.slot(slot_id)
    if target.service != current.service:
        raise InvalidRequest("the new time must be for the same service")
    if target.id == current.slot.id:
        # Nothing to move (and Bookings.reschedule expects two different slots).
        raise InvalidRequest("the booking is already at that time")
    actor = Actor.staff_user(staff)

    def tell(s: Session, done: RescheduleResult) -> None:
        audit.record(
            s,
            bookings.clock(),
            actor,
            "booking.move",
            f"booking:{done.old.id}",
            channel=CHANNEL,
            on_behalf_of=f"person:{done.old.elder_id}",
            detail={"reason": reason, "to_booking": done.new.id, "to_slot": done.new.slot.code},
        )
        lang = _language(s, done.old.elder_id)
        _add(
            s,
            bookings,
            done.old.elder_id,
            "booking_moved",
            f"booking:{done.new.id}",
            MOVED[lang].format(
                old=describe(done.old.slot, lang, bookings.tz),
                new=describe(done.new.slot, lang, bookings.tz),
                reason=reason,
                hotline=hotline,
            ),
        )
        _tell_promoted(s, bookings, done.promoted, hotline)

    result = bookings.reschedule(booking_id, slot_id, actor, CHANNEL, then=tell)
    log.info("booking %s moved by staff to %s", booking_id, result.new.id)
    return result


def started(bookings: Bookings, booking: BookingRecord) -> bool:
    return bookings.clock() >= booking.slot.starts_at


def _not_started(bookings: Bookings, booking: BookingRecord) -> None:
    # Once it has begun, a booking is attended or missed (set_outcome), not cancelled:
    # telling an elder "cancelled" about this morning's lunch helps nobody.
    if started(bookings, booking):
        raise BookingClosed("the booking's time has begun", reason="started")


# -- saying it ------------------------------------------------------------------------


def title(slot: SlotRecord, lang: str) -> str:
    """What and where, without the time: "午饭 · 在食堂吃", "Internal medicine · Dr Wang"."""
    d, opt = slot.details, slot.option
    if lang == "en":
        return {
            "meal": f"{str(d.get('meal', '')).capitalize()} · {OPTION_EN.get(opt, opt)}",
            "day_care": f"Day care ({OPTION_EN.get(opt, opt)})" + _at(d.get("room_en")),
            "clinic": f"{d.get('department_en')} · {d.get('doctor_en')}" + _at(d.get("room_en")),
            "companion_call": f"Call from {d.get('volunteer_en')}",
        }.get(slot.service, slot.code)
    return {
        "meal": f"{MEAL_ZH.get(str(d.get('meal')), '')} · {OPTION_ZH.get(opt, opt)}",
        "day_care": f"日托（{OPTION_ZH.get(opt, opt)}）" + _at(d.get("room")),
        "clinic": f"{d.get('department')} · {d.get('doctor')}医生" + _at(d.get("room")),
        "companion_call": f"志愿者{d.get('volunteer')}打电话",
    }.get(slot.service, slot.code)


def describe(slot: SlotRecord, lang: str, tz: tzinfo) -> str:
    """A read-back an elder can check: the date with its weekday, the time, what and where."""
    local = slot.starts_at.astimezone(tz)
    day = slot.date
    # Said as a sentence, not a label: the middle dots of a title read badly aloud.
    if lang == "en":
        what = title(slot, "en").replace(" · ", ", ")
        return f"{day:%A} {day.day} {day:%B}, {local:%H:%M}, {what}"
    weekday = WEEKDAYS_ZH[day.weekday()]
    what = title(slot, "zh").replace(" · ", "，")
    return f"{day.month}月{day.day}号（星期{weekday}）{local:%H:%M}，{what}"


def _at(place: Optional[str]) -> str:
    return f" · {place}" if place else ""


def _language(s: Session, person_id: int) -> str:
    person = s.get(m.Person, person_id)
    return person.preferred_language if person and person.preferred_language == "en" else "zh"


def _add(
    s: Session, bookings: Bookings, person_id: int, kind: str, subject: str, text: str
) -> None:
    s.add(
        m.Notification(
            person_id=person_id,
            kind=kind,
            subject=subject,
            message=text,
            created_at=bookings.clock(),
        )
    )


def _tell_cancelled(
    s: Session, bookings: Bookings, booking: BookingRecord, reason: str, hotline: str
) -> None:
    lang = _language(s, booking.elder_id)
    what = describe(booking.slot, lang, bookings.tz)
    text = CANCELLED[lang].format(what=what, reason=reason, hotline=hotline)
    _add(s, bookings, booking.elder_id, "booking_cancelled", f"booking:{booking.id}", text)


def _tell_promoted(
    s: Session, bookings: Bookings, promoted: list[BookingRecord], hotline: str
) -> None:
    for row in promoted:
        lang = _language(s, row.elder_id)
        text = PROMOTED[lang].format(what=describe(row.slot, lang, bookings.tz), hotline=hotline)
        _add(s, bookings, row.elder_id, "booking_promoted", f"booking:{row.id}", text)
