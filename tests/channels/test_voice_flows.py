"""Issue 5's proof, by voice, through each way in: English spoken by espeak-ng (made at test
time) over the HTTP endpoint, a WebSocket call and an AudioSocket call ends in the right
bookings — day care, a clinic visit, a cancellation — in the care database. One stack,
`anxin run` with the AudioSocket bridge on; Rasa, actions and Whisper real.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import subprocess
import uuid
import wave
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import websockets

from care.audit import Actor
from tests.care.helpers import slot_id
from tests.channels.audiosocket_phone import Hotline, Phone, answered, running_hotline, speech
from tests.channels.test_voice_stack import _events, spoken, turn
from tests.support.clock import NEXT_WEDNESDAY, next_wednesday


@pytest.fixture(scope="module")
def hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hotline]:
    with running_hotline(tmp_path_factory.mktemp("voice-flows")) as line:
        yield line


WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six"}


def choice(replies: str, wanted: str) -> str:
    """How a caller picks the numbered choice that mentions ``wanted``: "Number two"."""
    for number, title in re.findall(r"(?:^|\s)(\d)\. (.*?)(?=\s\d\. |$)", replies):
        if wanted.lower() in title.lower():
            return f"Number {WORDS[int(number)]}"
    raise AssertionError(f"no choice with {wanted!r} in {replies!r}")


def test_day_care_by_voice_over_http(hotline: Hotline, tmp_path: Path) -> None:
    # Said in words that do not change with the date: Whisper base heard "November 30" as
    # "3rd", and weekday names each differently.
    day = next_wednesday(hotline.care.clock)
    sender = f"query-{uuid.uuid4().hex[:8]}"

    heard: list[str] = []

    def say(text: str) -> str:
        status, answer = turn(hotline, spoken(text, tmp_path), query=f"sender={sender}")
        assert status == 200 and answer["language"] == "en", answer
        heard.append(answer["transcript"])
        return " ".join(answer["replies"])

    asked = say(f"I would like to book day care {NEXT_WEDNESDAY}")
    bus = say(choice(asked, "full day"))
    assert "bus" in bus.lower(), bus
    named = say(choice(bus, "east gate"))
    assert "name" in named, named
    readback = say("My name is Rose")
    assert "right?" in readback and "full day" in readback.lower(), readback
    assert "booked" in say("Yes please")

    person = hotline.care.people.find_by_identity("voice", sender)
    assert person is not None
    [booking] = hotline.care.bookings.upcoming(person.id)
    booked = (booking.service, booking.slot.date, booking.slot.option, booking.status)
    assert booked == ("day_care", day, "full_day", "confirmed"), heard
    pickup = booking.details["pickup"]["name_en"]
    assert pickup == "Huayuan Residential Compound, east gate", (pickup, heard, bus)
    assert booking.channel == "voice"


def at_16k(text: str, tmp: Path) -> bytes:
    """espeak-ng's 22 kHz speech as the 16 kHz PCM a WebSocket call sends."""
    path = tmp / "call.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(path), text], check=True)
    with wave.open(io.BytesIO(path.read_bytes())) as w:
        rate, pcm = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")
    count = int(pcm.size * 16_000 / rate)
    return np.interp(np.arange(count) * rate / 16_000, np.arange(pcm.size),
                     pcm).astype("<i2").tobytes()  # fmt: skip


def test_a_clinic_visit_by_voice_over_a_websocket_call(
    hotline: Hotline,
    tmp_path: Path,
) -> None:
    day = next_wednesday(hotline.care.clock)
    sender = f"ws-{uuid.uuid4().hex[:8]}"
    url = f"ws://127.0.0.1:{hotline.port}/webhooks/voice/stream?sender={sender}"

    async def call() -> list[str]:
        heard: list[str] = []
        async with websockets.connect(url, max_size=None) as ws:

            async def say(text: str) -> str:
                pcm = at_16k(text, tmp_path) + bytes(2 * 16_000 * 12 // 10)  # then 1.2 s quiet
                for start in range(0, len(pcm), 640):
                    await ws.send(pcm[start : start + 640])
                events = await _events(ws, "replies", timeout=120)
                heard.extend(e["text"] for e in events if e["event"] == "transcript")
                return " ".join(events[-1]["texts"])

            await _events(ws, "replies")  # the greeting
            asked = await say(f"I need to see a doctor {NEXT_WEDNESDAY}")
            assert "Which one" in asked, asked
            named = await say(choice(asked, "Dr"))
            assert "name" in named, named
            readback = await say("My name is Mary")
            assert "right?" in readback and day.strftime("%A") in readback, readback
            done = await say("Yes please")
            assert "booked" in done, done
            await ws.send(json.dumps({"hangup": True}))
        return heard

    heard = asyncio.run(call())
    assert "doctor" in heard[0].lower(), heard
    person = hotline.care.people.find_by_identity("voice", sender)
    assert person is not None
    [booking] = hotline.care.bookings.upcoming(person.id)
    assert (booking.service, booking.slot.date, booking.status) == ("clinic", day, "confirmed")
    assert booking.channel == "voice"


def test_a_booking_cancelled_by_voice_over_audiosocket(
    hotline: Hotline,
    tmp_path: Path,
) -> None:
    number = "13900139000"
    elder = hotline.care.people.create("elder", "Li Ming", phone=number, preferred_language="en")
    day = next_wednesday(hotline.care.clock)
    lunch = hotline.care.bookings.book(
        elder.id, slot_id(hotline.care, f"meal:{day}:lunch:dine_in"), Actor.person(elder.id),
        "voice",
    )  # fmt: skip
    call = uuid.uuid4()
    assert hotline.register(call, number) == 200

    async def conversation() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        phone = await Phone(hotline.audiosocket_port, call).dial()
        try:
            said = await phone.reply(0)  # the greeting
            # "I want to" over the phone: "I won't".
            said = await phone.say(speech(f"I would like to cancel my lunch {NEXT_WEDNESDAY}",
                                          tmp_path))  # fmt: skip
            seen["asked"] = await answered(hotline, number, 2)
            await phone.reply(said)
            await phone.say(speech("Yes please", tmp_path))
            seen["done"] = await answered(hotline, number, 3)
        finally:
            await phone.hang_up()
        return seen

    seen = asyncio.run(conversation())
    heard = [(e["text"], e["parse_data"]["intent"]["name"])
             for e in hotline.tracker(number) if e["event"] == "user"]  # fmt: skip
    assert "cancel" in seen["asked"] and "lunch" in seen["asked"].lower(), (seen["asked"], heard)
    assert "cancelled" in seen["done"], seen["done"]
    assert hotline.care.bookings.get(lunch.id).status == "cancelled"
    assert hotline.care.bookings.upcoming(elder.id) == []
