"""Speech-to-text with the real default model (multilingual base from PyPI), no mocks."""

from __future__ import annotations

import asyncio
import re
import time

import numpy as np
import pytest

from voice import codecs
from voice.base import Audio
from voice.zh_simplify import TRADITIONAL_TO_SIMPLIFIED

from ..audio_samples import cer, normalise_zh
from .conftest import espeak

ENGLISH = [
    ("I would like to book lunch for tomorrow", {"book", "lunch", "tomorrow"}),
    ("Please cancel my clinic visit", {"cancel", "clinic", "visit"}),
    ("Can a volunteer call me this evening", {"volunteer", "call", "evening"}),
    ("Please book day care for my mother", {"book", "day", "care", "mother"}),
]


def words(text: str) -> set:
    return set(re.findall(r"[a-z]+", text.lower()))


def test_cer_is_a_real_measure() -> None:
    assert cer("一二三四五六七八九十", "12345678910") == 0
    assert cer("你好世界", "你好事件") == 0.5
    assert cer("你好世界", "") == 1.0


@pytest.mark.parametrize("sentence,keywords", ENGLISH)
def test_english_from_espeak(transcriber, sentence: str, keywords: set) -> None:
    audio = codecs.decode(espeak(sentence))
    started = time.perf_counter()
    result = asyncio.run(transcriber.transcribe(audio))
    elapsed = time.perf_counter() - started
    print(f"\n{audio.seconds:.1f} s of speech in {elapsed:.2f} s: {result}")
    assert result.language == "en"
    assert not result.no_speech
    assert keywords <= words(result.text), result.text
    assert 0.5 < result.confidence <= 1.0


def test_english_with_the_language_hint(transcriber) -> None:
    audio = codecs.decode(espeak("I need day care on Monday"))
    result = asyncio.run(transcriber.transcribe(audio, language="en"))
    assert result.language == "en"
    assert {"day", "care", "monday"} <= words(result.text), result.text


def test_mandarin_samples_are_close_and_simplified(transcriber, mandarin_samples) -> None:
    errors = total = 0
    for name, (wav, reference) in sorted(mandarin_samples.items()):
        audio = codecs.decode(wav)
        result = asyncio.run(transcriber.transcribe(audio))
        rate = cer(reference, result.text)
        print(f"\n{name}: CER {rate:.2f} ({len(normalise_zh(reference))} characters)")
        assert result.language == "zh", name
        assert not result.no_speech, name
        traditional = [ch for ch in result.text if ord(ch) in TRADITIONAL_TO_SIMPLIFIED]
        assert not traditional, (name, traditional)
        # Every sample is recognisably what was said, not a hallucination.
        assert rate <= 0.6, name
        errors += rate * len(normalise_zh(reference))
        total += len(normalise_zh(reference))
    # The base model on real Mandarin: counting exact, 你好世界 → 你好事件, the classical
    # pangram about half right. A worse model or a broken language pick fails here.
    assert errors / total <= 0.45


def test_mandarin_counting_is_exact(transcriber, mandarin_samples) -> None:
    wav, reference = mandarin_samples["jishu"]
    result = asyncio.run(transcriber.transcribe(codecs.decode(wav), language="zh"))
    assert cer(reference, result.text) <= 0.1, result.text


def test_silence_is_no_speech(transcriber) -> None:
    result = asyncio.run(transcriber.transcribe(Audio(b"\0" * 2 * 16_000 * 3)))
    assert result.no_speech and result.text == "" and result.confidence == 0.0


def test_noise_is_no_speech(transcriber) -> None:
    rng = np.random.default_rng(7)
    noise = codecs.from_samples(0.1 * rng.standard_normal(16_000 * 3))
    hum = codecs.from_samples(0.3 * np.sin(2 * np.pi * 50 * np.arange(16_000 * 3) / 16_000))
    for audio in (noise, hum):
        result = asyncio.run(transcriber.transcribe(audio))
        assert result.no_speech, result


def test_speech_after_a_long_pause_is_still_heard(transcriber) -> None:
    # Elders wait before speaking: 4 s of silence, then the request.
    speech = codecs.decode(espeak("I would like to book lunch"))
    audio = Audio(b"\0" * 2 * 16_000 * 4 + speech.pcm)
    result = asyncio.run(transcriber.transcribe(audio))
    assert {"book", "lunch"} <= words(result.text), result.text


def test_transcription_does_not_block_the_event_loop(transcriber) -> None:
    audio = codecs.decode(espeak("Please cancel my clinic visit tomorrow"))

    async def main() -> float:
        gaps = []

        async def ticker() -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(0.01)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        task = asyncio.create_task(ticker())
        await transcriber.transcribe(audio)
        task.cancel()
        return max(gaps)

    # A blocked loop would show one gap as long as the whole transcription.
    assert asyncio.run(main()) < 0.5


def test_single_encoder_pass_matches_the_public_two_pass_path(transcriber) -> None:
    # The fast path reuses faster-whisper internals; the public API is its fallback and
    # must give the same words, so the fallback is not dead code that rots.
    from voice.stt import _speech_only

    audio = codecs.decode(espeak("Please cancel my clinic visit"))
    speech = _speech_only(codecs.to_samples(audio))
    fast_lang, fast = transcriber._one_encoder_pass(speech, None)
    slow_lang, slow = transcriber._two_passes(speech, None)
    assert fast_lang == slow_lang == "en"
    assert [s.text for s in fast] == [s.text for s in slow]


def test_the_model_is_loaded_once_per_process(whisper_model) -> None:
    from voice.stt import load_whisper

    assert load_whisper() is whisper_model


@pytest.mark.parametrize(
    "fmt,hint", [("amr", "amr"), ("ogg_opus", None), ("ulaw8k", "ulaw8k"), ("mp3", "mp3")]
)
def test_speech_through_each_platform_codec_is_understood(transcriber, fmt, hint) -> None:
    # WeChat's AMR and the phone's μ-law are 8 kHz narrowband: the words must survive.
    spoken = codecs.decode(espeak("Please book day care for my mother"))
    audio = codecs.decode(codecs.encode(spoken, fmt), hint)
    result = asyncio.run(transcriber.transcribe(audio))
    assert {"book", "day", "care", "mother"} <= words(result.text), (fmt, result.text)


def test_two_conversations_at_once_both_get_their_words(transcriber) -> None:
    lunch = codecs.decode(espeak("I would like to book lunch for tomorrow"))
    clinic = codecs.decode(espeak("Please cancel my clinic visit"))

    async def main():
        return await asyncio.gather(transcriber.transcribe(lunch), transcriber.transcribe(clinic))

    first, second = asyncio.run(main())
    assert {"lunch", "tomorrow"} <= words(first.text), first.text
    assert {"cancel", "clinic"} <= words(second.text), second.text
