"""Hypothesis against the Telegram webhook's door: any body, any header, never a 500.

The door is ``channels.telegram.Webhook.receive`` (the Sanic route only wraps it), with a
real python-telegram-bot application initialised against the fake Bot API and a real
SQLite database for the update_id receipts. Nothing here is a stand-in for our code.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from care import migrate
from care.config import CareSettings
from care.services import build
from channels.config import TelegramSettings
from channels.telegram import Webhook
from channels.telegram_bot import build_application
from tests.channels.fake_telegram import FakeTelegram

TOKEN = "42:FUZZ"
SECRET = "fuzz-secret"
ALLOWED = {200, 400, 403, 413}


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Webhook, Any]]:
    fake = FakeTelegram(TOKEN).start()
    care = build(CareSettings(db_url=f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'a.db'}"))
    migrate.upgrade(care.db)
    tg = TelegramSettings(TOKEN, SECRET, api_base=fake.api_base)
    application = build_application(tg)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(application.initialize())
    webhook = Webhook(tg, care, application)
    webhook.ready = True
    yield webhook, loop
    loop.run_until_complete(webhook.drain())
    loop.run_until_complete(application.shutdown())
    loop.close()
    care.close()
    fake.stop()


def knock(door: tuple[Webhook, Any], secret: Any, length: Any, body: bytes) -> int:
    webhook, loop = door
    status, reply = loop.run_until_complete(webhook.receive(secret, length, body))
    assert set(reply) <= {"ok", "error"}  # nothing else, never a trace
    return status


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
chats = st.fixed_dictionaries(
    {"id": st.integers(-(2**40), 2**40) | json_values,
     "type": st.sampled_from(["private", "group", "supergroup", "channel"]) | json_values},
)  # fmt: skip
messages = st.fixed_dictionaries(
    {},
    optional={
        "message_id": st.integers() | json_values,
        "date": st.integers(0, 2**31) | json_values,
        "chat": chats | json_values,
        "from": st.fixed_dictionaries(
            {"id": st.integers(), "is_bot": st.booleans(), "first_name": st.text()}
        )
        | json_values,  # fmt: skip
        "text": st.text() | json_values,
        "voice": json_values,
        "entities": json_values,
    },
)
updates = st.fixed_dictionaries(
    {"update_id": st.integers(0, 2**31)},
    optional={
        "message": messages | json_values,
        "edited_message": messages,
        "callback_query": st.fixed_dictionaries(
            {"id": st.text(), "data": st.text(), "chat_instance": st.text()},
            optional={"message": messages, "from": json_values},
        )
        | json_values,
    },
)
bodies = (
    st.binary(max_size=2000)
    | st.text(max_size=500).map(str.encode)
    | json_values.map(lambda v: json.dumps(v).encode())
    | updates.map(lambda u: json.dumps(u).encode())
)
fuzz = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@fuzz
@given(body=bodies, length=st.none() | st.text(max_size=12))
def test_any_body_with_the_secret_is_never_a_500(door, body, length):
    assert knock(door, SECRET, length, body) in ALLOWED


@fuzz
@given(body=bodies, secret=st.none() | st.text(max_size=40))
def test_without_the_secret_everything_is_403(door, body, secret):
    assume(secret != SECRET)
    assert knock(door, secret, None, body) == 403


@fuzz
@given(update=updates)
def test_update_shaped_bodies_are_taken_or_refused_as_bad_input(door, update):
    assert knock(door, SECRET, None, json.dumps(update).encode()) in {200, 400}


def test_a_declared_or_real_body_over_1_mb_is_413(door):
    assert knock(door, SECRET, "1000001", b"{}") == 413
    assert knock(door, SECRET, None, b" " * 1_000_001) == 413
    assert knock(door, "wrong", "1000001", b"{}") == 403  # the secret is checked first


def test_a_redelivered_update_is_taken_once(door):
    webhook, loop = door
    body = json.dumps({"update_id": 2**31 + 7}).encode()
    assert knock(door, SECRET, None, body) == 200
    assert webhook.care.channels.first_delivery("telegram", str(2**31 + 7)) is False
