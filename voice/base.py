"""The interfaces every voice stage and channel codes against.

Audio inside Anxin is always 16 kHz, mono, signed 16-bit little-endian PCM: codecs
(``voice/codecs.py``) convert at the boundary, once, and nothing else resamples.
Blocking work (model inference, codec calls, espeak-ng) runs in ``asyncio.to_thread``
inside the implementations, so callers simply ``await``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Optional, Protocol

SAMPLE_RATE = 16_000
SAMPLE_WIDTH = 2  # bytes: 16-bit PCM
LANGUAGES = ("zh", "en")


class AudioError(ValueError):
    """Audio we will not handle; ``status`` is the HTTP answer a channel gives."""

    status = 400


class UnsupportedAudio(AudioError):
    """Not decodable, or a format we do not take (HTTP 415)."""

    status = 415


class AudioTooLarge(AudioError):
    """Over the size or duration limit (HTTP 413)."""

    status = 413


class DecoderUnavailable(AudioError):
    """No audio decoder could take the audio now (all busy, or none would start): the
    server's trouble, not the audio's (HTTP 503; a channel keeps the message for later)."""

    status = 503


@dataclass(frozen=True)
class Audio:
    """16 kHz mono 16-bit little-endian PCM."""

    pcm: bytes

    @property
    def seconds(self) -> float:
        return len(self.pcm) / (SAMPLE_RATE * SAMPLE_WIDTH)


@dataclass(frozen=True)
class Transcript:
    text: str  # Simplified Chinese or English; "" when nothing was said
    language: str  # "zh" or "en"
    confidence: float  # 0..1: mean token probability of what was heard, 0 when nothing
    no_speech: bool = False  # silence or noise only: "I didn't hear you"


class Transcriber(Protocol):
    async def transcribe(self, audio: Audio, language: Optional[str] = None) -> Transcript:
        """``language`` (from the elder's profile) skips detection when given."""
        ...


class Synthesizer(Protocol):
    def synthesize(self, text: str, language: str) -> AsyncIterator[Audio]:
        """The speech for ``text``, one sentence at a time, so playback can start early
        (implemented as an ``async def`` generator: ``async for audio in …``)."""
        ...
