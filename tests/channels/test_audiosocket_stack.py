"""The telephony bridge against the real stack: `anxin run` with the AudioSocket server on,
Rasa, actions and the Whisper model real. The hotline is played by a plain asyncio TCP
client speaking AudioSocket as Asterisk does (tests/channels/audiosocket_phone.py); what
the caller says is espeak-ng English, made at test time.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
import wave
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from care.models_voice import VoiceRecording
from channels import audiosocket_protocol as wire
from tests.channels.audiosocket_phone import (
    FRAME,
    RATE,
    SECRET,
    Hotline,
    Phone,
    answered,
    running_hotline,
    silence,
    speech,
    tone,
    transcribe,
)
from tests.integration.test_stack import ROOT
from tests.support.clock import NEXT_WEDNESDAY, next_wednesday

ELDER_NUMBER = "+86 138 0013 8000"  # as the profile has it
CALLER_ID = "13800138000"  # as the phone network presents it


@pytest.fixture(scope="module")
def hotline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hotline]:
    with running_hotline(tmp_path_factory.mktemp("audiosocket-stack")) as line:
        yield line


def test_registration_needs_the_secret_and_a_well_formed_call(hotline):
    call = uuid.uuid4()
    assert hotline.register(call, CALLER_ID, secret=None) == 403
    assert hotline.register(call, CALLER_ID, secret="wrong") == 403
    assert hotline.register(call, CALLER_ID, body=b"uuid=nope&caller=138") == 400
    assert hotline.register(call, "not a number") == 400
    assert hotline.register(call, CALLER_ID, body=b"x" * 5000) == 413
    assert hotline.register(call, "anonymous", json_body=True) == 200
    assert hotline.register(call, CALLER_ID) == 200
    assert hotline.health()["audiosocket"] is True


def test_a_known_elder_calls_is_greeted_by_name_and_books_lunch(hotline, tmp_path):
    elder = hotline.care.people.create(
        "elder", "Mary Jones", phone=ELDER_NUMBER, preferred_language="en",
        consent_voice_recording=True,
    )  # fmt: skip
    assert hotline.health()["transcriber"], "the stack has no transcriber: voice.stt failed"
    # Said in words that do not change with the date: Whisper base heard "November 30" as
    # "3rd" and, over the phone, "Thursday" as "her day".
    day = next_wednesday(hotline.care.clock)
    call = uuid.uuid4()
    assert hotline.register(call, CALLER_ID) == 200
    sender = "13800138000"

    async def conversation() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        phone = await Phone(hotline.audiosocket_port, call).dial()
        try:
            seen["greeting"] = await phone.reply(0)
            said = await phone.say(speech(f"I would like to book lunch for {NEXT_WEDNESDAY}",
                                          tmp_path))  # fmt: skip
            seen["asked"] = await answered(hotline, sender, 2)  # 1 is the greeting
            await phone.reply(said)
            pressed = phone.key("2")  # 2. Deliver it home, on the keypad
            seen["readback"] = await answered(hotline, sender, 3)
            await phone.reply(pressed)
            # Whisper hears a lone espeak "Yes" over a phone line as "Yeah."
            await phone.say(speech("Yes, that's right", tmp_path))
            seen["done"] = await answered(hotline, sender, 4)
        finally:
            await phone.hang_up()
        seen["kinds"], seen["sizes"] = set(phone.kinds), phone.sizes
        return seen

    seen = asyncio.run(conversation())
    assert "mary" in transcribe(seen["greeting"]), "the greeting did not name her"
    assert "2. Deliver it home" in seen["asked"], seen["asked"]
    assert "right?" in seen["readback"] and "name" not in seen["readback"], seen["readback"]
    assert "booked" in seen["done"], seen["done"]
    assert seen["kinds"] == {wire.AUDIO}  # only 8 kHz audio: what every Asterisk takes
    assert seen["sizes"] == {FRAME}  # in 20 ms messages

    [booking] = hotline.care.bookings.upcoming(elder.id)  # booked as herself, not a stranger
    assert (booking.slot.code, booking.status) == (f"meal:{day}:lunch:delivery", "confirmed")
    assert booking.channel == "voice" and booking.booked_by == f"person:{elder.id}"
    assert hotline.care.people.find_by_identity("voice", sender).id == elder.id  # type: ignore[union-attr]
    logs = hotline.out.text
    assert CALLER_ID not in logs and "Mary" not in logs and "book lunch" not in logs
    # Her two spoken turns (the key is no voice) are kept as hers: consent looked up for
    # the elder the number resolved to, so her voice is kept too.
    rows = recordings(hotline, sender, 2)
    assert [r.person_id for r in rows] == [elder.id, elder.id]
    assert "lunch" in rows[0].transcript.lower() and all(r.path for r in rows), rows
    said = {e["message_id"] for e in hotline.tracker(sender) if e["event"] == "user"}
    assert {r.message_id for r in rows} <= said


def recordings(hotline: Hotline, sender: str, count: int, timeout: float = 30) -> list[Any]:
    """The voice recordings of ``sender``, once there are ``count`` (kept in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        with hotline.care.db.read() as s:
            rows = list(s.scalars(select(VoiceRecording).where(
                VoiceRecording.channel == "voice", VoiceRecording.sender_id == sender,
            ).order_by(VoiceRecording.id)))  # fmt: skip
        if len(rows) >= count:
            return rows
        assert time.monotonic() < deadline, f"{len(rows)} recording(s), {count} expected"
        time.sleep(0.3)


def test_a_hang_up_mid_turn_ends_the_call_and_keeps_what_was_said(hotline, tmp_path):
    call = uuid.uuid4()
    assert hotline.register(call, "+86 139 0000 0001") == 200  # a number nobody has

    async def calls() -> None:
        phone = await Phone(hotline.audiosocket_port, call).dial()
        await phone.reply(0)
        # The caller finishes a sentence and hangs up while it is being transcribed.
        await phone.say(speech("I need to see a doctor on Friday", tmp_path))
        await phone.hang_up()
        dropped = await Phone(hotline.audiosocket_port, uuid.uuid4()).dial()
        await dropped.reply(0)  # an anonymous caller is greeted too
        await dropped.hang_up(abort=True)

    asyncio.run(calls())
    # The turn still reached Rasa: the conversation keeps it, under the caller's number.
    deadline = time.monotonic() + 120
    while True:
        events = hotline.tracker("+8613900000001")
        said = [e.get("text", "") for e in events if e["event"] == "user"]
        if any("doctor" in s.lower() for s in said):
            break
        assert time.monotonic() < deadline, said
        time.sleep(0.5)
    # Kept for review too, though the line was closed: a stranger's words, not their voice.
    kept = recordings(hotline, "+8613900000001", 1)
    assert any("doctor" in r.transcript.lower() for r in kept), kept
    assert all(r.path is None and r.person_id is None for r in kept)
    deadline = time.monotonic() + 30
    while hotline.health()["calls"]:
        assert time.monotonic() < deadline, "a call is still open after it hung up"
        time.sleep(0.2)


def test_broken_messages_close_that_call_and_nothing_else(hotline):
    async def closed_at_once(first: bytes) -> list[int]:
        phone = await Phone(hotline.audiosocket_port, uuid.uuid4()).dial(first=first)
        await asyncio.wait_for(phone.ended.wait(), 30)
        await phone.hang_up()
        return phone.kinds

    async def broken() -> dict[str, Any]:
        seen: dict[str, Any] = {}
        # Audio before the call's UUID; a UUID of 5 bytes: hung up, nothing said.
        seen["no uuid"] = await closed_at_once(wire.audio_frame(silence(0.02)))
        seen["short uuid"] = await closed_at_once(wire.encode(wire.UUID, b"12345"))
        # A call that goes well, then an unknown kind (skipped), then odd-length audio.
        phone = await Phone(hotline.audiosocket_port, uuid.uuid4()).dial()
        await phone.reply(0, quiet_s=0.5)
        phone.writer.write(wire.encode(0x02, b"\x01\x35\x00\x00\x00\x00"))  # a fork's DTMF
        phone.writer.write(wire.encode(0x42, b"hello"))
        await asyncio.sleep(1)
        seen["alive after unknown kinds"] = not phone.ended.is_set()
        phone.writer.write(wire.encode(wire.AUDIO, bytes(321)))
        await asyncio.wait_for(phone.ended.wait(), 30)
        seen["odd audio"] = phone.kinds[-1]
        await phone.hang_up()
        # Garbage that is not even a header, then the line closes.
        _, writer = await asyncio.open_connection("127.0.0.1", hotline.audiosocket_port)
        writer.write(b"\x10\x00")
        writer.close()
        # The server still answers the next call.
        phone = await Phone(hotline.audiosocket_port, uuid.uuid4()).dial()
        seen["next call"] = await phone.reply(0, quiet_s=0.5)
        await phone.hang_up()
        return seen

    seen = asyncio.run(broken())
    assert seen["no uuid"] == [wire.HANGUP] and seen["short uuid"] == [wire.HANGUP], seen
    assert seen["alive after unknown kinds"] and seen["odd audio"] == wire.HANGUP
    assert len(seen["next call"]) > RATE  # more than half a second of greeting
    assert "Traceback" not in hotline.out.text
    assert "closing it" in hotline.out.text  # logged, with no caller data


def test_speaking_over_our_speech_stops_it(hotline):
    async def call() -> tuple[list[float], float]:
        phone = await Phone(hotline.audiosocket_port, uuid.uuid4()).dial()
        try:
            deadline = time.monotonic() + 120
            while not phone.heard:  # the greeting has begun
                assert time.monotonic() < deadline, "no greeting"
                await asyncio.sleep(0.02)
            await asyncio.sleep(1.0)
            spoke_at = time.monotonic()
            await phone.say(tone(0.6))  # the caller talks over it
            await asyncio.sleep(1.0)
        finally:
            await phone.hang_up()
        return [t for t, _ in phone.heard], spoke_at

    heard, spoke_at = asyncio.run(call())
    # The greeting is what came before our first pause of a second or more (the answer
    # to the hum comes after one). It is several sentences long: uninterrupted, it would
    # have gone on until that answer replaced it.
    pauses = [a for a, b in zip(heard, heard[1:], strict=False) if b - a >= 1.0]
    greeting_end = pauses[0] if pauses else heard[-1]
    assert greeting_end < spoke_at + 1.0, greeting_end - spoke_at


def test_anxin_call_dials_the_bridge_as_asterisk_does(hotline, tmp_path):
    said = tmp_path / "lunch.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(said),
                    f"I would like to book lunch for {NEXT_WEDNESDAY}"], check=True)  # fmt: skip
    out = tmp_path / "heard"
    done = subprocess.run(
        [sys.executable, "-m", "anxin", "call", "--audiosocket",
         f"127.0.0.1:{hotline.audiosocket_port}", "--caller", "+86 139 0000 0002",
         "--url", f"http://127.0.0.1:{hotline.port}", "--wav", str(said), "key:1",
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "ANXIN_AUDIOSOCKET_SECRET": SECRET},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for turn in range(3):  # the greeting, the answer to the lunch, the answer to the key
        with wave.open(str(out / f"turn-{turn}.wav")) as w:
            assert w.getframerate() == RATE and w.getnframes() > RATE / 2, turn
    said_in_call = [e.get("text", "") for e in hotline.tracker("+8613900000002")
                    if e["event"] == "user"]  # fmt: skip
    assert len(said_in_call) == 3 and "lunch" in said_in_call[1].lower(), said_in_call
    assert said_in_call[2] == "1"  # the key answered the numbered choice
    wrong = subprocess.run(
        [sys.executable, "-m", "anxin", "call", "--audiosocket", "127.0.0.1:1",
         "--wav", str(said)], cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert wrong.returncode == 1 and "no AudioSocket server" in wrong.stderr
