"""Hand-off in a browser, on the real stack: a person asks for a human over REST, the
alert appears on the open alerts page without a reload, staff reply from the
conversation page, the person receives the replies through the REST channel (with their
next message, and by polling), staff release the conversation, the bot answers again.

``anxin run`` starts the real Rasa server, action server and staff console on one SQLite
file; the staff reply goes into Rasa's tracker over its HTTP API and comes back through
the event broker into the conversation view.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any, Iterator

import pytest
from playwright.sync_api import Browser, Page

from care.records import AlertRecord
from tests.integration.test_stack import post
from tests.staff.browser import Stack, chromium, log_in, new_page, real_stack, shoot

# The event broker writes Rasa's events in batches; a busy machine gets a minute.
WAIT_S = 60
SENDER = "browser-handoff"
CONVERSATION = f"rest:{SENDER}"  # Rasa's id for it, the console's too


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Staff hours all day: the hand-off is answered the same way at any hour the test runs.
    with real_stack(
        tmp_path_factory.mktemp("handoff"),
        {"nurse.wang": "staff"},
        ANXIN_STAFF_HOURS="mon-sun 00:00-23:59",
    ) as started:
        yield started


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


def _handoffs(stack: Stack) -> list[AlertRecord]:
    care = stack.care()
    try:
        return [
            a for a in care.alerts.open_alerts()
            if a.conversation_id == CONVERSATION and a.kind == "handoff"
        ]  # fmt: skip
    finally:
        care.close()


def _poll_replies(stack: Stack) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{stack.rasa_port}/webhooks/rest/staff_replies?sender={SENDER}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def _reload_until(page: Page, url: str, text: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while True:
        response = page.goto(url)
        if (response and response.status == 200 and text in page.content()) or (
            time.monotonic() > deadline
        ):
            return
        time.sleep(0.5)


def _reply(page: Page, text: str) -> None:
    page.fill("#reply textarea[name=text]", text)
    with page.expect_navigation() as landed:
        page.click("#send-reply")
    assert landed.value is not None and landed.value.status == 200


def test_staff_take_over_reply_on_the_rest_channel_and_give_the_conversation_back(
    stack: Stack, browser: Browser
):
    page = new_page(browser, "zh")
    try:
        log_in(page, stack.console, "nurse.wang")
        page.goto(f"{stack.console}/alerts")
        # A mark on this very page: it is gone if anything reloads it.
        page.evaluate("window.__notReloaded = true")

        asked = post(stack.rasa_port, SENDER, "我要找人工")
        assert "工作人员" in " ".join(m.get("text", "") for m in asked), asked
        [alert] = _handoffs(stack)

        page.wait_for_selector(f"#alert-{alert.id}", timeout=WAIT_S * 1000)
        assert page.evaluate("window.__notReloaded === true")
        assert "我要找人工" in page.inner_text(f"#alert-{alert.id}")
        assert int(page.inner_text(".alert-count")) >= 1
        shoot(page, "handoff_alert_live_zh", stable=False)

        conversation = f"{stack.console}/conversations/{CONVERSATION}"
        _reload_until(page, conversation, "我要找人工")
        assert page.locator("#reply textarea").count() == 1

        # The first reply reaches the person with the answer to their next message ...
        _reply(page, "李大爷您好，我是护士小王。您哪里不舒服？")
        while_held = post(stack.rasa_port, SENDER, "好的，我等着")
        assert [m["text"] for m in while_held] == ["李大爷您好，我是护士小王。您哪里不舒服？"]
        assert while_held[0]["custom"] == {"staff": True}

        # ... the second one by polling, once only.
        _reply(page, "请您先坐下歇一歇，我马上给您打电话。")
        assert [m["text"] for m in _poll_replies(stack)] == ["请您先坐下歇一歇，我马上给您打电话。"]
        assert _poll_replies(stack) == []
        nobody = f"http://127.0.0.1:{stack.rasa_port}/webhooks/rest/staff_replies"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(nobody, timeout=30)
        assert refused.value.code == 400

        # Both are in the conversation itself: Rasa's log, through the event broker.
        _reload_until(page, conversation, "请您先坐下歇一歇")
        content = page.content()
        assert "我是护士小王" in content and "请您先坐下歇一歇" in content
        assert page.locator("p.reply.staff").count() == 2  # shown as staff's, not the bot's
        shoot(page, "handoff_conversation_zh", stable=False)

        with page.expect_navigation() as landed:
            page.click("#release")
        assert landed.value is not None and landed.value.status == 200
        assert page.locator("#reply").count() == 0
        assert _handoffs(stack) == []

        back = post(stack.rasa_port, SENDER, "谢谢")
        assert any("我是安心" in m.get("text", "") for m in back), back
    finally:
        page.context.close()
