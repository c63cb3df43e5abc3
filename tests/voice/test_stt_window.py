"""The encoder's short window: its size rule, its doubt rule, and the words it hears."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from voice import codecs
from voice.base import Audio
from voice.bench import word_errors
from voice.stt import RECHECK_BELOW, WhisperTranscriber, _doubtful, encoder_frames

from .conftest import espeak


def test_the_window_is_the_speech_plus_four_seconds_at_least_fifteen() -> None:
    assert encoder_frames(0) == 1500
    assert encoder_frames(300) == 1500  # a 3-s answer
    assert encoder_frames(1101) == 1600  # rounded up to whole seconds
    assert encoder_frames(2500) == 2900
    assert encoder_frames(2700) == 3000  # never past Whisper's own 30 s
    assert encoder_frames(3000) == 3000


def _segment(logprob: float, tokens: int = 5, ratio: float = 1.2) -> SimpleNamespace:
    return SimpleNamespace(avg_logprob=logprob, tokens=[0] * tokens, compression_ratio=ratio)


def test_unsure_or_looping_decodings_are_heard_again() -> None:
    import math

    sure, unsure = math.log(RECHECK_BELOW + 0.05), math.log(RECHECK_BELOW - 0.05)
    assert not _doubtful([])
    assert not _doubtful([_segment(sure)])
    assert _doubtful([_segment(unsure)])
    assert _doubtful([_segment(sure, ratio=3.0)])  # "123123123…" is confident nonsense
    # Token-weighted: a long sure segment outweighs a short unsure one.
    assert not _doubtful([_segment(sure, tokens=40), _segment(math.log(0.2), tokens=2)])


@pytest.fixture(scope="module")
def full_window(whisper_model) -> WhisperTranscriber:
    return WhisperTranscriber(whisper_model, short_window=False)


PHONE_ANSWERS = ["Yes please", "Number two", "My name is John", "Please cancel my clinic visit"]
ONE_WORD = [("Yes", {"yes", "yeah"}), ("No", {"no"}), ("Two", {"two", "2"})]


@pytest.mark.parametrize("sentence", PHONE_ANSWERS)
def test_short_window_hears_phone_answers_as_the_full_window_does(
    transcriber, full_window, sentence: str
) -> None:
    # 8 kHz mu-law, as a phone line carries it: where the short window was weakest.
    line = codecs.decode(codecs.encode(codecs.decode(espeak(sentence)), "ulaw8k"), "ulaw8k")
    short = transcriber.transcribe_sync(line, "en")
    full = full_window.transcribe_sync(line, "en")

    def errors(heard: str) -> int:
        return word_errors(sentence, heard.replace("2", "two"))

    # No worse than the full window (which mishears "Please cancel" on this line too).
    assert errors(short.text) <= errors(full.text), (short.text, full.text)


@pytest.mark.parametrize("word,heard_as", ONE_WORD)
def test_one_word_answers_on_a_phone_line(transcriber, word: str, heard_as: set) -> None:
    # With 0.2 s of the line's quiet around it, as the call's turn detector keeps it.
    spoken = codecs.decode(codecs.encode(codecs.decode(espeak(word)), "ulaw8k"), "ulaw8k")
    quiet = b"\0" * int(0.2 * 16_000) * 2
    heard = transcriber.transcribe_sync(Audio(quiet + spoken.pcm + quiet), None)
    assert heard.language == "en"
    assert heard.text.lower().strip(" .,!?") in heard_as, heard.text
