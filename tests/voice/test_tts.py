"""Text-to-speech: edge-tts through its real client, and the espeak-ng fallback.

edge-tts's WebSocket address is the module constant ``edge_tts.communicate.WSS_URL``;
tests point it at a local service speaking the same protocol, or at a black hole.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import List, Tuple

import edge_tts.communicate
import numpy as np
import pytest

from voice import codecs
from voice.base import Audio
from voice.tts import EdgeSynthesizer, EspeakSynthesizer, split_sentences

from .conftest import peak_frequency
from .fake_edge import TONE_HZ, Blackhole, FakeEdgeService

ZH = "您好，我是安心。您明天中午的午饭已经订好了！还有别的事吗？"
EN = "Hello, this is Anxin. Your lunch for tomorrow is booked. Anything else?"


def rms(audio: Audio) -> float:
    return float(np.sqrt(np.mean(codecs.to_samples(audio) ** 2)))


async def collect(synth, text: str, lang: str) -> List[Tuple[float, Audio]]:
    """Each sentence's audio with the time it arrived, from the start of the call."""
    started = time.perf_counter()
    return [(time.perf_counter() - started, a) async for a in synth.synthesize(text, lang)]


def test_sentences_split_in_both_languages() -> None:
    assert split_sentences(ZH) == [
        "您好，我是安心。", "您明天中午的午饭已经订好了！", "还有别的事吗？",
    ]  # fmt: skip
    assert split_sentences(EN) == [
        "Hello, this is Anxin.", "Your lunch for tomorrow is booked.", "Anything else?",
    ]  # fmt: skip
    assert split_sentences("Lunch is 12.5 yuan.\n\n谢谢") == ["Lunch is 12.5 yuan.", "谢谢"]
    assert split_sentences("  。 ") == []


@pytest.mark.parametrize("text,lang", [(ZH, "zh"), (EN, "en")])
def test_espeak_speaks_every_sentence(text: str, lang: str) -> None:
    synth = EspeakSynthesizer(rate="-15%")
    parts = asyncio.run(collect(synth, text, lang))
    assert len(parts) == 3
    for _, audio in parts:
        assert 0.5 < audio.seconds < 8
        assert rms(audio) > 0.02  # speech, not silence
        assert len(audio.pcm) % 2 == 0


def test_espeak_is_slowed_by_the_rate_setting() -> None:
    slow = asyncio.run(collect(EspeakSynthesizer(rate="-30%"), "Your lunch is booked.", "en"))
    fast = asyncio.run(collect(EspeakSynthesizer(rate="+0%"), "Your lunch is booked.", "en"))
    assert slow[0][1].seconds > 1.2 * fast[0][1].seconds


def test_espeak_english_is_understood_by_our_transcriber(transcriber) -> None:
    [(_, audio)] = asyncio.run(collect(EspeakSynthesizer(), "Your lunch is booked.", "en"))
    heard = asyncio.run(transcriber.transcribe(audio, "en"))
    assert {"lunch", "booked"} <= set(heard.text.lower().strip(".").split()), heard.text


def test_text_that_looks_like_an_option_is_spoken_not_parsed() -> None:
    parts = asyncio.run(collect(EspeakSynthesizer(), "--help me please", "en"))
    assert parts and rms(parts[0][1]) > 0.02


def test_fixed_phrases_are_cached() -> None:
    synth = EspeakSynthesizer()
    first = asyncio.run(collect(synth, "I didn't hear you.", "en"))
    again = asyncio.run(collect(synth, "I didn't hear you.", "en"))
    assert synth.cache.hits == 1
    assert again[0][1] == first[0][1]


def test_unreachable_edge_falls_back_fast_and_logs_once(monkeypatch, caplog) -> None:
    hole = Blackhole()
    monkeypatch.setattr(edge_tts.communicate, "WSS_URL", hole.url)
    synth = EdgeSynthesizer(connect_timeout=1.5, retry_after=60)
    caplog.set_level(logging.INFO, logger="voice.tts")
    try:
        parts = asyncio.run(collect(synth, EN, "en"))
        more = asyncio.run(collect(synth, ZH, "zh"))
    finally:
        hole.close()
    first_at = parts[0][0]
    # It waited for edge-tts (a black hole does not refuse), but not much past the deadline.
    assert 1.4 <= first_at < 2.2, first_at
    # Once offline, later sentences do not wait for edge-tts again.
    assert parts[-1][0] - first_at < 1.5
    assert more[0][0] < 0.8
    for _, audio in parts + more:
        assert rms(audio) > 0.02
        assert abs(peak_frequency(audio) - TONE_HZ) > 5  # espeak's voice, not a tone
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1 and synth.switches == 1
    # The log says what happened, never what was said.
    assert "Anxin" not in caplog.text and "安心" not in caplog.text


def test_refused_connection_falls_back_at_once(monkeypatch) -> None:
    hole = Blackhole()
    url = hole.url
    hole.close()  # nothing listens there now: connection refused
    monkeypatch.setattr(edge_tts.communicate, "WSS_URL", url)
    parts = asyncio.run(collect(EdgeSynthesizer(), "Hello.", "en"))
    assert parts[0][0] < 1.0 and rms(parts[0][1]) > 0.02


def test_edge_speaks_through_its_protocol_with_our_voice_and_rate(monkeypatch) -> None:
    async def main() -> Tuple[List[Tuple[float, Audio]], List[str]]:
        service = await FakeEdgeService().start()
        monkeypatch.setattr(edge_tts.communicate, "WSS_URL", service.url)
        try:
            synth = EdgeSynthesizer(rate="-15%")
            parts = await collect(synth, ZH, "zh")
            assert synth.switches == 0
            return parts, service.ssml
        finally:
            await service.stop()

    parts, ssml = asyncio.run(main())
    assert len(parts) == len(ssml) == 3  # one request per sentence: playback starts early
    assert "(zh-CN, XiaoxiaoNeural)" in ssml[0] and "rate='-15%'" in ssml[0]
    assert "您好，我是安心。" in ssml[0]
    for _, audio in parts:
        # The service's MP3 (24 kHz in real life) came back as our 16 kHz PCM.
        assert peak_frequency(audio) == pytest.approx(TONE_HZ, abs=3)


def test_edge_comes_back_after_an_outage(monkeypatch) -> None:
    async def main() -> Tuple[Audio, Audio, int]:
        hole = Blackhole()
        service = await FakeEdgeService().start()
        try:
            monkeypatch.setattr(edge_tts.communicate, "WSS_URL", hole.url)
            synth = EdgeSynthesizer(connect_timeout=0.5, retry_after=0.0)
            [(_, offline)] = await collect(synth, "Hello.", "en")
            monkeypatch.setattr(edge_tts.communicate, "WSS_URL", service.url)
            [(_, online)] = await collect(synth, "Hello.", "en")
            return offline, online, synth.switches
        finally:
            hole.close()
            await service.stop()

    offline, online, switches = asyncio.run(main())
    assert abs(peak_frequency(offline) - TONE_HZ) > 5
    assert peak_frequency(online) == pytest.approx(TONE_HZ, abs=3)
    assert switches == 1


def test_rate_and_voices_come_from_the_environment(monkeypatch) -> None:
    env = {"ANXIN_TTS_RATE": "-25%", "ANXIN_TTS_VOICE_EN": "en-GB-SoniaNeural"}

    async def main() -> List[str]:
        service = await FakeEdgeService().start()
        monkeypatch.setattr(edge_tts.communicate, "WSS_URL", service.url)
        try:
            await collect(EdgeSynthesizer(env=env), "Good morning.", "en")
            return service.ssml
        finally:
            await service.stop()

    [ssml] = asyncio.run(main())
    assert "(en-GB, SoniaNeural)" in ssml and "rate='-25%'" in ssml
    # The offline voice slows down by the same setting.
    assert EdgeSynthesizer(env=env).fallback.wpm == int(175 * 0.75)


def test_a_read_back_is_spoken_with_its_date_and_time_in_words() -> None:
    written = asyncio.run(collect(EspeakSynthesizer(), "Friday 28 November, 12:00.", "en"))
    said = asyncio.run(
        collect(EspeakSynthesizer(), "Friday the twenty-eighth of November, twelve noon.", "en")
    )
    assert [a.pcm for _, a in written] == [a.pcm for _, a in said]
