"""The voice benchmark's measures, on the real model with a short set."""

from __future__ import annotations

import asyncio

from voice.bench import VoiceBench, markdown, measure, word_errors


def test_word_errors() -> None:
    assert word_errors("book lunch for tomorrow", "Book lunch for tomorrow.") == 0
    assert word_errors("book lunch for tomorrow", "book a lunch tomorrow") == 2
    assert word_errors("day care", "") == 2


def test_measure_reports_rtf_wer_and_first_audio(transcriber) -> None:
    result = asyncio.run(
        measure(transcriber, english=("I would like to book lunch for tomorrow",)),
    )
    assert len(result.per_clip) == len(result.first_audio) == 1
    assert 0 < result.rtf < 5 and result.wer <= 0.2
    # The reply's first audio comes after the transcription, never before.
    assert result.first_audio[0] >= result.per_clip[0][1]
    table = markdown(VoiceBench("m", 1.0, **_fields(result)), "2 cores", "python -m voice.bench")
    assert "real-time factor" in table and "| model load | 1.0 s |" in table


def _fields(result: VoiceBench) -> dict:
    return dict(
        audio_seconds=result.audio_seconds,
        stt_seconds=result.stt_seconds,
        word_errors=result.word_errors,
        words=result.words,
        first_audio=result.first_audio,
        per_clip=result.per_clip,
    )
