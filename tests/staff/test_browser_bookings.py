"""Bookings in a browser. On the real stack (``anxin run``): an elder books lunch over
the REST channel, two more are booked into one clinic place (one waiting); staff see
used/free and the waitlist, cancel with a reason (the waiting elder gets the place,
both are told through the outbox) and move the lunch to another day. On the demo
morning with a fixed clock: the pages as the staff guide shows them, and what a
volunteer sees.
"""

from __future__ import annotations

import os
import re
import socket
from datetime import timedelta
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from care import migrate
from care import models as m
from care.audit import Actor
from care.config import CareSettings
from care.services import CareServices, build
from staff.i18n import STRINGS
from tests.integration.test_stack import post
from tests.staff.browser import (
    CONSOLE_NOW,
    LI_PHONE,
    SeedClock,
    Stack,
    chromium,
    console_process,
    log_in,
    new_page,
    real_stack,
    seed,
    shoot,
)
from tests.support.clock import open_weekday_from, stack_clock, weekday_ahead

ZH, EN = STRINGS["zh"], STRINGS["en"]
SENDER = "browser-bookings"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with real_stack(tmp_path_factory.mktemp("bookings"), {"nurse.wang": "staff"}) as started:
        yield started


def _care(stack: Stack) -> CareServices:
    return stack.care()


def _notifications(care: CareServices, person_id: int) -> list[tuple[str, str]]:
    with care.db.read() as s:
        rows = s.scalars(
            select(m.Notification)
            .where(m.Notification.person_id == person_id)
            .order_by(m.Notification.id)
        )
        return [(n.kind, n.message) for n in rows]


def _submit(page: Page, button: str) -> int:
    with page.expect_navigation() as landed:
        page.click(button)
    assert landed.value is not None
    return landed.value.status


def test_staff_cancel_for_an_elder_the_waitlist_moves_up_and_a_rest_booking_is_moved(
    stack: Stack, browser: Browser
):
    # Three days ahead of the stack's (pinned) clock: every cut-off is still to come.
    day = weekday_ahead(stack_clock(stack.env), min_days=3)
    later = open_weekday_from(day + timedelta(days=1))

    def say(text: str) -> str:
        return " ".join(msg.get("text", "") for msg in post(stack.rasa_port, SENDER, text))

    assert "送到家" in say(f"俺想订{day.month}月{day.day}号的午饭")
    assert "称呼" in say("给俺送到家吧")
    assert "对吗" in say("李秀兰")
    assert "订好了" in say("对")

    care = _care(stack)
    try:
        person = care.people.find_by_identity("rest", SENDER)
        assert person is not None
        [lunch] = care.bookings.upcoming(person.id)
        zhang = care.people.create("elder", "张德福", phone="13845120931")
        wang = care.people.create("elder", "王淑珍", phone="15004610256")
        clinic = [x for x in care.bookings.availability("clinic", day, day) if x.capacity == 1][0]
        first = care.bookings.book(zhang.id, clinic.id, Actor.person(zhang.id), "wechat")
        waiting = care.bookings.join_waitlist(wang.id, clinic.id, Actor.person(wang.id), "voice")
        assert waiting.status == "waitlisted"
    finally:
        care.close()

    page = new_page(browser, "zh")
    try:
        log_in(page, stack.console, "nurse.wang")
        page.goto(f"{stack.console}/bookings?date={day.isoformat()}")
        slot = page.locator(f"#slot-{clinic.id}")
        assert slot.locator(".used").inner_text() == "1 / 1"
        assert slot.locator(".free").inner_text() == "0"
        assert "张德福" in slot.locator("table.confirmed").inner_text()
        assert "王淑珍" in slot.locator("table.waitlist").inner_text()
        lunch_row = page.locator(f"#booking-{lunch.id}")
        assert "李秀兰" in lunch_row.inner_text() and "rest" in lunch_row.inner_text()
        shoot(page, "live_bookings_zh", stable=False)

        # Cancel for 张德福: a reason first, then the place goes to 王淑珍.
        with page.expect_navigation():
            page.click(f"#booking-{first.id} a.change")
        assert "张德福" in page.inner_text("#read-back")
        reason = page.locator("#cancel-form textarea[name=reason]")
        assert reason.get_attribute("required") is not None  # the server asks again too
        page.fill("#cancel-form textarea[name=reason]", "医生那天出诊，已电话告知家属")
        shoot(page, "live_bookings_change_zh", stable=False)
        assert _submit(page, "#confirm-cancel") == 200
        assert ZH["booking_cancelled"] in page.inner_text(".msg")
        slot = page.locator(f"#slot-{clinic.id}")
        assert "王淑珍" in slot.locator("table.confirmed").inner_text()
        assert slot.locator("table.waitlist").count() == 0
        assert page.locator(f"#booking-{first.id}").count() == 0

        # Move the lunch booked over REST to the next weekday's lunch.
        page.goto(f"{stack.console}/bookings/{lunch.id}")
        wanted = re.compile(f"^{later.month}月{later.day}号.*午饭，送到家")
        label = page.locator("#move-form select option", has_text=wanted).first.inner_text()
        page.select_option("#move-form select", label=label)
        page.fill("#move-form textarea[name=reason]", "那天食堂停水")
        assert _submit(page, "#confirm-move") == 200
        assert ZH["booking_moved"] in page.inner_text(".msg")
        assert "李秀兰" in page.inner_text("main")
        shoot(page, "live_bookings_moved_zh", stable=False)
    finally:
        page.context.close()

    care = _care(stack)
    try:
        assert care.bookings.get(first.id).status == "cancelled"
        assert care.bookings.get(waiting.id).status == "confirmed"
        [(kind, told)] = _notifications(care, zhang.id)
        assert kind == "booking_cancelled" and "医生那天出诊" in told and "12349" in told
        assert f"{day.month}月{day.day}号（星期{'一二三四五六日'[day.weekday()]}）" in told
        assert [k for k, _ in _notifications(care, wang.id)] == ["booking_promoted"]
        assert care.bookings.get(lunch.id).status == "cancelled"
        [(kind, moved)] = _notifications(care, lunch.elder_id)
        assert kind == "booking_moved" and f"{later.month}月{later.day}号" in moved
    finally:
        care.close()


# -- the demo morning, fixed clock: the staff guide's screenshots ------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("demo") / "anxin.db"
    clock = SeedClock()
    care = build(CareSettings(db_url=f"sqlite:///{db}"), clock=clock)
    try:
        migrate.upgrade(care.db)
        seed(care, clock)
    finally:
        care.close()
    env = {
        **os.environ,
        "ANXIN_DB_URL": f"sqlite:///{db}",
        "ANXIN_STAFF_HOST": "127.0.0.1",
        "ANXIN_STAFF_PORT": str(_free_port()),
        "ANXIN_TEST_NOW": CONSOLE_NOW.isoformat(),
    }
    with console_process(env, "tests.staff.fixed_clock_console") as url:
        yield url


def test_the_bookings_pages_on_the_demo_morning(demo: str, browser: Browser):
    staff = new_page(browser, "zh")
    try:
        log_in(staff, demo, "nurse.wang")
        staff.goto(f"{demo}/bookings?service=meal")
        assert "2026年11月25日 星期三" in staff.inner_text("h1")
        assert "李秀兰" in staff.inner_text("main") and LI_PHONE in staff.content()
        shoot(staff, "bookings_zh")
        staff.goto(f"{demo}/bookings?date=2026-11-25&service=day_care&lang=en")
        assert "Wednesday 25 November 2026" in staff.inner_text("h1")
        shoot(staff, "bookings_en")
        staff.goto(f"{demo}/bookings?lang=zh")
        with staff.expect_navigation():
            staff.locator("a.change").first.click()
        assert staff.locator("#cancel-form").count() == 1
        shoot(staff, "bookings_change_zh")
        staff.goto(f"{demo}/bookings?date=2026-02-30")
        assert ZH["bookings_bad_filter"] in staff.inner_text(".msg")
    finally:
        staff.context.close()

    volunteer = new_page(browser, "zh")
    try:
        log_in(volunteer, demo, "volunteer.zhao")
        volunteer.goto(f"{demo}/bookings?service=meal")
        assert LI_PHONE not in volunteer.content() and "***78" in volunteer.content()
        assert volunteer.locator("a.change").count() == 0
        shoot(volunteer, "bookings_volunteer_zh")
    finally:
        volunteer.context.close()
