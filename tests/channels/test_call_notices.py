"""The care centre's notifications are said in calls, after the greeting, once.

One real stack (`anxin run` with the AudioSocket bridge on; Rasa, the care database and
the voice models real). A lunch staff cancel (care.staff_bookings.cancel_for_elder, as
the console does) is pending for an elder who only phones in: her next AudioSocket call
says it after the greeting (heard by Whisper in our speech, and marked delivered on
``voice``), her call after that does not. On the WebSocket the notice comes as its own
``replies`` event with ``notification`` true; a line that drops during the greeting,
before the notice's speech began, leaves it in the outbox for the next call.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Iterator, Optional

import pytest
import websockets
from sqlalchemy import select

from care import models as m
from care.audit import Actor
from care.staff_bookings import cancel_for_elder
from tests.channels.audiosocket_phone import Hotline, Phone, pieces, running_hotline, transcribe
from tests.support.clock import weekday_ahead

ELDER_NUMBER = "+86 137 0013 7001"  # as her profile has it
CALLER_ID = "13700137001"  # as the phone network presents it


@pytest.fixture(scope="module")
def hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hotline]:
    with running_hotline(tmp_path_factory.mktemp("call-notices")) as line:
        yield line


def _notices(hotline: Hotline, person_id: int) -> list[m.Notification]:
    with hotline.care.db.read() as s:
        rows = list(s.scalars(select(m.Notification).where(m.Notification.person_id == person_id)))
        s.expunge_all()
        return rows


def _notify(hotline: Hotline, person_id: int, text: str) -> int:
    with hotline.care.db.write() as s:
        row = m.Notification(person_id=person_id, kind="test", message=text,
                             created_at=hotline.care.clock())  # fmt: skip
        s.add(row)
        s.flush()
        return int(row.id)


def _row(hotline: Hotline, notification_id: int) -> m.Notification:
    with hotline.care.db.read() as s:
        row = s.get(m.Notification, notification_id)
        s.expunge(row)
        return row


def _cancelled_lunch(hotline: Hotline, person_id: int) -> None:
    care = hotline.care
    slot = care.bookings.slot_by_code(f"meal:{weekday_ahead(care.clock)}:lunch:delivery")
    booking = care.bookings.book(person_id, slot.id, Actor.person(person_id), "voice")
    cancel_for_elder(care.bookings, booking.id, "wang.staff", "kitchen repairs", "0451-1234567")


def test_a_registered_caller_hears_the_notice_after_the_greeting_once(hotline):
    elder = hotline.care.people.create("elder", "Mary Evans", phone=ELDER_NUMBER,
                                       preferred_language="en")  # fmt: skip
    assert hotline.health()["synthesizer"] and hotline.health()["audiosocket"]
    _cancelled_lunch(hotline, elder.id)
    [pending] = _notices(hotline, elder.id)
    assert pending.delivered_at is None and "kitchen repairs" in pending.message

    async def call() -> bytes:
        phone_call = uuid.uuid4()
        assert hotline.register(phone_call, CALLER_ID) == 200
        phone = await Phone(hotline.audiosocket_port, phone_call).dial()
        try:
            # The greeting and the notice are two stretches of speech: a pause between
            # them of the notice's synthesis, well under three seconds.
            return await phone.reply(0, quiet_s=3.0, timeout=180)
        finally:
            await phone.hang_up()

    def heard() -> str:
        return " | ".join(transcribe(piece) for piece in pieces(asyncio.run(call())))

    first = heard()
    assert "mary" in first, first  # the greeting, by name
    # "A message from the care centre: …": Whisper also wrote "from a care center".
    assert "message from" in first and "kitchen" in first, first
    assert first.index("mary") < first.index("message from"), first
    [told] = _notices(hotline, elder.id)
    assert told.delivered_at is not None and told.delivered_channel == "voice", told
    assert told.attempts == 1

    second = heard()
    assert "mary" in second and "message from" not in second and "kitchen" not in second, second
    assert _notices(hotline, elder.id)[0].attempts == 1  # not claimed again
    logs = hotline.out.text
    assert "kitchen repairs" not in logs and CALLER_ID not in logs


async def _events(ws: Any, until: str, count: int = 1, timeout: float = 120) -> list[dict]:
    """JSON events (audio frames skipped) up to the ``count``-th one named ``until``."""
    events: list[dict[str, Any]] = []
    while True:
        message = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(message, bytes):
            continue
        events.append(json.loads(message))
        if sum(1 for e in events if e["event"] == until) >= count:
            return events


def _notification(events: list[dict[str, Any]]) -> Optional[dict[str, Any]]:
    return next((e for e in events if e["event"] == "replies" and e.get("notification")), None)


def test_a_websocket_call_gets_the_notice_as_its_own_replies_event(hotline):
    elder = hotline.care.people.create("elder", "王凤英", preferred_language="zh")
    hotline.care.people.add_identity(elder.id, "voice", "app-wang")
    nid = _notify(hotline, elder.id, "王奶奶，明天的午饭改到十一点半送。")
    url = f"ws://127.0.0.1:{hotline.port}/webhooks/voice/stream?sender=app-wang"

    async def call() -> list[dict[str, Any]]:
        async with websockets.connect(url, max_size=None) as ws:
            # the greeting's speech, then the notice's
            return await _events(ws, "playback_end", count=2)

    events = asyncio.run(call())
    replies = [e for e in events if e["event"] == "replies"]
    assert len(replies) == 2 and not replies[0].get("notification"), replies
    assert replies[1]["notification"] is True
    assert replies[1]["texts"] == ["您有一条服务中心的消息：王奶奶，明天的午饭改到十一点半送。"]
    assert [e["event"] for e in events].count("playback_start") == 2
    assert _row(hotline, nid).delivered_channel == "voice"

    async def again() -> list[dict[str, Any]]:
        async with websockets.connect(url, max_size=None) as ws:
            return await _events(ws, "playback_end")

    assert _notification(asyncio.run(again())) is None
    assert _row(hotline, nid).attempts == 1


def test_a_line_dropped_during_the_greeting_keeps_the_notice_for_the_next_call(hotline):
    elder = hotline.care.people.create("elder", "李桂兰", preferred_language="zh")
    hotline.care.people.add_identity(elder.id, "voice", "app-li")
    nid = _notify(hotline, elder.id, "李奶奶，下周二的体检改到上午九点。")
    url = f"ws://127.0.0.1:{hotline.port}/webhooks/voice/stream?sender=app-li"

    async def dropped() -> list[dict[str, Any]]:
        ws = await websockets.connect(url, max_size=None)
        events = await _events(ws, "playback_start")  # the greeting has begun
        ws.transport.abort()  # the line goes dead before the notice is said
        return events

    assert _notification(asyncio.run(dropped())) is not None  # it had been claimed
    deadline = time.monotonic() + 30
    while _row(hotline, nid).delivered_at is not None:
        assert time.monotonic() < deadline, "the notice stayed delivered though never said"
        time.sleep(0.2)

    async def next_call() -> list[dict[str, Any]]:
        async with websockets.connect(url, max_size=None) as ws:
            return await _events(ws, "playback_end", count=2)

    told = _notification(asyncio.run(next_call()))
    assert told is not None and "体检改到上午九点" in told["texts"][0]
    row = _row(hotline, nid)
    assert row.delivered_channel == "voice" and row.attempts == 2
