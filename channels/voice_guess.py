"""Turns transcribed on a guess while the call's silence window runs.

An elder's turn ends only after ``silence_s`` (0.9 s) of quiet — but most turns are over
at the first 0.3 s of it. The call starts transcribing then (``TurnPaused``); when the
turn does end with the same audio, its transcript is ready or nearly so, and the answer
comes ~0.6 s sooner. If the caller goes on, the guess is simply not used: the model's
lock (voice/stt.py) makes the next transcription wait for it, at most the time one short
turn takes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Optional

from voice.base import Audio, Transcriber, Transcript

log = logging.getLogger(__name__)


class Guesses:
    def __init__(self, transcriber: Transcriber, hint: Optional[str] = None) -> None:
        self.transcriber, self.hint = transcriber, hint
        self._guess: Optional[tuple[bytes, asyncio.Task[Transcript]]] = None
        self.used = self.dropped = 0

    def start(self, audio: Audio) -> None:
        """Transcribe ``audio`` now, in case it turns out to be the whole turn."""
        self._drop()
        task = asyncio.ensure_future(self.transcriber.transcribe(audio, self.hint))
        task.add_done_callback(_quietly)
        self._guess = (audio.pcm, task)

    async def transcribe(self, audio: Audio) -> Transcript:
        """The turn's transcript: the guess's, when it was this very audio."""
        guess = self._guess
        # Another turn's guess (the caller spoke on while we answered this one) is kept.
        if guess is not None and guess[0] == audio.pcm:
            self._guess = None
            try:
                heard = await guess[1]
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the guess failed: hear the turn properly
                log.warning("voice: a guessed transcription failed: %s", type(exc).__name__)
            else:
                self.used += 1
                return heard
        return await self.transcriber.transcribe(audio, self.hint)

    def close(self) -> None:
        self._drop()

    def _drop(self) -> None:
        guess, self._guess = self._guess, None
        if guess is not None:
            self.dropped += 1
            guess[1].cancel()  # the thread finishes its work; nobody waits for it


def _quietly(task: asyncio.Task[Transcript]) -> None:
    # A dropped guess's failure is nobody's concern: retrieve it so asyncio stays quiet.
    if not task.cancelled():
        task.exception()
