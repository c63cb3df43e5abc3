"""Mandarin voice messages on WeChat against the real stack, heard and answered in Chinese.

`anxin run` with the WeChat channel on, Rasa and the action server real, the default
Whisper model real. Real Mandarin recordings (tests/audio_samples.py), encoded to AMR-NB
as the WeChat app records them, are sent without a ``Recognition`` field: the channel
downloads each through the API fake's media/get and transcribes it. A whole lunch booking
is then spoken with WeChat's own Chinese ``Recognition`` text, as accounts that enable it
receive it (espeak-ng's Mandarin voice is not heard by the base model: it comes back as
English words or nothing, so it cannot stand in for a person here).
"""

from __future__ import annotations

import time
from typing import Iterator

import numpy as np
import pytest

from tests.audio_samples import mandarin_samples
from tests.channels.mandarin import (
    SAMPLES,
    assert_chinese,
    assert_heard_close,
    recordings_of,
    user_texts,
)
from tests.channels.stacks import ChannelStack, Elder, running
from tests.channels.wechat_fakes import voice_xml
from tests.support.clock import weekday_ahead
from voice.base import Audio
from voice.codecs import decode, encode

WEEKDAYS = "一二三四五六日"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    # Every answer goes through the customer-service API (`success` at once, the text,
    # then the voice), not sometimes passively as a quick turn would: one path to check.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("ANXIN_WECHAT_PASSIVE_S", "0")
        with running(tmp_path_factory.mktemp("wechat-voice-zh"), wechat=True) as stack:
            yield stack


class Speaker(Elder):
    """An elder who holds down the talk button; WeChat gets its `success` within 5 s."""

    def voice(self, turn: int, amr: bytes | None = None, recognition: str = "") -> str:
        """Send a voice message (the elder's ``turn``-th); what they read and hear back.

        The answer's texts come through the customer-service API, then its voice reply:
        once that is there, every text of the answer is in."""
        self.msg_id += 1
        media_id = f"{self.openid}-{self.msg_id}"
        if amr is not None:
            self.api.media[media_id] = amr
        before = len(self.api.sent_to(self.openid))
        xml = voice_xml(self.openid, media_id, self.msg_id, recognition=recognition)
        status, body, took = self.wechat.post(xml)
        assert (status, body) == (200, "success") and took < 5, (status, body, took)
        uploads = self.api.wait_for_voices(self.openid, turn, timeout=60)
        assert len(uploads) == turn, len(uploads)  # one voice reply per voice message
        assert uploads[-1].type == "voice" and uploads[-1].filename.endswith(".amr")
        assert_speech(decode(uploads[-1].data, "amr"))
        answer = self.api.sent_to(self.openid)[before:]
        kinds = [m["msgtype"] for m in answer]
        assert kinds[-1] == "voice" and set(kinds[:-1]) == {"text"}, kinds  # text first
        return "\n\n".join(m["text"]["content"] for m in answer[:-1])


def _rms(audio: Audio) -> float:
    samples = np.frombuffer(audio.pcm, "<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def assert_speech(audio: Audio) -> None:
    assert audio.seconds > 1.0 and _rms(audio) > 300, (audio.seconds, _rms(audio))


def amr_of(wav: bytes) -> bytes:
    """A recording as the WeChat app sends it: AMR-NB, 8 kHz narrowband."""
    return encode(decode(wav, "wav"), "amr")


def test_real_mandarin_speech_is_downloaded_transcribed_and_answered_in_chinese(stack):
    samples = mandarin_samples()
    elder = Speaker(stack, "oMandarinSpeech")
    said: list[tuple[str, str]] = []
    for turn, name in enumerate(SAMPLES, 1):
        wav, reference = samples[name]
        answer = elder.voice(turn, amr_of(wav))  # no Recognition: we must hear it ourselves
        assert elder.api.downloads[-1] == f"{elder.openid}-{elder.msg_id}"
        assert_chinese(answer)
        said.append((name, reference))

    kept = recordings_of(stack, "wechat", elder.openid, len(SAMPLES))
    assert [r.language for r in kept] == ["zh"] * len(SAMPLES)
    assert_heard_close(said, [r.transcript for r in kept])
    # Rasa was given those very transcripts, one turn per voice message.
    assert user_texts(stack, f"wechat:{elder.openid}") == [r.transcript for r in kept]
    for heard in (r.transcript.strip("，。、 ") for r in kept):  # what was said: never logged
        assert heard not in stack.out.text, heard


def _said(elder: Speaker, recognition: str, turn: int) -> str:
    """One voice message with WeChat's Recognition, answered in Chinese text, then aloud."""
    answer = elder.voice(turn, recognition=recognition)
    assert_chinese(answer)
    return answer


def test_lunch_is_booked_by_chinese_voice_messages_with_wechat_recognition(stack):
    day = weekday_ahead(stack.care.clock)
    elder = Speaker(stack, "oMandarinBooker")
    # WeChat's own ASR writes its transcript with punctuation, as here.
    words = [f"我想订{day.month}月{day.day}号的午饭。", "送到家。", "王秀兰。", "对。"]

    asked = _said(elder, words[0], 1)
    assert "2. 送到家" in asked, asked
    assert "称呼" in _said(elder, words[1], 2)
    readback = _said(elder, words[2], 3)
    # Read back with the date, its weekday and what was chosen.
    weekday = WEEKDAYS[day.weekday()]
    assert f"{day.month}月{day.day}" in readback, readback
    assert f"星期{weekday}" in readback or f"周{weekday}" in readback, readback
    assert "午饭" in readback and "送到家" in readback and "对吗" in readback, readback
    done = _said(elder, words[3], 4)
    assert "订好了" in done, done

    assert not any(m.startswith(elder.openid) for m in elder.api.downloads)  # nothing fetched
    assert user_texts(stack, f"wechat:{elder.openid}") == words
    person = stack.care.people.find_by_identity("wechat", elder.openid)
    assert person is not None and person.name == "王秀兰"
    [booking] = stack.care.bookings.upcoming(person.id)
    assert (booking.slot.code, booking.status) == (f"meal:{day}:lunch:delivery", "confirmed")
    assert booking.channel == "wechat"
    time.sleep(1)
    assert len(elder.api.voices_to(elder.openid)) == 4  # none more came later
