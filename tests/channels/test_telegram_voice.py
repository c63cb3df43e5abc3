"""Telegram voice notes against the real stack: `python -m anxin run` with the Telegram
channel on, the real Rasa and action servers, the real Whisper model, and a fake Bot API
on loopback that serves the notes people send (getFile and the file route) and records
the voice notes the assistant sends back (sendVoice, multipart).

The notes are made here: English speech from espeak-ng, or silence, in OGG/Opus as the
Telegram app records them. One stack serves the module: tests use their own chats.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import av
import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from care.models_voice import VoiceRecording
from care.recordings import RecordingSettings, keep, open_for_review
from tests.channels.fake_telegram import Call
from tests.channels.stacks import ChannelStack, Person, running
from tests.support.clock import NEXT_WEDNESDAY, next_wednesday
from tests.support.rasa_api import tracker_events
from voice.base import Audio
from voice.codecs import decode, encode

_file_ids = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    # Never skipped: without espeak-ng (.ci/run installs it) the test fails here.
    assert shutil.which("espeak-ng"), "espeak-ng is not installed (.ci/run installs it)"
    # The action server purges recordings every second here (hourly by default).
    saved = os.environ.get("ANXIN_RECORDING_PURGE_S")
    os.environ["ANXIN_RECORDING_PURGE_S"] = "1"
    try:
        with running(tmp_path_factory.mktemp("telegram-voice"), telegram=True) as stack:
            yield stack
    finally:
        if saved is None:
            os.environ.pop("ANXIN_RECORDING_PURGE_S", None)
        else:
            os.environ["ANXIN_RECORDING_PURGE_S"] = saved


def ogg_of_speech(text: str, tmp: Path) -> bytes:
    """English speech, a little slow as an elder speaks, as a Telegram voice note."""
    path = tmp / "said.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(path), text], check=True)
    return encode(decode(path.read_bytes(), "wav"), "ogg_opus")


def ogg_of_silence(seconds: float) -> bytes:
    return encode(Audio(bytes(int(16_000 * seconds) * 2)), "ogg_opus")


class Speaker(Person):
    """Someone on Telegram who records voice notes: the fake Bot API keeps each file."""

    def note(self, ogg: bytes, file_size: int | None = None, duration: int = 3) -> dict[str, Any]:
        file_id = f"voice-{self.chat_id}-{next(_file_ids)}"
        self.api.add_file(file_id, ogg, file_size)
        update = self.message("")
        del update["message"]["text"]
        update["message"]["voice"] = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(ogg) if file_size is None else file_size,
        }
        return update

    def speak(self, ogg: bytes, **note: Any) -> str:
        return self.send(self.note(ogg, **note))

    def voice_replies(self, count: int, timeout: float = 60) -> list[Call]:
        got = self.api.wait_for(
            lambda calls: calls if len(calls) >= count else None,
            timeout,
            method="sendVoice",
            chat_id=self.chat_id,
        )
        return list(got)


def heard_back(ogg: bytes) -> tuple[float, float]:
    """A voice note as Telegram plays it (OGG/Opus, read here with PyAV, not our codecs):
    its seconds and its loudness (RMS, full scale 1.0)."""
    with av.open(io.BytesIO(ogg), mode="r") as container:
        assert container.format.name == "ogg"
        stream = container.streams.audio[0]
        assert stream.codec_context.name in ("opus", "libopus"), stream.codec_context.name
        frames = [
            frame.to_ndarray().astype(np.float64).ravel() for frame in container.decode(stream)
        ]
        rate = stream.codec_context.sample_rate
    samples = np.concatenate(frames)
    if np.abs(samples).max() > 2:  # integer samples
        samples = samples / 32768.0
    return samples.size / rate, float(np.sqrt(np.mean(samples**2)))


def test_lunch_is_booked_by_voice_notes_and_answered_aloud(stack, tmp_path):
    # Said in words that do not change with the date: Whisper base hears a spoken
    # "November 30" as "3rd", and weekday names each differently.
    day = next_wednesday(stack.care.clock)
    lily = Speaker(stack, 5101)
    asked = lily.speak(ogg_of_speech(f"I would like to book lunch for {NEXT_WEDNESDAY}", tmp_path))
    titles = [b["text"] for c in lily.last for b in c.buttons]
    assert any("eliver" in t for t in titles), (asked, titles)  # buttons on the text message

    # The same answer as a voice note after its text: OGG/Opus Telegram plays, with speech.
    [aloud] = lily.voice_replies(1)
    assert aloud.params.get("reply_markup") is None
    assert aloud.at >= lily.last[-1].at
    seconds, loudness = heard_back(aloud.voice)
    assert seconds > 1.0 and loudness > 0.02, (seconds, loudness)
    assert int(aloud.params["duration"]) >= 1

    assert "name" in lily.tap("eliver")
    readback = lily.say("Lily Wang")
    assert "right?" in readback and "lunch" in readback, readback
    assert "booked" in lily.speak(ogg_of_speech("Yes", tmp_path)), lily.last

    person = stack.care.people.find_by_identity("telegram", "5101")
    assert person is not None and person.name == "Lily Wang"
    [booking] = stack.care.bookings.upcoming(person.id)
    assert (booking.slot.code, booking.status) == (f"meal:{day}:lunch:delivery", "confirmed")
    assert booking.channel == "telegram"
    assert len(lily.voice_replies(2)) >= 2  # the "booked" was said aloud too
    logged = stack.out.text.lower()
    assert "book lunch" not in logged and "lily wang" not in logged  # nothing said is logged


def test_a_silent_note_is_asked_again_gently_and_books_nothing(stack):
    stack.telegram_api.fail_once("sendVoice", retry_after=2)  # voice notes are paced too
    sam = Speaker(stack, 5102)
    answer = sam.speak(ogg_of_silence(3))
    assert "didn't hear you" in answer and "type" in answer, answer
    [aloud] = sam.voice_replies(1)  # the re-ask is said aloud as well
    assert heard_back(aloud.voice)[1] > 0.02
    tries = [c for c in stack.telegram_api.calls if c.method == "sendVoice" and c.chat_id == 5102]
    assert [c.status for c in tries] == [429, 200] and tries[1].at - tries[0].at >= 2.0
    assert stack.user_turns("telegram:5102") == 0  # Rasa was never asked
    assert stack.care.people.find_by_identity("telegram", "5102") is None


def test_a_note_over_20_mb_is_answered_politely_without_a_download(stack):
    big = Speaker(stack, 5103)
    update = big.note(b"OggS" + bytes(1000), file_size=21 * 1024 * 1024, duration=50)
    file_id = update["message"]["voice"]["file_id"]
    answer = big.send(update)
    assert "a bit long" in answer and "type" in answer, answer
    asked_for = [c.params.get("file_id") for c in stack.telegram_api.calls if c.method == "getFile"]
    assert file_id not in asked_for
    assert not [p for p in stack.telegram_api.downloads if file_id in p]
    # A note whose update does not say its size: getFile says "file is too big".
    update = big.note(b"OggS" + bytes(1000), file_size=25 * 1024 * 1024, duration=20)
    del update["message"]["voice"]["file_size"]
    file_id = update["message"]["voice"]["file_id"]
    assert "a bit long" in big.send(update)
    refused = [c for c in stack.telegram_api.calls if c.params.get("file_id") == file_id]
    assert [(c.method, c.status) for c in refused] == [("getFile", 400)]
    assert not [p for p in stack.telegram_api.downloads if file_id in p]
    assert stack.user_turns("telegram:5103") == 0


def test_a_note_that_is_no_audio_is_answered_politely(stack):
    odd = Speaker(stack, 5104, language_code="zh-hans")
    answer = odd.speak(b"OggS" + b"\x00garbage" * 200)
    assert "没能打开" in answer and "打字" in answer, answer
    assert stack.user_turns("telegram:5104") == 0


def test_a_voice_note_gets_its_turn_once_when_telegram_redelivers_it(stack, tmp_path):
    ann = Speaker(stack, 5105)
    update = ann.note(ogg_of_speech("Hello", tmp_path))
    first = ann.send(update)
    assert "Anxin" in first, first
    assert stack.post_telegram(json.dumps(update).encode()) == 200
    time.sleep(3)
    assert len(stack.telegram_api.sent(chat_id=5105)) == ann.seen  # no second answer
    assert stack.user_turns("telegram:5105") == 1


# Recordings kept for staff review (care.recordings) -------------------------------------


def recordings_of(stack: ChannelStack, chat_id: int, count: int, timeout: float = 60):
    """The chat's kept voice turns, once ``count`` are there (kept in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        with stack.care.db.read() as s:
            rows = s.scalars(
                select(VoiceRecording)
                .where(VoiceRecording.channel == "telegram")
                .where(VoiceRecording.sender_id == str(chat_id))
                .order_by(VoiceRecording.id)
            ).all()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def var_dir(stack: ChannelStack) -> Path:
    return Path(str(make_url(stack.care.db.url).database)).parent


def test_a_consenting_persons_note_is_kept_with_its_turn(stack, tmp_path):
    rose = stack.care.people.create("elder", "Rose", preferred_language="en",
                                    consent_voice_recording=True)  # fmt: skip
    stack.care.people.add_identity(rose.id, "telegram", "5106")
    speaker = Speaker(stack, 5106)
    ogg = ogg_of_speech("Hello", tmp_path)
    update = speaker.note(ogg)
    assert "Anxin" in speaker.send(update)
    [kept] = recordings_of(stack, 5106, 1)
    assert kept.message_id == str(update["update_id"])
    events = tracker_events(stack.port, "telegram:5106")
    assert kept.message_id in [e.get("message_id") for e in events if e["event"] == "user"]
    assert kept.person_id == rose.id and kept.language == "en"
    assert "hello" in kept.transcript.lower()
    settings = RecordingSettings.from_env({"ANXIN_VAR_DIR": str(var_dir(stack))})
    path, content_type = open_for_review(stack.care.db, kept.id, settings)
    assert content_type == "audio/ogg" and path.read_bytes() == ogg  # as the app recorded it
    assert decode(path.read_bytes(), "ogg").seconds == pytest.approx(decode(ogg, "ogg").seconds)
    assert kept.duration_s == pytest.approx(decode(ogg, "ogg").seconds, abs=0.01)
    assert kept.expires_at - kept.created_at == timedelta(days=30)
    assert "hello" not in stack.out.text.lower()  # nothing said is logged


def test_without_consent_a_note_keeps_its_transcript_but_no_audio(stack, tmp_path):
    before = set(var_dir(stack).rglob("*.ogg"))
    speaker = Speaker(stack, 5107)  # a stranger: no consent given
    assert "Anxin" in speaker.speak(ogg_of_speech("Hello", tmp_path))
    [kept] = recordings_of(stack, 5107, 1)
    assert "hello" in kept.transcript.lower() and kept.path is None
    assert set(var_dir(stack).rglob("*.ogg")) == before


def test_the_action_server_purges_expired_recordings_by_itself(stack):
    person = stack.care.people.create("elder", "Iris", consent_voice_recording=True)
    stack.care.people.add_identity(person.id, "telegram", "5108")
    settings = RecordingSettings.from_env({"ANXIN_VAR_DIR": str(var_dir(stack))})
    at = stack.care.clock()  # the action server's purger runs on the stack's clock
    old = keep(stack.care.db, "telegram", "5108", "1", decode(ogg_of_silence(1), "ogg"), "old",
               "en", at - timedelta(days=31), settings=settings)  # fmt: skip
    new = keep(stack.care.db, "telegram", "5108", "2", decode(ogg_of_silence(1), "ogg"), "new",
               "en", at, settings=settings)  # fmt: skip
    assert old is not None and new is not None
    old_path, _ = open_for_review(stack.care.db, old, settings)
    deadline = time.monotonic() + 60
    while old_path.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not old_path.exists()
    assert [r.transcript for r in recordings_of(stack, 5108, 1)] == ["new"]
    assert open_for_review(stack.care.db, new, settings)[0].exists()
