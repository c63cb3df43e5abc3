"""Voice turns kept for staff review, and staff replies spoken, on the real voice stack:
`anxin run`, Rasa, actions and Whisper real; speech from espeak-ng, made at test time.

A consenting elder's turn leaves a row (transcript, the turn's message id as Rasa filed
it) and an OGG file; someone who did not consent leaves the transcript alone. A staff
reply written during a call is said to the caller (a ``replies`` event with ``staff``
true, then our speech), once; the HTTP endpoint puts it first in its next answer.
"""

from __future__ import annotations

import asyncio
import io
import json
import time
import wave
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import websockets
from sqlalchemy import select
from starlette.testclient import TestClient

from care.models_voice import VoiceRecording
from care.senders import sender_id
from care.staff_replies import StaffReplies
from staff.app import create_app
from staff.config import StaffSettings
from tests.channels.stacks import ChannelStack, running
from tests.channels.test_voice_stack import RATE, health, silence, spoken, turn, wav
from tests.staff.conftest import add_user, login
from tests.support.rasa_api import tracker_events


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    with running(tmp_path_factory.mktemp("voice-recordings")) as stack:
        yield stack


def elder(stack: ChannelStack, sender: str, consent: bool) -> int:
    person = stack.care.people.create("elder", "Mary Jones", preferred_language="en",
                                      consent_voice_recording=consent)  # fmt: skip
    stack.care.people.add_identity(person.id, "voice", sender)
    return person.id


def kept(stack: ChannelStack, sender: str, count: int = 1, timeout: float = 30) -> list[Any]:
    """The recordings of ``sender`` once there are ``count`` (they are kept in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        with stack.care.db.read() as s:
            rows = s.scalars(
                select(VoiceRecording)
                .where(VoiceRecording.channel == "voice", VoiceRecording.sender_id == sender)
                .order_by(VoiceRecording.id)
            ).all()
        if len(rows) >= count:
            return list(rows)
        assert time.monotonic() < deadline, f"{len(rows)} recording(s) of {sender}"
        time.sleep(0.3)


def user_message_ids(stack: ChannelStack, sender: str) -> list[str]:
    """The message ids of a caller's turns in Rasa (their conversation: voice:<sender>)."""
    events = tracker_events(stack.port, sender_id("voice", sender))
    return [e["message_id"] for e in events if e["event"] == "user"]


def recordings_dir(stack: ChannelStack) -> Path:
    # The stack's recordings live beside its database (ANXIN_VAR_DIR).
    return Path(stack.care.settings.db_url.removeprefix("sqlite:///")).parent / "recordings"


def audio_file(stack: ChannelStack, row: Any) -> bytes:
    return (recordings_dir(stack) / row.path).read_bytes()


def at_16k(wav_bytes: bytes) -> bytes:
    """espeak-ng's 22,050 Hz WAV as the 16 kHz PCM a call sends."""
    with wave.open(io.BytesIO(wav_bytes)) as w:
        rate, pcm = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")
    count = int(pcm.size * RATE / rate)
    return (
        np.interp(np.arange(count) * rate / RATE, np.arange(pcm.size), pcm).astype("<i2").tobytes()
    )


async def events_until(ws: Any, done: Any, timeout: float = 60) -> list[Any]:
    """Everything the call sends (JSON events as dicts, audio as bytes) until ``done``
    says so of the last one."""
    seen: list[Any] = []
    while True:
        message = await asyncio.wait_for(ws.recv(), timeout)
        seen.append(message if isinstance(message, bytes) else json.loads(message))
        if done(seen[-1]):
            return seen


def named(name: str) -> Any:
    return lambda m: isinstance(m, dict) and m["event"] == name


def test_an_http_turn_keeps_audio_only_with_consent(stack, tmp_path):
    assert health(stack)["transcriber"], "the stack has no transcriber: voice.stt failed"
    mary = elder(stack, "rec-http-1", consent=True)
    elder(stack, "rec-http-2", consent=False)
    said = spoken("I would like to book lunch", tmp_path)
    status, answer = turn(stack, said, query="sender=rec-http-1")
    assert status == 200 and "lunch" in answer["transcript"].lower(), answer
    status, other = turn(stack, said, query="sender=rec-http-2")
    assert status == 200 and "lunch" in other["transcript"].lower(), other

    [row] = kept(stack, "rec-http-1")
    assert row.person_id == mary and row.transcript == answer["transcript"]
    assert row.language == "en" and row.duration_s > 1 and row.content_type == "audio/ogg"
    assert row.message_id in user_message_ids(stack, "rec-http-1")  # the turn's own id
    assert audio_file(stack, row)[:4] == b"OggS"  # the WAV re-encoded for browsers

    [stranger] = kept(stack, "rec-http-2")
    assert "lunch" in stranger.transcript.lower()
    assert stranger.path is None and stranger.content_type is None  # no consent, no voice
    assert "lunch" not in stack.out.text.lower()  # what was said stays out of the logs


def test_a_call_turn_of_a_consenting_elder_is_kept(stack, tmp_path):
    mary = elder(stack, "rec-call-1", consent=True)
    url = f"ws://127.0.0.1:{stack.port}/webhooks/voice/stream?sender=rec-call-1&language=en"
    speech = at_16k(spoken("I would like to book lunch", tmp_path)) + silence(1.2)

    async def call() -> list[Any]:
        async with websockets.connect(url, max_size=None) as ws:
            await events_until(ws, named("replies"))  # the greeting
            for start in range(0, len(speech), 640):
                await ws.send(speech[start : start + 640])
            return await events_until(ws, named("replies"))

    heard = asyncio.run(call())
    [transcript] = [m for m in heard if isinstance(m, dict) and m["event"] == "transcript"]
    assert "lunch" in transcript["text"].lower(), heard
    [row] = kept(stack, "rec-call-1")  # the greeting is no voice: not kept
    assert row.person_id == mary and row.transcript == transcript["text"]
    assert row.message_id in user_message_ids(stack, "rec-call-1")
    assert row.content_type == "audio/ogg" and audio_file(stack, row)[:4] == b"OggS"


def test_a_staff_reply_written_during_a_call_is_said_once(stack):
    assert health(stack)["synthesizer"], "the stack has no synthesizer"
    elder(stack, "rec-call-2", consent=False)
    url = f"ws://127.0.0.1:{stack.port}/webhooks/voice/stream?sender=rec-call-2&language=en"
    replies = StaffReplies(stack.care.db, stack.care.clock)

    async def call() -> tuple[list[Any], list[Any]]:
        async with websockets.connect(url, max_size=None) as ws:
            await events_until(ws, named("playback_end"))  # the greeting, said in full
            # Staff write while the caller says nothing.
            await asyncio.to_thread(replies.queue, "voice", "voice:rec-call-2",
                                    "Your daughter is on her way", "nurse.wang")  # fmt: skip
            said = await events_until(ws, named("playback_end"), timeout=30)
            try:  # nothing more: the reply is said once
                later = await events_until(ws, lambda m: False, timeout=6)
            except asyncio.TimeoutError:
                later = []
            return said, later

    said, later = asyncio.run(call())
    events = [m for m in said if isinstance(m, dict)]
    said_by_staff = ["A member of staff says: Your daughter is on her way"]
    assert events[0] == {"event": "replies", "staff": True, "keypad": False,
                         "texts": said_by_staff}, said  # fmt: skip
    assert [e["event"] for e in events[1:]] == ["playback_start", "playback_end"], events
    frames = [m for m in said if isinstance(m, bytes)]
    assert sum(len(f) for f in frames) > RATE * 2, "the staff reply was not spoken"
    assert later == []
    assert replies.pending("voice", "voice:rec-call-2") == []  # delivered, and only once


def test_a_staff_reply_waiting_at_a_turn_comes_first_in_its_answer(stack):
    elder(stack, "rec-call-3", consent=False)
    url = f"ws://127.0.0.1:{stack.port}/webhooks/voice/stream?sender=rec-call-3&language=en"
    replies = StaffReplies(stack.care.db, stack.care.clock)

    async def call() -> list[Any]:
        async with websockets.connect(url, max_size=None) as ws:
            await events_until(ws, named("playback_start"))  # the greeting is being said
            # Written while we speak: no look cuts our speech, so the caller's next turn
            # (a key pressed over the greeting) is where it is said.
            await asyncio.to_thread(
                replies.queue, "voice", "voice:rec-call-3", "我们马上到", "nurse.wang"
            )
            await ws.send(json.dumps({"dtmf": "1"}))  # 1: meals
            return await events_until(ws, named("playback_end"), timeout=30)

    events = [m for m in asyncio.run(call()) if isinstance(m, dict)]
    answered = [e for e in events if e["event"] in ("replies", "playback_start", "playback_end")]
    assert [e["event"] for e in answered] == ["replies", "replies", "playback_start",
                                              "playback_end"], events  # fmt: skip
    staff, ours = answered[0], answered[1]
    assert staff["staff"] is True and staff["texts"] == ["工作人员说：我们马上到"], staff
    assert "staff" not in ours and ours["texts"], ours  # then the assistant's own answer
    assert replies.pending("voice", "voice:rec-call-3") == []


def test_the_next_http_answer_starts_with_what_staff_wrote(stack):
    replies = StaffReplies(stack.care.db, stack.care.clock)
    # Queued as the console does: for Rasa's conversation, voice:<sender>.
    replies.queue("voice", "voice:rec-http-3", "我们马上给您打电话", "nurse.wang")
    status, first = turn(stack, wav(silence(1.5)), query="sender=rec-http-3&language=en")
    assert status == 200 and first["staff_replies"] == ["工作人员说：我们马上给您打电话"]
    assert first["replies"][0] == first["staff_replies"][0]
    assert "didn't hear" in first["replies"][1]  # then our own answer, in the caller's words
    status, second = turn(stack, wav(silence(1.5)), query="sender=rec-http-3&language=en")
    assert status == 200 and second["staff_replies"] == [] and len(second["replies"]) == 1
    assert replies.pending("voice", "voice:rec-http-3") == []
    assert not kept_any(stack, "rec-http-3")  # silence is no turn: nothing kept


def kept_any(stack: ChannelStack, sender: str) -> bool:
    with stack.care.db.read() as s:
        found = s.scalar(select(VoiceRecording.id).where(VoiceRecording.sender_id == sender))
    return found is not None


def test_the_console_plays_the_turn_the_stack_kept(stack, tmp_path, monkeypatch):
    """Rasa's events (through the event broker) and the recording meet in the console by
    the turn's message id: the conversation view has a player, and it plays that turn."""
    elder(stack, "rec-http-4", consent=True)
    status, answer = turn(stack, spoken("I feel lonely today", tmp_path), query="sender=rec-http-4")
    assert status == 200 and answer["transcript"], answer
    [row] = kept(stack, "rec-http-4")
    monkeypatch.setenv("ANXIN_RECORDINGS_DIR", str(recordings_dir(stack)))
    add_user(stack.care, "nurse.li", "staff")
    with TestClient(create_app(stack.care, StaffSettings())) as staff:
        assert login(staff, "nurse.li").status_code == 303
        deadline = time.monotonic() + 30
        while True:  # the broker writes Rasa's events in batches
            page = staff.get("/conversations/voice:rec-http-4")
            if page.status_code == 200 and f"/recordings/{row.id}/audio" in page.text:
                break
            assert time.monotonic() < deadline, page.status_code
            time.sleep(0.5)
        assert '<audio controls preload="none"' in page.text
        heard = staff.get(f"/recordings/{row.id}/audio")
        assert heard.status_code == 200 and heard.headers["content-type"] == "audio/ogg"
        assert heard.content == audio_file(stack, row)
