"""The whole product in a browser: an elder's emergency reaches staff, who take it on.

``anxin run`` starts the real Rasa server, action server and staff console on one
SQLite file; the elder writes through the REST channel, a staff member (created
with ``python -m staff create-user``) works in headless Chromium, and the
database is the judge of what the click did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser

from care.config import CareSettings
from care.records import AlertRecord
from care.services import build
from staff.i18n import STRINGS
from tests.integration.test_stack import post, rasa_ready, start, stop
from tests.staff.browser import (
    alert_status,
    chromium,
    create_user,
    log_in,
    new_page,
    shoot,
    wait_healthy,
)


class Stack:
    def __init__(self, rasa_port: int, console: str, db: Path) -> None:
        self.rasa_port, self.console, self.db = rasa_port, console, db


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("stack")
    proc, env, out = start(tmp)
    try:
        port = int(env["ANXIN_RASA_PORT"])
        console = f"http://127.0.0.1:{env['ANXIN_STAFF_PORT']}"
        try:
            rasa_ready(port, proc)
            wait_healthy(console, proc, "anxin run's staff console")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{out.text[-4000:]}") from None
        create_user({**env, "ANXIN_STAFF_HOST": "127.0.0.1"}, "nurse.wang", "staff")
        yield Stack(port, console, tmp / "var" / "anxin.db")
    finally:
        stop(proc, out)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


def _open_emergency(stack: Stack, sender: str) -> AlertRecord:
    care = build(CareSettings(db_url=f"sqlite:///{stack.db}"))
    try:
        found = [a for a in care.alerts.open_alerts() if a.conversation_id == sender]
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

    care = build(CareSettings(db_url=f"sqlite:///{stack.db}"))
    try:
        assert alert_status(care, fall_zh.id) == ("acknowledged", "nurse.wang")
        assert alert_status(care, fall_en.id) == ("open", None)
    finally:
        care.close()
