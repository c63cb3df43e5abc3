"""Telegram updates Telegram would never send are acknowledged and dropped at the door.

The check is channels/telegram_update.py (pure). Then the door itself
(``channels.telegram.Webhook.receive``) with the channel's real handlers, turns and
python-telegram-bot against the fake Bot API, on SQLite and on PostgreSQL: an update
with a number that is not finite got 503 on PostgreSQL (its inbox row was refused), so
Telegram would have redelivered it for ever; a chat id of ``false`` or ``1.5`` was
answered (``sendMessage`` to chat ``False``). Each is now a 200, counted, with no inbox
row and nothing sent. Rasa is a stand-in here (what is under test is the door); the real
one answers the same updates in tests/channels/test_http_hardening_stack.py.
"""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass
from typing import Iterator

import pytest
from rasa.core.channels.channel import UserMessage

from care import migrate
from care.config import CareSettings
from care.services import CareServices, build
from channels.config import TelegramSettings
from channels.telegram import Webhook, serve
from channels.telegram_bot import build_application
from channels.telegram_update import unusable
from tests.channels.fake_telegram import FakeTelegram
from tests.support.telegram_updates import (
    CHAT,
    NOT_FINITE,
    WRONG_TYPES,
    raw_with,
    unusable_bodies,
    update,
    with_value,
)

TOKEN = "42:DOOR"
SECRET = "door-secret"


# -- the check ---------------------------------------------------------------------------


@pytest.mark.parametrize("path,raw", NOT_FINITE)
def test_a_number_that_is_not_finite_anywhere_makes_an_update_unusable(path, raw):
    assert unusable(json.loads(raw_with(path, raw, 1))) == "a number that is not finite"


@pytest.mark.parametrize("path,value", WRONG_TYPES)
def test_a_field_of_the_wrong_type_makes_an_update_unusable(path, value):
    reason = unusable(with_value(path, value))
    assert reason is not None and str(value) not in reason  # the field, not what it held


def test_updates_telegram_sends_are_usable():
    assert unusable(update(1)) is None
    assert unusable(update(2, chat=-1001234567890)) is None  # a supergroup's id: 41 bits
    message = update(3)["message"]
    tap = {"update_id": 3, "callback_query": {
        "id": "4382", "chat_instance": "ci", "data": "/choose", "from": message["from"],
        "message": message}}  # fmt: skip
    assert unusable(tap) is None
    deep = update(4)
    node = deep["message"]
    for i in range(500):  # a reply chain: checked without recursion
        node["reply_to_message"] = copy.deepcopy(update(i)["message"])
        node = node["reply_to_message"]
    assert unusable(deep) is None
    node["chat"]["id"] = False
    assert unusable(deep) == "chat.id is not of its type"
    assert unusable({"update_id": 5, "something_new": {"id": "x", "n": 2**70}}) is None


# -- the door, with the channel's handlers ----------------------------------------------


class StandInRasa:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def __call__(self, message: UserMessage) -> None:
        self.messages.append(str(message.text))
        await message.output_channel.send_text_message(message.sender_id, "hi there")


class StandInAgent:
    action_endpoint = None
    tracker_store = None

    def is_ready(self) -> bool:
        return True


@dataclass
class Door:
    webhook: Webhook
    fake: FakeTelegram
    rasa: StandInRasa
    care: CareServices
    loop: asyncio.AbstractEventLoop

    def knock(self, body: bytes) -> int:
        status, _ = self.loop.run_until_complete(self.webhook.receive(SECRET, None, body))
        self.loop.run_until_complete(self.webhook.drain())  # its handlers have run
        return status


@pytest.fixture
def door(db_url: str) -> Iterator[Door]:
    fake = FakeTelegram(TOKEN).start()
    care = build(CareSettings(db_url=db_url))
    migrate.upgrade(care.db)
    settings = TelegramSettings(TOKEN, SECRET, api_base=fake.api_base)
    application = build_application(settings)
    webhook = Webhook(settings, care, application)
    rasa, agent = StandInRasa(), StandInAgent()
    serve(webhook, rasa, lambda: agent)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(application.initialize())
    webhook.ready = True
    try:
        yield Door(webhook, fake, rasa, care, loop)
    finally:
        loop.run_until_complete(webhook.drain())
        loop.run_until_complete(application.shutdown())
        loop.close()
        care.close()
        fake.stop()


def test_unusable_updates_are_acknowledged_counted_and_never_answered(door):
    webhook, fake, rasa, care = door.webhook, door.fake, door.rasa, door.care
    bodies = unusable_bodies(100)
    for body in bodies:
        assert door.knock(body) == 200  # was 503 on PostgreSQL: redelivered for ever
    for body in bodies:
        assert door.knock(body) == 200  # and so again when it is delivered again
    assert webhook.unusable == 2 * len(bodies)
    assert [c for c in fake.calls if c.method == "sendMessage"] == []  # was sent to chat False
    assert rasa.messages == []
    assert care.channels.first_delivery("telegram", "100") is True  # no receipt, no inbox row

    # what Telegram sends is still taken and answered
    assert door.knock(json.dumps(update(300)).encode()) == 200
    assert rasa.messages == ["hello"] and len(fake.sent(chat_id=CHAT)) == 1
    assert webhook.unusable == 2 * len(bodies)


def test_not_an_update_is_still_400(door):
    for body in (b"NaN", b"[]", b'{"update_id": NaN}', b'{"update_id": 1.5}', b"\xff"):
        assert door.knock(body) == 400
    assert door.webhook.unusable == 0
