"""Every booking rule, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from care import audit
from care.audit import Actor
from care.errors import (
    AlreadyBooked,
    BookingClosed,
    IdempotencyConflict,
    InvalidRequest,
    NotPermitted,
    SlotFull,
    UnknownBooking,
    UnknownElder,
    UnknownSlot,
)
from tests.care.helpers import STAFF, child_linked, elder, load_small, slot_id

LUNCH_26 = "meal:2026-11-26:lunch:dine_in"
DELIVERY_26 = "meal:2026-11-26:lunch:delivery"
INTERNAL_0800 = "clinic:2026-11-26:internal-medicine:dr-wang-shufen:0800:0800"
INTERNAL_0830 = "clinic:2026-11-26:internal-medicine:dr-wang-shufen:0800:0830"
DAY_CARE_AM = "day_care:2026-11-26:morning"
DAY_CARE_PM = "day_care:2026-11-26:afternoon"


@pytest.fixture
def loaded(care):
    load_small(care)
    return care


def book(care, who, code, **kw):
    return care.bookings.book(who.id, slot_id(care, code), Actor.person(who.id), "rest", **kw)


def test_booking_takes_a_place_and_is_audited(loaded):
    grandma = elder(loaded)
    b = book(loaded, grandma, LUNCH_26, details={"diet": "soft"})
    assert b.status == "confirmed" and b.service == "meal" and b.booked_by == f"person:{grandma.id}"
    assert b.slot.date == date(2026, 11, 26) and b.details == {"diet": "soft"}
    assert loaded.bookings.slot_by_code(LUNCH_26).used == 1
    with loaded.db.read() as s:
        [entry] = audit.entries(s, subject=f"booking:{b.id}")
    assert entry.action == "booking.create" and entry.channel == "rest"
    assert entry.actor == f"person:{grandma.id}" and entry.on_behalf_of is None


def test_availability_filters(loaded):
    d0, d1 = date(2026, 11, 25), date(2026, 11, 27)
    meals = loaded.bookings.availability("meal", d0, d1, diet_tag="low-sugar")
    lunches = {s.code for s in meals if s.details["meal"] == "lunch"}
    assert lunches == {LUNCH_26, DELIVERY_26}  # the 25th and 27th have no low-sugar dish
    assert all(s.details["meal"] == "dinner" for s in meals if s.code not in lunches)
    assert {s.option for s in loaded.bookings.availability("meal", d0, d1)} == {
        "dine_in",
        "delivery",
    }
    rehab = loaded.bookings.availability("clinic", d0, d1, department="rehabilitation")
    assert len(rehab) == 3 and all(s.details["doctor"] == "李建国" for s in rehab)
    assert len(loaded.bookings.availability("clinic", d0, d1, department="内科")) == 2
    morning = loaded.bookings.availability("clinic", d0, d1, part_of_day="morning")
    assert {s.code for s in morning} == {INTERNAL_0800, INTERNAL_0830}
    pm = loaded.bookings.availability("day_care", d0, d1, part_of_day="afternoon")
    assert [s.code for s in pm] == [DAY_CARE_PM]
    english = loaded.bookings.availability(
        "companion_call", d0, date(2026, 11, 28), volunteer_language="en"
    )
    assert {s.details["volunteer_code"] for s in english} == {"v-zhang", "v-emily"}
    chinese = loaded.bookings.availability(
        "companion_call", d0, date(2026, 11, 28), volunteer_language="zh"
    )
    assert {s.details["volunteer_code"] for s in chinese} == {"v-zhang"}
    with pytest.raises(InvalidRequest):
        loaded.bookings.availability("massage", d0, d1)


def test_full_slots_are_not_offered(loaded):
    a, b = elder(loaded, "甲"), elder(loaded, "乙")
    book(loaded, a, INTERNAL_0800)
    codes = {
        s.code
        for s in loaded.bookings.availability(
            "clinic", date(2026, 11, 26), date(2026, 11, 26), department="内科"
        )
    }
    assert codes == {INTERNAL_0830}
    with pytest.raises(SlotFull) as full:
        book(loaded, b, INTERNAL_0800)
    assert [s.code for s in full.value.alternatives][0] == INTERNAL_0830
    assert full.value.code == "slot_full"


def test_nothing_in_the_past_or_after_the_cutoff(loaded, clock):
    grandma = elder(loaded)
    clock.advance(hours=2)  # 10:00 in Harbin: today's lunch orders closed at 09:30
    with pytest.raises(BookingClosed) as closed:
        book(loaded, grandma, "meal:2026-11-25:lunch:dine_in")
    assert closed.value.details["reason"] == "cutoff"
    clock.advance(hours=4)  # 14:00: lunch has been served
    with pytest.raises(BookingClosed) as past:
        book(loaded, grandma, "meal:2026-11-25:lunch:dine_in")
    assert past.value.details["reason"] == "past"
    assert loaded.bookings.slot_by_code("meal:2026-11-25:lunch:dine_in").used == 0


def test_one_booking_per_meal_session_and_day(loaded):
    grandma = elder(loaded)
    book(loaded, grandma, LUNCH_26)
    with pytest.raises(AlreadyBooked):
        book(loaded, grandma, DELIVERY_26)  # same meal, other capacity
    book(loaded, grandma, INTERNAL_0800)
    with pytest.raises(AlreadyBooked):
        book(loaded, grandma, INTERNAL_0830)  # same clinic session
    book(loaded, grandma, DAY_CARE_AM)
    with pytest.raises(AlreadyBooked):
        book(loaded, grandma, DAY_CARE_PM)  # same day of day care
    assert loaded.bookings.slot_by_code(DELIVERY_26).used == 0


def test_the_database_itself_refuses_overbooking(loaded):
    """Even a buggy caller cannot push a slot past its capacity, nor duplicate a hold."""
    grandma = elder(loaded)
    b = book(loaded, grandma, LUNCH_26)
    with pytest.raises(IntegrityError):
        with loaded.db.write() as s:
            s.execute(text("UPDATE slots SET used = capacity + 1 WHERE code = :c"), {"c": LUNCH_26})
    with pytest.raises(IntegrityError):
        with loaded.db.write() as s:
            s.execute(
                text(
                    "INSERT INTO bookings (service, slot_id, group_code, elder_id, booked_by_id,"
                    " channel, status, quantity, details, created_at, updated_at)"
                    " SELECT service, slot_id, group_code, elder_id, booked_by_id, channel,"
                    " 'confirmed', 1, details, created_at, updated_at FROM bookings WHERE id = :id"
                ),
                {"id": b.id},
            )


def test_audit_log_is_append_only(loaded):
    elder(loaded)
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError):
            with loaded.db.write() as s:
                s.execute(text(statement))


def test_meal_quantity(loaded):
    grandma = elder(loaded)
    b = book(loaded, grandma, "meal:2026-11-27:lunch:dine_in", quantity=3)
    assert (
        b.quantity == 3 and loaded.bookings.slot_by_code("meal:2026-11-27:lunch:dine_in").used == 3
    )
    other = elder(loaded, "王大爷")
    with pytest.raises(SlotFull):
        book(loaded, other, "meal:2026-11-27:lunch:dine_in", quantity=3)
    with pytest.raises(InvalidRequest):
        book(loaded, other, "meal:2026-11-27:lunch:delivery", quantity=9)
    with pytest.raises(InvalidRequest):
        book(loaded, other, INTERNAL_0800, quantity=2)


def test_waitlist_and_promotion_on_cancel(loaded):
    first, second, third = (elder(loaded, n) for n in ("甲", "乙", "丙"))
    confirmed = book(loaded, first, DAY_CARE_AM)
    with pytest.raises(SlotFull):
        book(loaded, second, DAY_CARE_AM)
    w2 = loaded.bookings.join_waitlist(
        second.id, slot_id(loaded, DAY_CARE_AM), Actor.person(second.id), "rest"
    )
    w3 = loaded.bookings.join_waitlist(
        third.id, slot_id(loaded, DAY_CARE_AM), Actor.person(third.id), "rest"
    )
    assert (w2.status, w3.status) == ("waitlisted", "waitlisted")
    result = loaded.bookings.cancel(
        confirmed.id, Actor.person(first.id), "rest", reason="feeling unwell"
    )
    assert result.booking.status == "cancelled"
    assert [p.id for p in result.promoted] == [w2.id] and result.promoted[0].status == "confirmed"
    assert loaded.bookings.get(w3.id).status == "waitlisted"
    assert loaded.bookings.slot_by_code(DAY_CARE_AM).used == 1
    with loaded.db.read() as s:
        [promo] = audit.entries(s, subject=f"booking:{w2.id}", action="booking.promote")
    assert promo.actor == "system" and promo.on_behalf_of == f"person:{second.id}"
    # Cancelling again is harmless and frees nothing more.
    again = loaded.bookings.cancel(confirmed.id, Actor.person(first.id), "rest")
    assert again.booking.replayed and again.promoted == []
    assert loaded.bookings.slot_by_code(DAY_CARE_AM).used == 1


def test_join_waitlist_books_when_a_place_is_free(loaded):
    grandma = elder(loaded)
    b = loaded.bookings.join_waitlist(
        grandma.id, slot_id(loaded, LUNCH_26), Actor.person(grandma.id), "rest"
    )
    assert b.status == "confirmed"


def test_reschedule_moves_atomically(loaded):
    grandma, other = elder(loaded), elder(loaded, "王大爷")
    old = book(loaded, grandma, INTERNAL_0800)
    moved = loaded.bookings.reschedule(
        old.id, slot_id(loaded, INTERNAL_0830), Actor.person(grandma.id), "rest"
    )
    assert moved.old.status == "cancelled" and moved.new.status == "confirmed"
    assert moved.new.rescheduled_from_id == old.id
    assert loaded.bookings.slot_by_code(INTERNAL_0800).used == 0
    assert loaded.bookings.slot_by_code(INTERNAL_0830).used == 1
    # Moving into a full slot fails and leaves the booking where it was.
    taken = book(loaded, other, LUNCH_26)
    mine = book(loaded, grandma, "meal:2026-11-27:lunch:dine_in")
    book(loaded, elder(loaded, "丙"), LUNCH_26)
    with pytest.raises(SlotFull):
        loaded.bookings.reschedule(
            mine.id, slot_id(loaded, LUNCH_26), Actor.person(grandma.id), "rest"
        )
    assert loaded.bookings.get(mine.id).status == "confirmed"
    assert loaded.bookings.slot_by_code("meal:2026-11-27:lunch:dine_in").used == 1
    assert loaded.bookings.slot_by_code(LUNCH_26).used == 2 and taken.status == "confirmed"


def test_reschedule_into_a_closed_slot_keeps_the_old_one(loaded, clock):
    grandma = elder(loaded)
    mine = book(loaded, grandma, "meal:2026-11-27:lunch:dine_in")
    clock.advance(hours=2)
    with pytest.raises(BookingClosed):
        loaded.bookings.reschedule(
            mine.id,
            slot_id(loaded, "meal:2026-11-25:lunch:dine_in"),
            Actor.person(grandma.id),
            "rest",
        )
    assert loaded.bookings.get(mine.id).status == "confirmed"


def test_proxy_booking_needs_an_active_link_with_permission(loaded):
    mum = elder(loaded)
    stranger = loaded.people.create("family", "陌生人")
    with pytest.raises(NotPermitted):
        book_for(loaded, stranger, mum, LUNCH_26)
    link = loaded.people.request_link(mum.id, stranger.id, "son")
    with pytest.raises(NotPermitted):  # pending: the elder has not agreed yet
        book_for(loaded, stranger, mum, LUNCH_26)
    loaded.people.consent_link(link.id, Actor.person(mum.id))
    b = book_for(loaded, stranger, mum, LUNCH_26)
    assert b.elder_id == mum.id and b.booked_by == f"person:{stranger.id}"
    with loaded.db.read() as s:
        [entry] = audit.entries(s, subject=f"booking:{b.id}")
    assert entry.on_behalf_of == f"person:{mum.id}"
    loaded.people.revoke_link(link.id, Actor.person(mum.id))
    with pytest.raises(NotPermitted):
        loaded.bookings.cancel(b.id, Actor.person(stranger.id), "telegram")
    with pytest.raises(NotPermitted):
        book_for(loaded, stranger, mum, INTERNAL_0800)


def test_family_link_without_booking_permission(loaded):
    mum = elder(loaded)
    son = child_linked(loaded, mum, can_book=False, can_cancel=False)
    with pytest.raises(NotPermitted):
        book_for(loaded, son, mum, LUNCH_26)
    b = loaded.bookings.book(mum.id, slot_id(loaded, LUNCH_26), STAFF, "staff")
    assert b.booked_by == "staff:wang.staff"
    with pytest.raises(NotPermitted):
        loaded.bookings.cancel(b.id, Actor.person(son.id), "wechat")


def test_only_the_elder_consents(loaded):
    mum = elder(loaded)
    son = loaded.people.create("family", "李明")
    link = loaded.people.request_link(mum.id, son.id, "son")
    with pytest.raises(InvalidRequest):
        loaded.people.consent_link(link.id, Actor.person(son.id))
    assert loaded.people.consent_link(link.id, Actor.person(mum.id)).status == "active"


def book_for(care, family, elder_, code):
    return care.bookings.book(elder_.id, slot_id(care, code), Actor.person(family.id), "wechat")


def test_idempotency_key(loaded):
    grandma = elder(loaded)
    first = book(loaded, grandma, LUNCH_26, idempotency_key="wx-msg-1")
    again = book(loaded, grandma, LUNCH_26, idempotency_key="wx-msg-1")
    assert again.id == first.id and again.replayed and not first.replayed
    assert loaded.bookings.slot_by_code(LUNCH_26).used == 1
    with pytest.raises(IdempotencyConflict):
        book(loaded, grandma, DELIVERY_26, idempotency_key="wx-msg-1")
    with pytest.raises(IdempotencyConflict):
        book(loaded, grandma, LUNCH_26, idempotency_key="wx-msg-1", quantity=2)


def test_unknown_things_are_typed_errors(loaded):
    grandma = elder(loaded)
    with pytest.raises(UnknownElder):
        loaded.bookings.book(9999, slot_id(loaded, LUNCH_26), STAFF, "staff")
    family = loaded.people.create("family", "李明")
    with pytest.raises(UnknownElder):  # a family member is not an elder
        loaded.bookings.book(family.id, slot_id(loaded, LUNCH_26), STAFF, "staff")
    with pytest.raises(UnknownSlot):
        loaded.bookings.book(grandma.id, 9999, Actor.person(grandma.id), "rest")
    with pytest.raises(UnknownSlot):
        loaded.bookings.slot_by_code("meal:1999-01-01:lunch:dine_in")
    with pytest.raises(UnknownBooking):
        loaded.bookings.cancel(9999, STAFF, "staff")
    with pytest.raises(UnknownElder):
        loaded.bookings.upcoming(9999)


def test_upcoming_lists_what_is_still_ahead(loaded, clock):
    grandma = elder(loaded)
    today = book(loaded, grandma, "meal:2026-11-25:lunch:dine_in")
    clinic = book(loaded, grandma, INTERNAL_0830)
    meal = book(loaded, grandma, LUNCH_26)
    cancelled = book(loaded, grandma, DAY_CARE_AM)
    loaded.bookings.cancel(cancelled.id, Actor.person(grandma.id), "rest")
    assert [b.id for b in loaded.bookings.upcoming(grandma.id)] == [today.id, clinic.id, meal.id]
    clock.advance(hours=6)  # lunch today is over
    assert [b.id for b in loaded.bookings.upcoming(grandma.id)] == [clinic.id, meal.id]


def test_cancel_after_cutoff_only_by_staff(loaded, clock):
    grandma = elder(loaded)
    b = book(loaded, grandma, "meal:2026-11-25:lunch:dine_in")
    clock.advance(hours=2)
    with pytest.raises(BookingClosed):
        loaded.bookings.cancel(b.id, Actor.person(grandma.id), "rest")
    assert (
        loaded.bookings.cancel(b.id, STAFF, "staff", reason="in hospital").booking.status
        == "cancelled"
    )


def test_attendance_outcome(loaded, clock):
    grandma = elder(loaded)
    b = book(loaded, grandma, LUNCH_26)
    with pytest.raises(NotPermitted):
        loaded.bookings.set_outcome(b.id, "completed", Actor.person(grandma.id))
    clock.advance(days=1, hours=4)
    assert loaded.bookings.set_outcome(b.id, "no_show", STAFF).status == "no_show"
