"""Bookings pages and API on the real app and database (SQLite and PostgreSQL): the day's
board with used/free and the waitlist, and staff cancelling or moving a booking for an
elder — the reason required, CSRF checked, the change audited, the elder told in the
same transaction, a refused change leaving everything as it was."""

from __future__ import annotations

from typing import Any, Callable

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from care import audit
from care import models as m
from care.audit import Actor
from care.services import CareServices
from care.staff_sessions import StaffSessions
from staff.i18n import STRINGS
from tests.care.helpers import elder, load_small, slot_id
from tests.conftest import MovableClock
from tests.staff.conftest import SETTINGS, csrf_from

LUNCH = "meal:2026-11-26:lunch:dine_in"  # 2 seats
DELIVERY = "meal:2026-11-26:lunch:delivery"  # 1 portion
LATER = "meal:2026-11-27:lunch:dine_in"  # 5 seats
PHONE_A = "13904510078"
ZH, EN = STRINGS["zh"], STRINGS["en"]


@pytest.fixture
def day(care: CareServices) -> dict[str, Any]:
    """Thursday's lunch full (two seats), one elder waiting; the one delivery taken."""
    load_small(care)
    a = elder(care, "李秀兰", phone=PHONE_A, dietary_needs=["diabetic"])
    b = elder(care, "张德福", phone="13845120931")
    waiting = elder(care, "王淑珍", phone="15004610256")
    lee = elder(care, "Margaret Lee", phone="13199870412", preferred_language="en")
    book = care.bookings.book
    ids = {
        "a": book(a.id, slot_id(care, LUNCH), Actor.person(a.id), "wechat").id,
        "b": book(b.id, slot_id(care, LUNCH), Actor.person(b.id), "voice").id,
        "lee": book(lee.id, slot_id(care, DELIVERY), Actor.person(lee.id), "telegram").id,
    }
    ids["waiting"] = care.bookings.join_waitlist(
        waiting.id, slot_id(care, LUNCH), Actor.person(waiting.id), "wechat"
    ).id
    # A name is what people typed: it must be shown as text, never run.
    odd = elder(care, "<script>alert(1)</script>")
    book(odd.id, slot_id(care, "meal:2026-11-26:dinner:dine_in"), Actor.person(odd.id), "rest")
    assert care.bookings.get(ids["waiting"]).status == "waitlisted"
    return {"ids": ids, "a": a.id, "b": b.id, "waiting": waiting.id, "lee": lee.id}


def notifications(care: CareServices, person_id: int) -> list[m.Notification]:
    with care.db.read() as s:
        return list(
            s.scalars(
                select(m.Notification)
                .where(m.Notification.person_id == person_id)
                .order_by(m.Notification.id)
            )
        )


def used(care: CareServices, code: str) -> int:
    return care.bookings.slot_by_code(code).used


def change_form(client: TestClient, booking_id: int) -> str:
    page = client.get(f"/bookings/{booking_id}")
    assert page.status_code == 200
    return csrf_from(page.text)


# -- the board -----------------------------------------------------------------------


def test_the_day_shows_each_slot_with_used_free_bookings_and_the_waitlist_in_order(
    care: CareServices, day: dict[str, Any], client_as: Callable[[str], TestClient]
):
    staff = client_as("staff")
    page = staff.get("/bookings?date=2026-11-26&service=meal&lang=zh")
    assert page.status_code == 200
    html = page.text
    lunch = slot_id(care, LUNCH)
    section = html[html.index(f'id="slot-{lunch}"') :]
    section = section[: section.index("</tbody>")]
    assert '<td class="used">2 / 2</td>' in section and '<td class="free">0</td>' in section
    assert "午饭 · 在食堂吃" in section and "11:30–13:00" in section
    assert section.index("李秀兰") < section.index("张德福") < section.index("王淑珍")
    waitlist = section[section.index('class="waitlist"') :]
    assert "王淑珍" in waitlist and "李秀兰" not in waitlist
    assert PHONE_A in section and ZH["booked_by_self"] in section and "voice" in section
    assert f'href="/bookings/{day["ids"]["a"]}"' in section
    assert "2026年11月26日 星期四" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert 'href="/bookings?date=2026-11-25&amp;service=meal"' in html
    assert 'href="/bookings?date=2026-11-27&amp;service=meal"' in html
    assert "日托" not in html  # the service filter holds

    # Today by default, in the centre's clock (Wednesday 25 November in Harbin).
    assert "2026年11月25日 星期三" in staff.get("/bookings").text
    with care.db.read() as s:
        [seen] = audit.entries(s, action="bookings.view")[:1]
    assert seen.subject == "bookings:2026-11-25" and seen.actor.startswith("staff:")


def test_volunteers_see_masked_phones_and_no_way_to_change_anything(
    care: CareServices, day: dict[str, Any], client_as: Callable[[str], TestClient]
):
    volunteer = client_as("volunteer")
    html = volunteer.get("/bookings?date=2026-11-26").text
    assert PHONE_A not in html and "***78" in html
    assert "/bookings/" + str(day["ids"]["a"]) not in html
    assert 'csrf_token" value' not in html.replace('action="/logout"', "").split("<main>")[1]
    booking = day["ids"]["a"]
    assert volunteer.get(f"/bookings/{booking}").status_code == 403
    token = csrf_from(volunteer.get("/bookings").text)  # the logout form's, their own
    refused = volunteer.post(
        f"/bookings/{booking}/cancel", data={"csrf_token": token, "reason": "test"}
    )
    assert refused.status_code == 403
    assert care.bookings.get(booking).status == "confirmed"
    with care.db.read() as s:
        [seen] = audit.entries(s, action="bookings.view")[:1]
    assert seen.detail["redacted"] is True


@pytest.mark.parametrize(
    "query",
    [
        "date=2026-11-26'%20OR%201=1--",
        "date=2026-13-45",
        "service=meal;%20DROP%20TABLE%20bookings",
        "service=' OR ''='",
        "date=2026-11-26&service=MEAL",
        "date=9999-12-31",
        "date=0001-01-01",
    ],
)
def test_a_wrong_date_or_service_is_the_page_again_with_a_message(
    care: CareServices, day: dict[str, Any], client_as: Callable[[str], TestClient], query: str
):
    staff = client_as("staff")
    page = staff.get(f"/bookings?{query}&lang=en")
    assert page.status_code == 400
    assert EN["bookings_bad_filter"] in page.text
    assert "Wednesday 25 November 2026" in page.text  # today, every service
    with care.db.read() as s:
        assert s.scalar(select(func.count()).select_from(m.Booking)) == 5


# -- cancelling ----------------------------------------------------------------------------


def test_cancel_with_a_reason_frees_the_place_for_the_waitlist_and_tells_both_elders(
    care: CareServices, day: dict[str, Any], client_as: Callable[[str], TestClient]
):
    staff = client_as("staff")
    booking = day["ids"]["a"]
    token = change_form(staff, booking)
    done = staff.post(
        f"/bookings/{booking}/cancel",
        data={"csrf_token": token, "reason": "  住院了，\n家属来电  "},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith("/bookings?date=2026-11-26&service=meal&done=")
    assert ZH["booking_cancelled"] in staff.get(done.headers["location"]).text

    assert care.bookings.get(booking).status == "cancelled"
    assert care.bookings.get(day["ids"]["waiting"]).status == "confirmed"
    assert used(care, LUNCH) == 2
    [told] = notifications(care, day["a"])
    assert told.kind == "booking_cancelled" and told.delivered_at is None
    assert "11月26号（星期四）11:30" in told.message and "午饭" in told.message
    assert "住院了， 家属来电" in told.message and "12349" in told.message
    [promoted] = notifications(care, day["waiting"])
    assert promoted.kind == "booking_promoted" and "11月26号（星期四）" in promoted.message
    with care.db.read() as s:
        [entry] = audit.entries(s, action="booking.cancel")
        assert entry.subject == f"booking:{booking}" and entry.actor.startswith("staff:staff.")
        assert entry.detail == {"reason": "住院了， 家属来电"}
        assert entry.on_behalf_of == f"person:{day['a']}"

    # Twice is refused, not repeated: no second message.
    again = staff.post(f"/bookings/{booking}/cancel", data={"csrf_token": token, "reason": "x"})
    assert again.status_code == 409 and ZH["booking_not_active"] in again.text
    assert len(notifications(care, day["a"])) == 1


def test_an_english_speaking_elder_is_told_in_english(
    care: CareServices, day: dict[str, Any], client_as: Callable[[str], TestClient]
):
    care.people.add_identity(day["lee"], "telegram", "tg-lee")
    staff = client_as("admin")
    booking = day["ids"]["lee"]
    token = change_form(staff, booking)
    staff.post(
        f"/bookings/{booking}/cancel", data={"csrf_token": token, "reason": "Kitchen closed"}
    )
    [told] = notifications(care, day["lee"])
    assert "Thursday 26 November, 11:30" in told.message and "Lunch" in told.message
    assert "Reason: Kitchen closed" in told.message and "12349" in told.message
    # What the Telegram channel's background round picks up and sends.
    [outgoing] = care.channels.outbox("telegram")
    assert (outgoing.external_id, outgoing.message) == ("tg-lee", told.message)


def test_cancel_without_a_reason_or_with_a_forged_token_changes_nothing(
    care: CareServices, day: dict[str, Any], client_as: Callable[[str], TestClient]
):
    staff = client_as("staff")
    booking = day["ids"]["a"]
    token = change_form(staff, booking)
    empty = staff.post(f"/bookings/{booking}/cancel", data={"csrf_token": token, "reason": "  "})
    assert empty.status_code == 400 and ZH["reason_required"] in empty.text
    assert 'id="cancel-form"' in empty.text  # the form again
    forged = staff.post(
        f"/bookings/{booking}/cancel", data={"csrf_token": token[:-2] + "xx", "reason": "x"}
    )
    assert forged.status_code == 403
    missing = staff.post(f"/bookings/{booking}/cancel", data={"reason": "x"})
    assert missing.status_code == 403
    assert care.bookings.get(booking).status == "confirmed"
    assert notifications(care, day["a"]) == []
    assert used(care, LUNCH) == 2


def test_unknown_bookings_are_404(
    care: CareServices, day: dict[str, Any], client_as: Callable[[str], TestClient]
):
    staff = client_as("staff")
    token = change_form(staff, day["ids"]["a"])
    assert staff.get("/bookings/999999").status_code == 404
    data = {"csrf_token": token, "reason": "x", "slot_id": "1"}
    assert staff.post("/bookings/999999/cancel", data=data).status_code == 404
    assert staff.post("/bookings/999999/move", data=data).status_code == 404
    assert staff.get("/bookings/1%20OR%201=1").status_code == 404  # names no booking


def test_a_booking_whose_time_has_begun_is_no_longer_cancelled_or_moved(
    care: CareServices,
    clock: MovableClock,
    day: dict[str, Any],
    client_as: Callable[[str], TestClient],
):
    today = slot_id(care, "meal:2026-11-25:lunch:dine_in")
    booking = care.bookings.book(day["a"], today, Actor.person(day["a"]), "wechat").id
    staff = client_as("staff")
    token = change_form(staff, booking)
    clock.advance(hours=4)  # 12:00 in Harbin: lunch is being served
    board = staff.get("/bookings").text
    assert f'id="booking-{booking}"' in board and f'href="/bookings/{booking}"' not in board
    form = staff.get(f"/bookings/{booking}").text
    assert ZH["booking_started"] in form and 'id="cancel-form"' not in form
    data = {"csrf_token": token, "reason": "x", "slot_id": str(slot_id(care, LATER))}
    cancelled = staff.post(f"/bookings/{booking}/cancel", data=data)
    assert cancelled.status_code == 409 and ZH["booking_started"] in cancelled.text
    moved = staff.post(f"/bookings/{booking}/move", data=data)
    assert moved.status_code == 409 and ZH["booking_started"] in moved.text
    assert care.bookings.get(booking).status == "confirmed"
    assert notifications(care, day["a"]) == []


# -- moving -------------------------------------------------------------------------------


def test_move_offers_open_slots_and_tells_the_elder_the_new_day(
    care: CareServices, day: dict[str, Any], client_as: Callable[[str], TestClient]
):
    staff = client_as("staff")
    booking = day["ids"]["b"]
    form = staff.get(f"/bookings/{booking}").text
    later = slot_id(care, LATER)
    assert f'<option value="{later}">' in form
    assert f'<option value="{slot_id(care, LUNCH)}">' not in form  # its own
    assert f'<option value="{slot_id(care, DELIVERY)}">' not in form  # full
    moved = staff.post(
        f"/bookings/{booking}/move",
        data={"csrf_token": csrf_from(form), "slot_id": str(later), "reason": "食堂那天停水"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert "date=2026-11-27" in moved.headers["location"]
    assert care.bookings.get(booking).status == "cancelled"
    assert used(care, LATER) == 1 and used(care, LUNCH) == 2  # the waiting elder got it
    assert care.bookings.get(day["ids"]["waiting"]).status == "confirmed"
    [told] = notifications(care, day["b"])
    assert told.kind == "booking_moved"
    assert "11月26号（星期四）" in told.message and "11月27号（星期五）11:30" in told.message
    assert "食堂那天停水" in told.message
    with care.db.read() as s:
        [entry] = audit.entries(s, action="booking.move")
    assert entry.detail["reason"] == "食堂那天停水" and entry.subject == f"booking:{booking}"


def test_moving_to_a_full_or_closed_slot_changes_nothing(
    care: CareServices,
    clock: MovableClock,
    day: dict[str, Any],
    client_as: Callable[[str], TestClient],
):
    staff = client_as("staff")
    booking = day["ids"]["b"]
    token = change_form(staff, booking)

    def move(target: str) -> Any:
        data = {"csrf_token": token, "slot_id": target, "reason": "换一天"}
        return staff.post(f"/bookings/{booking}/move", data=data)

    full = move(str(slot_id(care, DELIVERY)))
    assert full.status_code == 409 and ZH["move_full"] in full.text
    assert "换一天" in full.text  # the reason is kept for the next try
    clock.advance(hours=2)  # 10:00 in Harbin: today's lunch orders closed at 09:30
    closed = move(str(slot_id(care, "meal:2026-11-25:lunch:dine_in")))
    assert closed.status_code == 409 and ZH["move_closed"] in closed.text
    assert move("").status_code == 400
    assert move("1 OR 1=1").status_code == 400
    other_service = move(str(slot_id(care, "day_care:2026-11-26:afternoon")))
    assert other_service.status_code == 400
    assert care.bookings.get(booking).status == "confirmed"
    assert notifications(care, day["b"]) == []
    assert used(care, DELIVERY) == 1 and used(care, LUNCH) == 2
    with care.db.read() as s:
        assert audit.entries(s, action="booking.move") == []
        assert audit.entries(s, action="booking.cancel") == []


# -- JSON API -------------------------------------------------------------------------------


def bearer(care: CareServices, role: str) -> dict[str, str]:
    token = StaffSessions(care.db, care.clock, SETTINGS.session_lifetime).create_token(
        f"ops-{role}", role, "admin"
    )
    return {"Authorization": f"Bearer {token}"}


def test_api_cancel_and_move_with_a_token(
    care: CareServices, day: dict[str, Any], anonymous: TestClient
):
    auth = bearer(care, "staff")
    a, b = day["ids"]["a"], day["ids"]["b"]
    done = anonymous.post(f"/api/bookings/{a}/cancel", json={"reason": "住院"}, headers=auth)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["booking"]["status"] == "cancelled"
    assert [p["id"] for p in body["promoted"]] == [day["ids"]["waiting"]]
    again = anonymous.post(f"/api/bookings/{a}/cancel", json={"reason": "住院"}, headers=auth)
    assert again.status_code == 409
    assert len(notifications(care, day["a"])) == 1

    full = {"slot_id": slot_id(care, DELIVERY), "reason": "换"}
    refused = anonymous.post(f"/api/bookings/{b}/move", json=full, headers=auth)
    assert refused.status_code == 409 and refused.json()["code"] == "slot_full"
    assert care.bookings.get(b).status == "confirmed"
    to_later = {"slot_id": slot_id(care, LATER), "reason": "换"}
    moved = anonymous.post(f"/api/bookings/{b}/move", json=to_later, headers=auth)
    assert moved.status_code == 200, moved.text
    assert moved.json()["new"]["slot"] == LATER and moved.json()["old"]["status"] == "cancelled"
    assert [n.kind for n in notifications(care, day["b"])] == ["booking_moved"]


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": 3}, {"reason": "x", "slot_id": "5"}, ["reason"]],
)
def test_api_bad_bodies_are_400_and_change_nothing(
    care: CareServices, day: dict[str, Any], anonymous: TestClient, body: Any
):
    auth = bearer(care, "staff")
    b = day["ids"]["b"]
    assert anonymous.post(f"/api/bookings/{b}/move", json=body, headers=auth).status_code == 400
    if isinstance(body, dict) and "slot_id" not in body:
        cancel = anonymous.post(f"/api/bookings/{b}/cancel", json=body, headers=auth)
        assert cancel.status_code == 400
    not_json = anonymous.post(
        f"/api/bookings/{b}/cancel",
        content=b"reason=x",
        headers={**auth, "Content-Type": "text/plain"},
    )
    assert not_json.status_code == 400
    assert care.bookings.get(b).status == "confirmed"


def test_api_roles_csrf_and_unknown_ids(
    care: CareServices,
    day: dict[str, Any],
    anonymous: TestClient,
    client_as: Callable[[str], TestClient],
):
    a = day["ids"]["a"]
    reason = {"reason": "x"}
    volunteer = bearer(care, "volunteer")
    assert (
        anonymous.post(f"/api/bookings/{a}/cancel", json=reason, headers=volunteer).status_code
        == 403
    )
    assert anonymous.post(f"/api/bookings/{a}/cancel", json=reason).status_code == 401
    listed = anonymous.get("/api/bookings?date=2026-11-26", headers=volunteer).json()
    assert all(b["details"] == {} for b in listed["bookings"])
    staff = bearer(care, "staff")
    assert (
        anonymous.post("/api/bookings/999999/cancel", json=reason, headers=staff).status_code == 404
    )
    move = {"slot_id": 999999, "reason": "x"}
    assert anonymous.post(f"/api/bookings/{a}/move", json=move, headers=staff).status_code == 404

    # A browser session must send its CSRF token in a header: a forged post from
    # another site carries the cookie but not the token.
    browser = client_as("staff")
    assert browser.post(f"/api/bookings/{a}/cancel", json=reason).status_code == 403
    wrong = {"X-CSRF-Token": "forged"}
    assert browser.post(f"/api/bookings/{a}/cancel", json=reason, headers=wrong).status_code == 403
    assert care.bookings.get(a).status == "confirmed"
    token = {"X-CSRF-Token": csrf_from(browser.get("/bookings").text)}
    assert browser.post(f"/api/bookings/{a}/cancel", json=reason, headers=token).status_code == 200
    assert care.bookings.get(a).status == "cancelled"
