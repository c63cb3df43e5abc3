"""Telegram against the real stack: `python -m anxin run` with the Telegram channel enabled,
pointed at a fake Bot API on loopback, spoken to through the real webhook route.

One stack serves the whole module (2 CPU cores are shared): tests use their own chats.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta
from typing import Any, Iterator, Optional
from zoneinfo import ZoneInfo

import pytest

from care.config import CareSettings
from care.services import CareServices, build
from tests.channels.fake_telegram import BOT_ID, Call, FakeTelegram
from tests.integration.test_stack import READY_TIMEOUT_S, ROOT, Output, rasa_ready, start, stop

TOKEN = "123456:TEST-token"
SECRET = "s3cret-Token_1"
_update_ids = itertools.count(1000)


class Stack:
    def __init__(self, port: int, fake: FakeTelegram, care: CareServices, out: Output):
        self.port, self.fake, self.care, self.out = port, fake, care, out

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/telegram/webhook"

    def post(self, body: bytes, secret: Optional[str] = SECRET, **headers: str) -> int:
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        req = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json", **headers}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            assert b"Traceback" not in err.read()
            return int(err.code)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("telegram")
    fake = FakeTelegram(TOKEN).start()
    proc, env, out = start(
        tmp,
        ANXIN_TELEGRAM_TOKEN=TOKEN,
        ANXIN_TELEGRAM_SECRET=SECRET,
        ANXIN_TELEGRAM_API_BASE=fake.api_base,
        ANXIN_TELEGRAM_RETRY_S="1",
        ANXIN_TELEGRAM_OUTBOX_S="0.5",
    )
    try:
        port = int(env["ANXIN_RASA_PORT"])
        try:
            rasa_ready(port, proc)
        except AssertionError:
            raise AssertionError(out.text[-4000:]) from None
        fake.wait_for(lambda calls: calls, method="getMe", timeout=60)
        care = build(CareSettings(db_url=f"sqlite:///{tmp / 'var' / 'anxin.db'}"))
        yield Stack(port, fake, care, out)
        care.close()
    finally:
        stop(proc, out)
        fake.stop()


class Person:
    """Someone on Telegram: sends updates the way Telegram does, reads the fake API."""

    def __init__(self, stack: Stack, chat_id: int, language_code: str = "en") -> None:
        self.stack, self.chat_id, self.language_code = stack, chat_id, language_code
        self.seen = 0
        self.last: list[Call] = []
        self.pressed: list[str] = []  # callback query ids of the buttons tapped, in order

    def _from(self) -> dict[str, Any]:
        return {"id": self.chat_id, "is_bot": False, "first_name": "Tester",
                "language_code": self.language_code}  # fmt: skip

    def message(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": next(_update_ids),
            "date": int(time.time()),
            "chat": {"id": self.chat_id, "type": "private", "first_name": "Tester"},
            "from": self._from(),
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": next(_update_ids), "message": message}

    def tap_update(self, data: str) -> dict[str, Any]:
        return {
            "update_id": next(_update_ids),
            "callback_query": {
                "id": str(next(_update_ids)),
                "from": self._from(),
                "chat_instance": "ci-1",
                "data": data,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": self.chat_id, "type": "private"},
                    "from": {"id": BOT_ID, "is_bot": True, "first_name": "Anxin"},
                    "text": "…",
                },
            },
        }

    def send(self, update: dict[str, Any]) -> str:
        assert self.stack.post(json.dumps(update).encode()) == 200
        return self.replies()

    def say(self, text: str) -> str:
        return self.send(self.message(text))

    def tap(self, title_part: str) -> str:
        """Tap the button of the latest replies whose title contains ``title_part``."""
        buttons = [b for c in self.last for b in c.buttons]
        [button] = [b for b in buttons if title_part in b["text"]] or [None]
        assert button is not None, f"no {title_part!r} in {[b['text'] for b in buttons]}"
        update = self.tap_update(button["callback_data"])
        self.pressed.append(update["callback_query"]["id"])
        return self.send(update)

    def replies(self, quiet_s: float = 1.2, timeout: float = 60) -> str:
        """The replies to this chat since the last look, once they stop coming."""
        fake = self.stack.fake
        fake.wait_for(lambda calls: len(calls) > self.seen, timeout, chat_id=self.chat_id)
        count = -1
        while count != len(fake.sent(chat_id=self.chat_id)):
            count = len(fake.sent(chat_id=self.chat_id))
            time.sleep(quiet_s)
        self.last = fake.sent(chat_id=self.chat_id)[self.seen :]
        self.seen = count
        return " ".join(c.text for c in self.last)


def weekday_ahead(min_days: int = 2) -> date:
    day = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=min_days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def test_hello_is_answered_through_the_bot_api(stack):
    mary = Person(stack, 5001)
    assert "Anxin" in mary.say("hello")
    assert stack.fake.sent("sendMessage", 5001)[0].params["chat_id"] == "5001"


def test_the_door_refuses_wrong_secrets_bad_json_and_huge_bodies(stack):
    update = json.dumps(Person(stack, 5002).message("hello")).encode()
    assert stack.post(update, secret=None) == 403
    assert stack.post(update, secret="wrong") == 403
    assert stack.post(b"{not json", secret=SECRET) == 400
    assert stack.post(b'{"update_id": 1, "message": 5}', secret=SECRET) == 400
    assert stack.post(b"{" + b" " * 1_100_000 + b"}", secret=SECRET) == 413
    time.sleep(1.5)
    assert stack.fake.sent(chat_id=5002) == []  # none of these reached Rasa


def test_lunch_booked_by_text_and_buttons_and_a_redelivery_books_nothing_twice(stack):
    day = weekday_ahead()
    mary = Person(stack, 5003)
    asked = mary.say(f"I'd like to book lunch for {day:%B} {day.day}")
    assert any("deliver" in b["text"].lower() for c in mary.last for b in c.buttons), asked
    assert "name" in mary.tap("eliver")
    readback = mary.say("Mary Li")
    assert "right?" in readback and "lunch" in readback, readback
    yes = mary.tap_update(next(b["callback_data"] for c in mary.last for b in c.buttons
                               if "Yes" in b["text"]))  # fmt: skip
    assert "booked" in mary.send(yes)
    assert stack.fake.sent("answerCallbackQuery")  # the taps were acknowledged

    assert stack.post(json.dumps(yes).encode()) == 200  # Telegram redelivers the tap
    time.sleep(2)
    assert len(stack.fake.sent(chat_id=5003)) == mary.seen  # no second reply

    person = stack.care.people.find_by_identity("telegram", "5003")
    assert person is not None and person.name == "Mary Li"
    [booking] = stack.care.bookings.upcoming(person.id)
    assert (booking.slot.code, booking.status) == (f"meal:{day}:lunch:delivery", "confirmed")
    assert booking.channel == "telegram"


def test_day_care_in_english_is_booked_by_pressing_the_inline_buttons(stack):
    day = weekday_ahead()
    rose = Person(stack, 5010)
    asked = rose.say(f"I'd like to book day care for {day:%B} {day.day}")
    assert "Day care" in asked and "number" in asked, asked
    assert "bus" in rose.tap("Full day")  # the choice, by its button: then the bus stop
    assert "name" in rose.tap("east gate")  # a first-timer's name is typed, not chosen
    readback = rose.say("Rose Zhang")
    assert "right?" in readback and "full day" in readback.lower(), readback
    assert "07:50" in readback and "east gate" in readback, readback
    assert "booked" in rose.tap("Yes")  # the read-back confirmed by its button

    # Every press was acknowledged (the button stops spinning on her phone), once each.
    answered = [c.params.get("callback_query_id") for c in stack.fake.sent("answerCallbackQuery")]
    assert len(rose.pressed) == 3
    assert all(answered.count(pressed) == 1 for pressed in rose.pressed), (rose.pressed, answered)

    person = stack.care.people.find_by_identity("telegram", "5010")
    assert person is not None and person.name == "Rose Zhang"
    assert person.preferred_language == "en"
    [booking] = stack.care.bookings.upcoming(person.id)
    booked = (booking.service, booking.slot.date, booking.slot.option, booking.status)
    assert booked == ("day_care", day, "full_day", "confirmed")
    assert booking.details["pickup"]["name_en"] == "Huayuan Residential Compound, east gate"
    assert booking.channel == "telegram"


def test_a_429_is_retried_after_retry_after(stack):
    stack.fake.fail_once("sendMessage", retry_after=2)
    tom = Person(stack, 5004)
    assert "Anxin" in tom.say("hello")
    tries = [c for c in stack.fake.calls if c.method == "sendMessage" and c.chat_id == 5004]
    assert [c.status for c in tries[:2]] == [429, 200]
    assert tries[1].at - tries[0].at >= 2.0


def test_start_lang_voice(stack):
    ann = Person(stack, 5005, language_code="en")
    assert "Anxin" in ann.say("/start")  # welcome and what I can do
    assert "Choose a language" in ann.say("/lang")
    assert "您好" in ann.tap("中文")
    voice = ann.message("")
    del voice["message"]["text"]
    voice["message"]["voice"] = {"file_id": "v1", "file_unique_id": "u1", "duration": 2,
                                 "mime_type": "audio/ogg"}  # fmt: skip
    assert "打字" in ann.send(voice)  # voice: please type, in her language (now Chinese)


def test_a_relative_links_with_start_code_and_the_elder_is_asked_on_telegram(stack):
    mum_record = stack.care.people.register_elder("telegram", "5006", "Li Xiulan", "en")
    mum, son = Person(stack, 5006), Person(stack, 5007)
    code = re.search(r"\b(\d{6})\b", mum.say("I want to link my family"))
    assert code, mum.last
    assert "name" in son.say(f"/start {code.group(1)}")
    assert "What are you" in son.say("John Li")
    assert "Li Xiulan" in son.tap("1. son")
    # The consent question reaches her through the outbox.
    asked = stack.fake.wait_for(
        lambda calls: [c for c in calls if "John Li" in c.text], chat_id=5006
    )
    assert asked
    relative = stack.care.people.find_by_identity("telegram", "5007")
    assert relative is not None and relative.kind == "family" and relative.name == "John Li"
    [link] = stack.care.family.pending_for_elder(mum_record.id)
    assert (link.family_id, link.relation) == (relative.id, "son")


def test_a_message_while_the_action_server_is_stopped_is_answered_when_it_is_back(stack):
    pid = int(stack.out.wait_for(r"\bactions started \(pid=(\d+)\)", 5).group(1))
    os.kill(pid, signal.SIGSTOP)  # hung: its /health does not answer
    try:
        bob = Person(stack, 5008)
        assert "shortly" in bob.say("hello")
        assert stack.care.channels.held("telegram")
    finally:
        os.kill(pid, signal.SIGCONT)
    assert "Anxin" in bob.replies(timeout=60)
    assert stack.care.channels.held("telegram") == []


def test_poll_relays_updates_to_the_same_handlers(stack, tmp_path):
    env = {**os.environ, "ANXIN_TELEGRAM_TOKEN": TOKEN, "ANXIN_TELEGRAM_SECRET": SECRET,
           "ANXIN_TELEGRAM_API_BASE": stack.fake.api_base}  # fmt: skip
    cmd = [sys.executable, "-m", "anxin", "telegram", "poll", "--timeout", "2",
           "--url", f"http://127.0.0.1:{stack.port}"]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        pat = Person(stack, 5009)
        stack.fake.push(pat.message("hello"))
        assert "Anxin" in pat.replies(timeout=READY_TIMEOUT_S)
        assert stack.fake.sent("deleteWebhook")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


def test_the_logs_hold_no_token_and_nothing_people_wrote(stack):
    # Runs last in this module: everything above has been logged by now.
    logged = stack.out.text
    assert re.search(r"\brasa started \(pid=\d+\)", logged)  # this is the stack's output
    if os.environ.get("ANXIN_TEST_DUMP_LOG"):
        with open(os.environ["ANXIN_TEST_DUMP_LOG"], "w", encoding="utf-8") as dump:
            dump.write(logged)
    for secret_or_private in (TOKEN, SECRET, "Mary Li", "John Li", "Rose Zhang", "book lunch",
                              "book day care", "5003"):  # fmt: skip
        assert secret_or_private not in logged, secret_or_private
