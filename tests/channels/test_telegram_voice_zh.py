"""Mandarin voice notes on Telegram against the real stack, heard and answered in Chinese.

`anxin run` with the Telegram channel on, Rasa and the action server real, the default
Whisper model real, and the fake Bot API on loopback (tests/channels/fake_telegram.py)
serving the notes (getFile and the file route) and taking the voice notes sent back
(sendVoice, multipart). The notes are real Mandarin recordings (tests/audio_samples.py)
in OGG/Opus, as the Telegram app records them.
"""

from __future__ import annotations

import itertools
from typing import Any, Iterator

import numpy as np
import pytest

from tests.audio_samples import mandarin_samples
from tests.channels.fake_telegram import Call
from tests.channels.mandarin import (
    SAMPLES,
    assert_chinese,
    assert_heard_close,
    recordings_of,
    user_texts,
)
from tests.channels.stacks import ChannelStack, Person, running
from voice.codecs import decode, encode

_file_ids = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    with running(tmp_path_factory.mktemp("telegram-voice-zh"), telegram=True) as stack:
        yield stack


class Speaker(Person):
    """Someone on Telegram who records voice notes: the fake Bot API keeps each file."""

    def speak(self, ogg: bytes) -> str:
        file_id = f"voice-zh-{self.chat_id}-{next(_file_ids)}"
        self.api.add_file(file_id, ogg)
        update = self.message("")
        del update["message"]["text"]
        update["message"]["voice"] = {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "duration": max(1, round(decode(ogg, "ogg").seconds)),
            "mime_type": "audio/ogg",
            "file_size": len(ogg),
        }
        self.file_id = file_id
        return self.send(update)

    def voice_replies(self, count: int, timeout: float = 60) -> list[Call]:
        def enough(calls: list[Call]) -> Any:
            return calls if len(calls) >= count else None

        return list(self.api.wait_for(enough, timeout, method="sendVoice", chat_id=self.chat_id))


def opus_of(wav: bytes) -> bytes:
    """A recording as the Telegram app sends it: OGG/Opus."""
    return encode(decode(wav, "wav"), "ogg_opus")


def test_real_mandarin_voice_notes_are_transcribed_and_answered_in_chinese(stack):
    samples = mandarin_samples()
    mei = Speaker(stack, 5301, language_code="zh-hans")
    said: list[tuple[str, str]] = []
    for turn, name in enumerate(SAMPLES, 1):
        wav, reference = samples[name]
        answer = mei.speak(opus_of(wav))
        # Fetched from the file route, then transcribed.
        assert f"voice/{mei.file_id}.oga" in stack.telegram_api.downloads
        assert_chinese(answer)
        # The same answer said aloud, after its text: a voice note with speech in it.
        aloud = mei.voice_replies(turn)[-1]
        assert aloud.at >= mei.last[-1].at
        spoken = decode(aloud.voice, "ogg")
        pcm = np.frombuffer(spoken.pcm, "<i2").astype(np.float64)
        assert spoken.seconds > 1.0 and np.sqrt(np.mean(pcm**2)) > 300, spoken.seconds
        said.append((name, reference))

    kept = recordings_of(stack, "telegram", "5301", len(SAMPLES))
    assert [r.language for r in kept] == ["zh"] * len(SAMPLES)
    assert_heard_close(said, [r.transcript for r in kept])
    # Rasa was given those very transcripts, one turn per note.
    assert user_texts(stack, "telegram:5301") == [r.transcript for r in kept]
    for heard in (r.transcript.strip("，。、 ") for r in kept):  # what was said: never logged
        assert heard not in stack.out.text, heard
