"""The whole product in a browser: an elder's emergency reaches staff, who take it on;
a conversation that booked lunch is read, and corrected, turn by turn.

``anxin run`` starts the real Rasa server, action server and staff console on one
SQLite file (Rasa's events reach it through the event broker); the elder writes
through the REST channel, staff (created with ``python -m staff create-user``) work
in headless Chromium, and the database is the judge of what a click did.
"""

from __future__ import annotations

import time
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Page

from care.records import AlertRecord
from staff.i18n import STRINGS
from tests.integration.test_stack import post
from tests.staff.browser import (
    Stack,
    alert_status,
    chromium,
    log_in,
    new_page,
    real_stack,
    shoot,
)
from tests.support.clock import stack_clock, weekday_ahead


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    users = {"nurse.wang": "staff", "volunteer.zhao": "volunteer"}
    with real_stack(tmp_path_factory.mktemp("stack"), users) as started:
        yield started


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


def _open_emergency(stack: Stack, sender: str) -> AlertRecord:
    care = stack.care()
    try:
        # The alert names Rasa's conversation: rest:<sender>.
        found = [a for a in care.alerts.open_alerts() if a.conversation_id == f"rest:{sender}"]
    finally:
        care.close()
    assert [a.kind for a in found] == ["emergency"], found
    return found[0]


def test_an_emergency_from_the_rest_channel_is_acknowledged_in_the_browser(
    stack: Stack, browser: Browser
):
    zh = post(stack.rasa_port, "browser-zh", "我摔倒了起不来")
    assert "120" in zh[0]["text"], zh
    en = post(stack.rasa_port, "browser-en", "I fell and cannot get up")
    assert "120" in en[0]["text"], en
    fall_zh = _open_emergency(stack, "browser-zh")
    fall_en = _open_emergency(stack, "browser-en")

    t = STRINGS["zh"]
    page = new_page(browser, "zh")
    try:
        log_in(page, stack.console, "nurse.wang")
        # Both are on the dashboard the moment staff log in, most urgent first.
        open_ids = page.locator("tr[id^=alert-]").evaluate_all("rows => rows.map(r => r.id)")
        assert {f"alert-{fall_zh.id}", f"alert-{fall_en.id}"} <= set(open_ids[:2])
        page.goto(f"{stack.console}/alerts")
        row_zh, row_en = f"#alert-{fall_zh.id}", f"#alert-{fall_en.id}"
        assert t["emergency"] in page.inner_text(row_zh)
        assert "我摔倒了起不来" in page.inner_text(row_zh)
        assert "I fell and cannot get up" in page.inner_text(row_en)
        shoot(page, "live_alerts_zh", stable=False)

        with page.expect_navigation() as landed:
            page.click(f"{row_zh} form[action$='/acknowledge'] button")
        assert landed.value is not None and landed.value.status == 200
        assert f"{t['acknowledged']} · nurse.wang" in page.inner_text(row_zh)
        assert t["open"] in page.inner_text(row_en)
        shoot(page, "live_alerts_acknowledged_zh", stable=False)
    finally:
        page.context.close()

    care = stack.care()
    try:
        assert alert_status(care, fall_zh.id) == ("acknowledged", "nurse.wang")
        assert alert_status(care, fall_en.id) == ("open", None)
    finally:
        care.close()


# The event broker writes Rasa's events in batches (~200 ms); a busy machine gets a minute.
BROKER_WAIT_S = 60


def _reload_until(page: Page, url: str, selector: str) -> None:
    deadline = time.monotonic() + BROKER_WAIT_S
    while True:
        page.goto(url)
        if page.locator(selector).count() or time.monotonic() > deadline:
            return
        time.sleep(0.5)


def test_a_rest_conversation_and_its_booking_are_read_and_flagged_in_the_browser(
    stack: Stack, browser: Browser
):
    day = weekday_ahead(stack_clock(stack.env), min_days=1)
    sender = "browser-lunch"
    asked = f"俺想订{day.month}月{day.day}号的午饭"

    def say(text: str) -> str:
        return " ".join(m.get("text", "") for m in post(stack.rasa_port, sender, text))

    assert "送到家" in say(asked)
    assert "称呼" in say("给俺送到家吧")
    assert "对吗" in say("李秀兰")
    assert "订好了" in say("对")

    t = STRINGS["zh"]
    page = new_page(browser, "zh")
    try:
        log_in(page, stack.console, "nurse.wang")
        link = f"#conversations a[href='/conversations/rest%3A{sender}']"  # rest:<sender>
        _reload_until(page, f"{stack.console}/conversations?channel=rest", link)
        assert "李秀兰" in page.inner_text(link)
        with page.expect_navigation():
            page.click(link)
        assert page.inner_text("h1") == f"{t['conversation']}: 李秀兰"
        first = page.locator("tr[id^=turn-]").first
        assert first.locator(".said").inner_text() == asked
        booked = page.locator(".booking")
        assert booked.count() == 1
        line = booked.inner_text()
        assert t["meal"] in line and day.isoformat() in line and t["create"] in line
        shoot(page, "live_conversation_zh", stable=False)

        # "Flag as misunderstood": the first message, corrected to another intent.
        turn_id = first.get_attribute("id")
        first.locator("select[name=correct_intent]").select_option("book_day_care")
        with page.expect_navigation():
            first.locator("form button").click()
        corrected = page.locator(f"#{turn_id}")
        assert f"{t['flagged_as']} book_day_care" in corrected.inner_text()
    finally:
        page.context.close()

    volunteer = new_page(browser, "zh")
    try:
        log_in(volunteer, stack.console, "volunteer.zhao")
        volunteer.goto(f"{stack.console}/conversations/rest:{sender}")
        assert volunteer.locator("main .msg", has_text=t["text_masked"]).count() == 1
        assert asked not in volunteer.content()
        assert volunteer.locator("tr[id^=turn-] .said").first.inner_text() == "***"
        assert volunteer.locator("form[action$='/flag']").count() == 0
        assert volunteer.locator(".booking").count() == 1  # what happened, not the words
        shoot(volunteer, "live_conversation_volunteer_zh", stable=False)
    finally:
        volunteer.context.close()
