"""Family linking by invitation code, the elder's consent, and what each side is told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from care import audit
from care import models as m
from care.audit import Actor
from care.errors import (
    InvalidCode,
    InvalidRequest,
    InvalidTransition,
    NotFound,
    NotPermitted,
    TooManyAttempts,
    UnknownElder,
)
from tests.care.helpers import STAFF, elder, load_small, slot_id

LUNCH_26 = "meal:2026-11-26:lunch:dine_in"
DAY_CARE_AM = "day_care:2026-11-26:morning"


def notes(care, person_id):
    """(kind, subject, message) of everything in a person's outbox, oldest first."""
    with care.db.read() as s:
        rows = s.scalars(
            select(m.Notification)
            .where(m.Notification.person_id == person_id)
            .order_by(m.Notification.id)
        )
        return [(r.kind, r.subject, r.message) for r in rows]


def trail(care, subject):
    with care.db.read() as s:
        return [(e.action, e.actor) for e in reversed(audit.entries(s, subject=subject))]


def invite(care, who, **kw):
    return care.family.create_invite(who.id, Actor.person(who.id), **kw)


def redeem(care, code, external_id="oWx-son", name="张伟", relation="son", **kw):
    return care.family.redeem(code, "wechat", external_id, name, relation, **kw)


def test_invite_is_six_digits_valid_48_hours_and_audited(care, clock):
    mum = elder(care)
    inv = invite(care, mum, relation_hint="daughter")
    assert len(inv.code) == 6 and inv.code.isdigit()
    assert inv.expires_at - inv.created_at == timedelta(hours=48) and inv.created_at == clock()
    assert (inv.elder_id, inv.created_by, inv.relation_hint) == (
        mum.id,
        f"person:{mum.id}",
        "daughter",
    )
    assert care.family.live_invites(mum.id) == [inv]
    by_staff = care.family.create_invite(mum.id, STAFF)
    assert by_staff.created_by == "staff:wang.staff" and by_staff.code != inv.code
    with care.db.read() as s:
        [entry] = audit.entries(s, subject=f"link_invite:{by_staff.id}")
    assert (entry.action, entry.on_behalf_of) == ("link_invite.create", f"person:{mum.id}")
    assert inv.code not in str(entry.detail)  # the secret is not in the audit log
    someone = care.people.create("family", "陌生人")
    with pytest.raises(NotPermitted):
        care.family.create_invite(mum.id, Actor.person(someone.id))
    with pytest.raises(UnknownElder):
        care.family.create_invite(someone.id, STAFF)
    with pytest.raises(InvalidRequest):
        invite(care, mum, relation_hint="boss")


def test_redeem_makes_a_pending_link_and_asks_the_elder(care):
    mum = elder(care)
    inv = invite(care, mum)
    link = redeem(care, f" {inv.code[:3]}-{inv.code[3:]} ", elder_called="mother")
    assert (link.elder_id, link.status, link.relation, link.elder_called) == (
        mum.id,
        "pending",
        "son",
        "mother",
    )
    son = care.people.find_by_identity("wechat", "oWx-son")
    assert (son.id, son.kind, son.name, son.preferred_language) == (
        link.family_id,
        "family",
        "张伟",
        "zh",
    )
    assert notes(care, mum.id) == [
        (
            "family_link_request",
            f"family_link:{link.id}",
            "您的儿子 张伟 想和您关联，可以替您预约。您同意吗？",
        )
    ]
    assert care.family.pending_for_elder(mum.id) == [link]
    assert care.family.live_invites(mum.id) == []
    assert trail(care, f"link_invite:{inv.id}") == [
        ("link_invite.create", f"person:{mum.id}"),
        ("link_invite.redeem", f"person:{son.id}"),
    ]
    assert trail(care, f"family_link:{link.id}") == [("family_link.request", f"person:{son.id}")]
    with pytest.raises(InvalidCode) as used:  # single use, even for another relative
        redeem(care, inv.code, external_id="oWx-daughter", name="张丽", relation="daughter")
    assert used.value.details["reason"] == "used"
    assert care.people.find_by_identity("wechat", "oWx-daughter") is None


def test_english_elder_is_asked_in_english_and_hint_fills_the_relation(care):
    dad = elder(care, "Wang Jun", preferred_language="en")
    inv = invite(care, dad, relation_hint="daughter")
    link = care.family.redeem(inv.code, "telegram", "77", "Li Na", None, "en")
    assert link.relation == "daughter"
    [(kind, _, message)] = notes(care, dad.id)
    assert kind == "family_link_request"
    assert (
        message
        == "Li Na (your daughter) would like to link with you and book for you. Do you agree?"
    )


def test_code_expires_after_48_hours(care, clock):
    mum = elder(care)
    old = invite(care, mum)
    clock.advance(hours=47, minutes=59)
    fresh = invite(care, mum)
    clock.advance(minutes=1)
    with pytest.raises(InvalidCode) as expired:
        redeem(care, old.code)
    assert expired.value.details == {"reason": "expired", "attempts_left": 4}
    assert care.family.live_invites(mum.id) == [fresh]
    assert redeem(care, fresh.code).status == "pending"


def test_at_most_three_live_codes_the_oldest_stops_working(care, clock):
    mum = elder(care)
    codes = []
    for _ in range(4):
        codes.append(invite(care, mum))
        clock.advance(minutes=1)
    assert [i.id for i in care.family.live_invites(mum.id)] == [i.id for i in codes[1:]]
    with pytest.raises(InvalidCode) as first:
        redeem(care, codes[0].code)
    assert first.value.details["reason"] == "expired"
    assert trail(care, f"link_invite:{codes[0].id}") == [
        ("link_invite.create", f"person:{mum.id}"),
        ("link_invite.expire", f"person:{mum.id}"),
        ("link_invite.refuse", "unknown"),
    ]
    assert redeem(care, codes[1].code).status == "pending"


def test_wrong_codes_lock_the_identity_out_for_15_minutes(care, clock):
    mum = elder(care)
    inv = invite(care, mum)
    wrong = "000000" if inv.code != "000000" else "111111"
    left = []
    for _ in range(5):
        with pytest.raises(InvalidCode) as err:
            redeem(care, wrong)
        left.append(err.value.details["attempts_left"])
        clock.advance(minutes=2)
    assert left == [4, 3, 2, 1, 0]
    last_wrong = clock() - timedelta(minutes=2)
    with pytest.raises(TooManyAttempts) as locked:  # even the right code is refused now
        redeem(care, inv.code)
    assert locked.value.retry_at == last_wrong + timedelta(minutes=15)
    with pytest.raises(InvalidCode):  # another identity is not locked out
        redeem(care, wrong, external_id="oWx-other")
    clock.advance(minutes=12, seconds=59)
    with pytest.raises(TooManyAttempts):  # knocking during the lockout does not extend it
        redeem(care, inv.code)
    clock.advance(seconds=1)
    assert redeem(care, inv.code).status == "pending"


def test_lockout_counts_per_identity_and_only_close_together(care, clock):
    mum = elder(care)
    inv = invite(care, mum)
    wrong = "000000" if inv.code != "000000" else "111111"
    for _ in range(4):
        with pytest.raises(InvalidCode):
            redeem(care, wrong)
    with pytest.raises(InvalidCode):  # a fifth wrong code from someone else
        redeem(care, wrong, external_id="oWx-other")
    clock.advance(minutes=16)
    with pytest.raises(InvalidCode) as err:  # the four are out of the window by now
        redeem(care, "12ab")
    assert err.value.details == {"reason": "unknown", "attempts_left": 4}
    assert redeem(care, inv.code).status == "pending"
    with care.db.read() as s:
        refused = audit.entries(s, action="link_invite.refuse")
    assert len(refused) == 6 and {e.subject for e in refused} == {"link_invite:unknown"}


def test_own_code_or_an_elder_as_family_is_refused_and_the_code_survives(care):
    mum = elder(care)
    care.people.add_identity(mum.id, "wechat", "oWx-mum")
    neighbour = elder(care, "王大爷")
    care.people.add_identity(neighbour.id, "wechat", "oWx-wang")
    inv = invite(care, mum)
    with pytest.raises(InvalidRequest):
        redeem(care, inv.code, external_id="oWx-mum")
    with pytest.raises(InvalidRequest):
        redeem(care, inv.code, external_id="oWx-wang")
    with pytest.raises(InvalidRequest):
        redeem(care, inv.code, relation="boss")
    with pytest.raises(InvalidRequest):
        redeem(care, inv.code, name="  ")
    assert care.family.live_invites(mum.id) == [inv]
    assert notes(care, mum.id) == []
    assert redeem(care, inv.code).status == "pending"


def test_family_books_only_after_the_elder_agrees(care):
    load_small(care)
    mum = elder(care)
    link = redeem(care, invite(care, mum).code, relation="daughter", name="李娜", language="en")
    lina = Actor.person(link.family_id)
    with pytest.raises(NotPermitted):
        care.bookings.book(mum.id, slot_id(care, LUNCH_26), lina, "wechat")
    someone = elder(care, "王大爷")
    with pytest.raises(NotFound):
        care.family.answer(someone.id, link.id, True, Actor.person(someone.id))
    with pytest.raises(InvalidRequest):
        care.family.answer(mum.id, link.id, True, lina)
    active = care.family.answer(mum.id, link.id, True, Actor.person(mum.id))
    assert active.status == "active" and active.consented_at is not None
    assert care.family.pending_for_elder(mum.id) == []
    with pytest.raises(InvalidTransition):
        care.family.answer(mum.id, link.id, False, Actor.person(mum.id))
    assert notes(care, link.family_id) == [
        (
            "family_link_agreed",
            f"family_link:{link.id}",
            "李秀兰 agreed to link with you: you can now book for them.",
        )
    ]
    booking = care.bookings.book(mum.id, slot_id(care, LUNCH_26), lina, "wechat")
    assert booking.booked_by == f"person:{link.family_id}"
    assert care.family.notify_booked_for(booking, "11月26日 午餐 堂食", "lunch on 26 Nov, dine in")
    assert care.family.notify_booked_for(booking, "x", "x") is False  # once per booking
    assert notes(care, mum.id)[-1] == (
        "booked_for_you",
        f"booking:{booking.id}",
        "您的女儿 李娜 替您订了：11月26日 午餐 堂食",
    )
    own = care.bookings.book(mum.id, slot_id(care, DAY_CARE_AM), Actor.person(mum.id), "wechat")
    assert care.family.notify_booked_for(own, "日间照料", "day care") is False
    assert trail(care, f"family_link:{link.id}") == [
        ("family_link.request", f"person:{link.family_id}"),
        ("family_link.consent", f"person:{mum.id}"),
    ]


def test_english_elder_hears_of_a_booking_in_english(care):
    load_small(care)
    dad = elder(care, "Wang Jun", preferred_language="en")
    link = redeem(care, invite(care, dad).code, name="Wang Lei", relation="grandson")
    care.family.answer(dad.id, link.id, True, STAFF)
    booking = care.bookings.book(dad.id, slot_id(care, LUNCH_26), Actor.person(link.family_id), "x")
    assert care.family.notify_booked_for(booking, "午餐", "lunch on Thursday 26 Nov")
    assert (
        notes(care, dad.id)[-1][2]
        == "Wang Lei (your grandson) booked for you: lunch on Thursday 26 Nov"
    )


def test_declined_link_allows_nothing_and_the_relative_is_told(care):
    load_small(care)
    mum = elder(care)
    link = redeem(care, invite(care, mum).code)
    declined = care.family.answer(mum.id, link.id, False, Actor.person(mum.id))
    assert declined.status == "revoked"
    assert notes(care, link.family_id) == [
        ("family_link_declined", f"family_link:{link.id}", "李秀兰没有同意和您关联。")
    ]
    with pytest.raises(NotPermitted):
        care.bookings.book(mum.id, slot_id(care, LUNCH_26), Actor.person(link.family_id), "wechat")
    assert trail(care, f"family_link:{link.id}")[-1] == ("family_link.decline", f"person:{mum.id}")
    # A new code asks again: the same person, the same link row, pending once more.
    again = redeem(care, invite(care, mum).code)
    assert (again.id, again.status) == (link.id, "pending")


def test_already_linked_relative_does_not_use_up_a_code(care):
    mum = elder(care)
    link = redeem(care, invite(care, mum).code)
    care.family.answer(mum.id, link.id, True, Actor.person(mum.id))
    inv = invite(care, mum)
    again = redeem(care, inv.code, elder_called="mother")
    assert (again.id, again.status, again.elder_called) == (link.id, "active", "mother")
    assert care.family.live_invites(mum.id) == [inv]
    assert [n[0] for n in notes(care, mum.id)] == ["family_link_request"]


def test_elders_of_filters_by_what_the_relative_calls_the_elder(care):
    mum, dad, grandma = elder(care, "李秀兰"), elder(care, "张建国"), elder(care, "赵奶奶")
    links = {}
    for who, called in ((mum, "mother"), (dad, "father"), (grandma, "grandmother")):
        links[who.id] = redeem(care, invite(care, who).code, elder_called=called)
        if who is not grandma:  # grandma has not answered yet
            care.family.answer(who.id, links[who.id].id, True, Actor.person(who.id))
    son_id = links[mum.id].family_id
    assert {lk.family_id for lk in links.values()} == {son_id}
    everyone = care.family.elders_of(son_id)
    assert [(lk.elder_called, p.name) for lk, p in everyone] == [
        ("mother", "李秀兰"),
        ("father", "张建国"),
    ]
    [(link, person)] = care.family.elders_of(son_id, "mother")
    assert (link.id, person) == (links[mum.id].id, care.people.get(mum.id))
    assert [p.name for _, p in care.family.elders_of(son_id, "parent")] == ["李秀兰", "张建国"]
    assert care.family.elders_of(son_id, "grandmother") == []  # still pending
    with pytest.raises(InvalidRequest):
        care.family.elders_of(son_id, "mum")
