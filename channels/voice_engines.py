"""The voice channel's engines (transcriber, synthesizer, decoder), built once at start-up.

``build_engines`` takes the stages in ``voice/`` (voice.stt, voice.tts, and voice.isolated
for decoding: people's audio is checked, then decoded in separate processes under time
and memory limits, never in the server's) when they are installed. The channel itself
only needs objects with the ``voice.base`` interfaces, so it can be built with any of
them. Without a codec module, plain WAV is still read here with the standard library;
without a transcriber, turns with speech get 503 and everything else (limits, silence,
the keypad) still works.
"""

from __future__ import annotations

import functools
import importlib
import io
import logging
import wave
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from voice import probe
from voice.base import SAMPLE_RATE, SAMPLE_WIDTH, Audio, Synthesizer, Transcriber, UnsupportedAudio

log = logging.getLogger(__name__)

Decoder = Callable[[bytes, Optional[str]], Audio]

# Content types the HTTP endpoint takes, and the format name each stands for.
CONTENT_TYPES = {
    "audio/wav": "wav",
    "audio/wave": "wav",
    "audio/x-wav": "wav",
    "audio/vnd.wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
    "audio/opus": "ogg",
    "audio/amr": "amr",
    "audio/pcm": "pcm16k",  # header-less 16 kHz 16-bit, as a call's frames are
    "audio/l16": "pcm16k",
}
FORMATS = frozenset(CONTENT_TYPES.values())


def format_of(content_type: Optional[str], query: Optional[str]) -> Optional[str]:
    """The audio format a request says it carries (``?format=`` wins); None: none we take."""
    if query:
        name = query.strip().lower()
        return name if name in FORMATS else None
    base = (content_type or "").split(";", 1)[0].strip().lower()
    return CONTENT_TYPES.get(base)


def read_wav(data: bytes, fmt: Optional[str] = None) -> Audio:
    """WAV (16-bit PCM, any rate and channels) or raw 16 kHz PCM, as 16 kHz mono.

    The fallback when voice.codecs is not installed; it reads what ``anxin call`` and
    the tests send. Everything else is 415.
    """
    if fmt == "pcm16k":
        return Audio(data[: len(data) - len(data) % SAMPLE_WIDTH])
    if fmt not in (None, "wav"):
        raise UnsupportedAudio(f"{fmt} needs voice.codecs")
    # The header checked first: the wave module divides by the channel count it reads.
    if probe.check(data, "wav").kind != "wav":
        raise UnsupportedAudio("not a WAV file")
    try:
        with wave.open(io.BytesIO(data)) as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except (wave.Error, EOFError, ValueError) as exc:
        raise UnsupportedAudio("not a WAV file") from exc
    if width != SAMPLE_WIDTH or channels < 1 or rate < 4000:
        raise UnsupportedAudio("WAV that is not 16-bit PCM")
    samples = np.frombuffer(frames[: len(frames) - len(frames) % (2 * channels)], dtype="<i2")
    mono = samples.reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE and mono.size:
        count = int(round(mono.size * SAMPLE_RATE / rate))
        mono = np.interp(np.arange(count) * rate / SAMPLE_RATE, np.arange(mono.size), mono)
    return Audio(np.clip(np.round(mono), -32768, 32767).astype("<i2").tobytes())


def wav_bytes(audio: Audio) -> bytes:
    """16 kHz mono PCM in a WAV container: what any player opens."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(SAMPLE_RATE)
        w.writeframes(audio.pcm)
    return out.getvalue()


@dataclass
class Engines:
    transcriber: Optional[Transcriber]
    synthesizer: Optional[Synthesizer]
    decode: Decoder = read_wav

    def warm(self) -> None:
        """Start what the decoder keeps running (its processes), in the process that will
        use it: called when the server has started, after any fork. Never raises."""
        warm = getattr(self.decode, "warm", None)
        if warm is None:
            return
        try:
            warm()
        except Exception as exc:  # the first turn will try again, and say 503 if it must
            log.error("voice: the audio decoder did not start: %s", type(exc).__name__)


def _stage(name: str, build: Callable[[Any], Any]) -> Optional[Any]:
    """One stage of voice/, or None when its module is not installed or fails to build.

    The channel is always on: a stage that cannot be built is logged and left out
    (speech turns then get 503) rather than keeping the whole assistant from starting.
    """
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        log.error("voice: %s cannot be imported (%s): running without it", name, exc.name)
        return None
    try:
        return build(module)
    except Exception as exc:
        log.error("voice: %s failed to start (%s): running without it", name, type(exc).__name__)
        return None


def build_engines() -> Engines:
    """The stages of voice/, each built once for this process (the Whisper model is loaded
    by the process that transcribes: ``prepare``, or the first call)."""
    # Loaded by the process that transcribes (voice.stt): Rasa forks its workers after
    # this, and a model loaded here would hang in them. The model's files are found now.
    transcriber = _stage("voice.stt", _lazy_transcriber)
    synthesizer = _stage("voice.tts", lambda m: m.EdgeSynthesizer())
    # Decoder processes start when first needed (``warm``): never before Sanic forks.
    decode: Decoder = _stage("voice.isolated", lambda m: m.IsolatedDecoder.from_env()) or read_wav
    log.info(
        "voice: transcriber %s, synthesizer %s, decoder %s",
        type(transcriber).__name__ if transcriber else "none",
        type(synthesizer).__name__ if synthesizer else "none",
        "isolated processes" if decode is not read_wav else "WAV only",
    )
    return Engines(transcriber, synthesizer, decode)


def _lazy_transcriber(stt: Any) -> Transcriber:
    stt.resolve_model()  # a missing or unknown model fails here, at start-up
    return stt.WhisperTranscriber(load=stt.load_whisper)  # type: ignore[no-any-return]


@functools.cache
def shared_engines() -> Engines:
    """This process's engines, built on first use: the voice channel, WeChat and Telegram
    share one Whisper model (loading a second copy would cost memory and start-up time)."""
    return build_engines()
