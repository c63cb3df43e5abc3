"""Voice messages on WeChat, in and out, against the real stack.

`anxin run` with the WeChat channel on, Rasa and the action server real, the Whisper model
real (the one the voice channel loaded), espeak-ng speaking the replies (edge-tts cannot be
reached here). WeChat's API is the loopback fake (wechat_fakes.FakeWeChatAPI): it serves
the voice messages people sent (media/get), takes our uploaded replies (media/upload,
multipart) and the customer-service voice messages that refer to them.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from care import migrate
from care.config import CareSettings
from care.models_voice import VoiceRecording
from care.recordings import RecordingSettings, open_for_review
from care.senders import sender_id
from care.services import build
from channels.config import WeChatSettings
from channels.wechat_api import WeChatAPI, WeChatAPIError
from channels.wechat_voice import MAX_REPLY_S, PAUSE_S, decode_hint, join_speech, spoken_language
from tests.channels.stacks import ChannelStack, Elder, content, running
from tests.channels.wechat_fakes import APP_ID, SECRET, TOKEN, FakeWeChatAPI, voice_xml
from tests.support.clock import NEXT_WEDNESDAY, next_wednesday, weekday_ahead
from tests.support.rasa_api import tracker_events
from voice.base import SAMPLE_RATE, Audio
from voice.codecs import decode, encode

# Pure helpers ---------------------------------------------------------------------------


def _audio(seconds: float, value: int = 1000) -> Audio:
    return Audio(np.full(int(seconds * SAMPLE_RATE), value, dtype="<i2").tobytes())


def test_decode_hint_passes_wechat_formats_and_lets_an_empty_one_be_probed():
    assert decode_hint("amr") == "amr" and decode_hint(" AMR ") == "amr"
    assert decode_hint("speex") == "speex"  # kept, so the codec refuses it by name
    assert decode_hint("") is None


def test_spoken_language_follows_the_text():
    assert spoken_language("好的，给您订了十一月二十八号的午饭。") == "zh"
    assert spoken_language("Your lunch is booked. 1. Yes  2. No") == "en"
    assert spoken_language("欢迎关注安心！我能帮您订餐。Prefer English? Just write.") == "zh"
    assert spoken_language("OK 好的谢谢您") == "zh"


def test_join_speech_pauses_between_sentences_and_keeps_whole_ones_under_the_limit():
    joined = join_speech([_audio(1.0), _audio(2.0)])
    assert joined.seconds == pytest.approx(3.0 + PAUSE_S, abs=1e-3)
    pcm = np.frombuffer(joined.pcm, "<i2")
    gap = pcm[SAMPLE_RATE : SAMPLE_RATE + int(PAUSE_S * SAMPLE_RATE)]
    assert gap.size and not gap.any()  # the pause is silence
    cut = join_speech([_audio(30), _audio(20), _audio(10)])
    assert cut.seconds == pytest.approx(50 + PAUSE_S, abs=1e-3)  # the third would pass 55 s
    assert join_speech([_audio(70)]).seconds == pytest.approx(MAX_REPLY_S)
    assert join_speech([]).pcm == b""


# The API's media protocol, against the fake ---------------------------------------------


async def test_a_voice_reply_is_uploaded_as_multipart_and_sent_by_its_media_id(tmp_path):
    care = build(CareSettings(db_url=f"sqlite:///{tmp_path / 'anxin.db'}"))
    migrate.upgrade(care.db)
    amr = encode(_audio(1.0), "amr")
    with FakeWeChatAPI() as fake:
        settings = WeChatSettings.from_env(
            {"ANXIN_WECHAT_TOKEN": TOKEN, "ANXIN_WECHAT_APPID": APP_ID,
             "ANXIN_WECHAT_SECRET": SECRET, "ANXIN_WECHAT_API_BASE": fake.base}
        )  # fmt: skip
        assert settings is not None
        api = WeChatAPI(settings, care.channels)
        try:
            media_id = await api.upload_voice(amr)
            assert fake.uploads[media_id].data == amr
            assert fake.uploads[media_id].filename.endswith(".amr")
            await api.send_voice("oListener", media_id)
            assert [u.media_id for u in fake.voices_to("oListener")] == [media_id]
            with pytest.raises(WeChatAPIError) as unknown:
                await api.send_voice("oListener", "never-uploaded")
            assert unknown.value.errcode == 40007
            fake.fail_uploads = 1
            with pytest.raises(WeChatAPIError):
                await api.upload_voice(amr)
        finally:
            await api.close()
    care.close()


# Against the real stack -----------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    assert shutil.which("espeak-ng"), "espeak-ng is not installed (.ci/run installs it)"
    with running(tmp_path_factory.mktemp("wechat-voice-stack"), wechat=True) as stack:
        yield stack


def spoken_amr(text: str, tmp: Path) -> bytes:
    """English speech from espeak-ng (a little slow, as an elder speaks), as WeChat's AMR."""
    path = tmp / "said.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(path), text], check=True)
    return encode(decode(path.read_bytes(), "wav"), "amr")


def silent_amr(seconds: float = 2.0) -> bytes:
    return encode(Audio(bytes(int(seconds * SAMPLE_RATE) * 2)), "amr")


class Speaker(Elder):
    """An elder who sends voice messages (held down the talk button) as well as text."""

    def voice(self, amr: bytes | None = None, recognition: str = "", fmt: str = "amr") -> str:
        """What the elder reads after a voice message: the passive reply or the API's."""
        self.msg_id += 1
        media_id = f"{self.openid}-{self.msg_id}"
        if amr is not None:
            self.api.media[media_id] = amr
        before = len(self.api.texts_to(self.openid))
        xml = voice_xml(self.openid, media_id, self.msg_id, fmt=fmt, recognition=recognition)
        status, body, took = self.wechat.post(xml)
        assert status == 200 and took < 5, (status, took)  # the 5-second rule holds
        if body != "success":
            return content(body)
        return "\n\n".join(self.api.wait_for_texts(self.openid, before + 1, 60)[before:])

    def voice_replies(self, count: int) -> list[Audio]:
        """The voice replies so far (at least ``count``), decoded from the uploaded AMR."""
        uploads = self.api.wait_for_voices(self.openid, count, timeout=60)
        assert all(u.type == "voice" and u.filename.endswith(".amr") for u in uploads)
        return [decode(u.data, "amr") for u in uploads]


def _rms(audio: Audio) -> float:
    samples = np.frombuffer(audio.pcm, "<i2").astype(np.float64)
    return float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0


def test_english_speech_is_heard_and_books_lunch_with_voice_replies(stack, tmp_path):
    elder = Speaker(stack, "oVoiceEnglish")
    # Said in words that do not change with the date: Whisper base hears spoken dates
    # poorly, and weekday names each differently.
    day = next_wednesday(stack.care.clock)
    asked = elder.voice(spoken_amr(f"I would like to book lunch for {NEXT_WEDNESDAY}", tmp_path))
    assert "2. Deliver it home" in asked, asked
    assert elder.api.downloads[-1] == f"{elder.openid}-{elder.msg_id}"  # fetched, transcribed
    # The person spoke: the question comes back as a voice message too, audible AMR.
    [question] = elder.voice_replies(1)
    assert question.seconds > 1.0 and _rms(question) > 300, (question.seconds, _rms(question))

    assert "name" in elder.says("2")  # typed: no voice reply for a typed message
    readback = elder.says("John")
    assert "right?" in readback, readback
    # Said as elders do; a bare espeak-ng "Yes" is heard as "The" by the base model.
    done = elder.voice(spoken_amr("Yes please", tmp_path))
    assert "booked" in done, done
    assert len(elder.voice_replies(2)) == 2
    time.sleep(1)
    assert len(elder.api.voices_to(elder.openid)) == 2  # none for "2" and "John"

    person = stack.care.people.find_by_identity("wechat", elder.openid)
    assert person is not None
    [booking] = stack.care.bookings.upcoming(person.id)
    assert (booking.slot.code, booking.status) == (f"meal:{day}:lunch:delivery", "confirmed")
    assert booking.channel == "wechat"
    assert stack.user_turns(sender_id("wechat", elder.openid)) == 4
    assert "book lunch" not in stack.out.text.lower()  # what people say stays out of logs


def test_wechat_recognition_is_used_without_downloading_the_voice(stack):
    elder = Speaker(stack, "oVoiceRecognised")
    day = weekday_ahead(stack.care.clock)
    asked = elder.voice(recognition=f"俺想订{day.month}月{day.day}号的午饭")
    assert "送到家" in asked and "2. 送到家" in asked, asked
    assert not any(m.startswith(elder.openid) for m in elder.api.downloads)
    # Answered aloud in Chinese: an uploaded AMR that is speech, not silence.
    [reply] = elder.voice_replies(1)
    assert reply.seconds > 1.0 and _rms(reply) > 300, (reply.seconds, _rms(reply))
    assert stack.user_turns(sender_id("wechat", elder.openid)) == 1


def test_silence_gets_a_gentle_re_ask_in_the_persons_language_and_books_nothing(stack, tmp_path):
    elder = Speaker(stack, "oVoiceSilent")
    asked = elder.voice(silent_amr())
    assert "没听清" in asked and "打字" in asked, asked
    assert stack.user_turns(sender_id("wechat", elder.openid)) == 0  # nothing reached Rasa
    assert stack.care.people.find_by_identity("wechat", elder.openid) is None

    english = Speaker(stack, "oVoiceSilentEnglish")
    assert english.says("Hello")  # the conversation is in English from now on
    again = english.voice(silent_amr())
    assert "didn't hear" in again and "type" in again, again
    assert stack.user_turns(sender_id("wechat", english.openid)) == 1


def test_an_unplayable_voice_gets_a_polite_answer(stack):
    elder = Speaker(stack, "oVoiceSpeex")
    speex = elder.voice(b"\x00\x01speex frames WeChat's own framing" * 20, fmt="speex")
    assert "没能打开" in speex and "再说一遍" in speex, speex
    gone = elder.voice(None)  # a media_id WeChat no longer has (kept 3 days): 40007
    assert "没能打开" in gone, gone
    assert stack.user_turns(sender_id("wechat", elder.openid)) == 0


def _uploads_settled(api, quiet_s: float = 2.0, timeout: float = 60) -> None:
    """Wait until no upload has arrived for ``quiet_s``: earlier tests' voice replies run in
    the background, and one of them must not be the upload that fails below."""
    deadline, seen, since = time.monotonic() + timeout, -1, time.monotonic()
    while time.monotonic() < deadline:
        count = len(api.uploads)
        if count != seen:
            seen, since = count, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            return
        time.sleep(0.1)
    raise AssertionError("voice uploads never settled")


def test_a_failed_voice_reply_never_loses_the_text(stack):
    elder = Speaker(stack, "oVoiceNoUpload")
    _uploads_settled(stack.wechat_api)
    stack.wechat_api.fail_uploads = 1  # WeChat's media service fails once
    answer = elder.voice(recognition="你们都有啥服务")
    assert "午饭还有" in answer, answer
    deadline = time.monotonic() + 60
    while stack.wechat_api.fail_uploads and time.monotonic() < deadline:
        time.sleep(0.1)  # until our voice reply has tried, and failed
    assert stack.wechat_api.fail_uploads == 0
    assert elder.api.voices_to(elder.openid) == []
    # The next voice reply goes out again.
    assert elder.voice(recognition="你们都有啥服务")
    assert len(elder.voice_replies(1)) == 1


# Recordings kept for staff review (care.recordings) -------------------------------------


def recordings_of(stack: ChannelStack, openid: str, count: int, timeout: float = 60):
    """The person's kept voice turns, once ``count`` are there (kept in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        with stack.care.db.read() as s:
            rows = s.scalars(
                select(VoiceRecording)
                .where(VoiceRecording.channel == "wechat", VoiceRecording.sender_id == openid)
                .order_by(VoiceRecording.id)
            ).all()
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def user_message_ids(stack: ChannelStack, openid: str) -> list[str]:
    events = tracker_events(stack.port, sender_id("wechat", openid))
    return [e.get("message_id") for e in events if e["event"] == "user"]


def var_dir(stack: ChannelStack) -> Path:
    return Path(str(make_url(stack.care.db.url).database)).parent


def consenting(stack: ChannelStack, openid: str, consent: bool = True) -> int:
    person = stack.care.people.create("elder", "Rose", preferred_language="en",
                                      consent_voice_recording=consent)  # fmt: skip
    stack.care.people.add_identity(person.id, "wechat", openid)
    return person.id


def test_a_consenting_persons_voice_is_kept_with_its_turn(stack, tmp_path):
    elder = Speaker(stack, "oVoiceKept")
    person_id = consenting(stack, elder.openid)
    amr = spoken_amr("Hello", tmp_path)
    assert "Anxin" in elder.voice(amr)
    [kept] = recordings_of(stack, elder.openid, 1)
    assert kept.message_id == f"msg:{elder.msg_id}"  # the message's key, from its MsgId
    assert kept.message_id in user_message_ids(stack, elder.openid)  # its turn in Rasa
    assert kept.person_id == person_id and "hello" in kept.transcript.lower()
    settings = RecordingSettings.from_env({"ANXIN_VAR_DIR": str(var_dir(stack))})
    path, content_type = open_for_review(stack.care.db, kept.id, settings)
    # AMR plays in no browser: kept as OGG/Opus, the same length as what was said.
    assert content_type == "audio/ogg" and path.suffix == ".ogg"
    said = decode(amr, "amr").seconds
    assert decode(path.read_bytes(), "ogg").seconds == pytest.approx(said, abs=0.05)
    assert kept.duration_s == pytest.approx(said, abs=0.01)
    assert path.stat().st_size < len(amr) * 3  # compressed, not 16 kHz PCM (32 kB/s)


def test_without_consent_a_voice_keeps_its_transcript_but_no_audio(stack, tmp_path):
    before = set(var_dir(stack).rglob("*.ogg"))
    elder = Speaker(stack, "oVoiceNotKept")
    consenting(stack, elder.openid, consent=False)
    assert "Anxin" in elder.voice(spoken_amr("Hello", tmp_path))
    [kept] = recordings_of(stack, elder.openid, 1)
    assert "hello" in kept.transcript.lower() and kept.path is None
    assert set(var_dir(stack).rglob("*.ogg")) == before


def test_a_recording_that_fails_never_costs_the_turn(stack, tmp_path):
    elder = Speaker(stack, "oVoiceTableGone")
    consenting(stack, elder.openid)
    before = set(var_dir(stack).rglob("*.ogg"))
    with stack.care.db.engine.begin() as conn:  # every insert of a recording now fails
        conn.exec_driver_sql("ALTER TABLE voice_recordings RENAME TO voice_recordings_away")
    try:
        assert "Anxin" in elder.voice(spoken_amr("Hello", tmp_path))
        assert stack.user_turns(sender_id("wechat", elder.openid)) == 1
        deadline = time.monotonic() + 30
        while "a voice turn was not kept" not in stack.out.text and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "a voice turn was not kept" in stack.out.text
        assert set(var_dir(stack).rglob("*.ogg")) == before  # no audio left without its row
    finally:
        with stack.care.db.engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE voice_recordings_away RENAME TO voice_recordings")
