"""Turns transcribed on a guess during the silence window (channels/voice_guess.py),
with the real Whisper model."""

from __future__ import annotations

from channels.voice_guess import Guesses
from voice import codecs
from voice.base import Audio

from .conftest import espeak


def _audio(text: str) -> Audio:
    return codecs.decode(espeak(text))


async def test_a_guess_at_the_whole_turn_is_the_turns_transcript(transcriber) -> None:
    turn = _audio("Please cancel my clinic visit")
    guesses = Guesses(transcriber)
    guesses.start(turn)
    heard = await guesses.transcribe(Audio(bytes(turn.pcm)))  # the same bytes, as they end
    assert guesses.used == 1 and guesses.dropped == 0
    assert "clinic" in heard.text.lower()


async def test_a_guess_at_a_turn_that_went_on_is_not_used(transcriber) -> None:
    guesses = Guesses(transcriber)
    guesses.start(_audio("Please cancel"))
    heard = await guesses.transcribe(_audio("Please cancel my clinic visit"))
    assert guesses.used == 0
    assert "clinic" in heard.text.lower()  # the whole turn was heard, not the guess


async def test_a_later_pause_replaces_the_guess(transcriber) -> None:
    first, whole = _audio("I would like"), _audio("I would like to book lunch")
    guesses = Guesses(transcriber)
    guesses.start(first)
    guesses.start(whole)
    assert guesses.dropped == 1
    heard = await guesses.transcribe(whole)
    assert guesses.used == 1 and "lunch" in heard.text.lower()


async def test_the_next_turns_guess_survives_answering_this_one(transcriber) -> None:
    # The caller spoke again while the worker was still on their previous turn.
    earlier, later = _audio("Number two"), _audio("I feel lonely today")
    guesses = Guesses(transcriber)
    guesses.start(later)
    await guesses.transcribe(earlier)
    assert guesses.used == 0
    heard = await guesses.transcribe(later)
    assert guesses.used == 1 and "lonely" in heard.text.lower()
    guesses.close()
    assert guesses.dropped == 0
