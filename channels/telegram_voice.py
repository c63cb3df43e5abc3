"""Telegram voice notes, in and out, over the process's one set of voice engines.

In: a voice note, audio file or video note (OGG/Opus from the Telegram app) is fetched
with ``getFile`` and the file route of the Bot API — only when Telegram lets a bot have
it (20 MB) and it is no longer than the transcriber takes (60 s): both are known from
the update, so a note too big is answered without downloading a byte. It is decoded to
16 kHz PCM (voice.codecs) and transcribed (voice.stt, Whisper); the text is then an
ordinary turn. What went wrong is told to the person as a key of
``telegram_render.TEXTS``, never as an error: a transient failure of the Bot API is
raised instead, so the update is kept and replayed (channels/telegram_inbox.py).

A note heard is kept for staff review (care.recordings: its transcript, and the OGG as
received if the person consented), in the background: the turn never waits on it.

Out: a turn's replies as one voice note (voice.tts: edge-tts, espeak-ng offline),
encoded OGG/Opus, which is the only format Telegram plays as a voice message.

The engines are shared with the phone channel (``channels.voice_engines.shared_engines``):
one Whisper model per process. Logs carry durations and timings, never what was said.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from typing import Any, Optional, Union

from telegram import Audio as AudioFile
from telegram import VideoNote, Voice
from telegram.error import BadRequest

from care.recordings import Recorder
from channels.voice_conversations import speak, spoken
from channels.voice_engines import Engines
from voice.base import AudioTooLarge, UnsupportedAudio
from voice.codecs import MAX_SECONDS, encode

log = logging.getLogger(__name__)

MAX_VOICE_BYTES = 20 * 1024 * 1024  # what the Bot API lets a bot download
# A reply read aloud past this many characters is cut: a voice note of minutes helps no
# one, and the full text is on the screen above it.
MAX_SPOKEN_CHARS = 1500

# What to tell the person (keys of telegram_render.TEXTS).
NOT_HEARD = "voice_not_heard"
TOO_LONG = "voice_too_long"
UNREADABLE = "voice_unreadable"
NO_EARS = "please_type"  # this process has no transcriber


# What a person can speak into Telegram: a voice note, an audio file, a round video note.
Note = Union[Voice, AudioFile, VideoNote]


@dataclass(frozen=True)
class Heard:
    """A voice note as the assistant takes it: the words, or what to tell the person."""

    text: str = ""
    language: Optional[str] = None  # the language Whisper heard
    problem: Optional[str] = None


@dataclass(frozen=True)
class VoiceNote:
    """A reply as a voice note: OGG/Opus bytes and its length in whole seconds."""

    ogg: bytes
    seconds: int


def _seconds(note: Note) -> float:
    """A note's duration as Telegram sent it (seconds): read from its JSON, because the
    attribute is changing type (int → timedelta) across python-telegram-bot versions."""
    duration = note.to_dict().get("duration")
    return float(duration) if isinstance(duration, (int, float)) else 0.0


class VoiceNotes:
    def __init__(
        self,
        engines: Engines,
        max_bytes: int = MAX_VOICE_BYTES,
        recorder: Optional[Recorder] = None,  # None: nothing is kept
    ) -> None:
        self.engines = engines
        self.max_bytes = max_bytes
        self.recorder = recorder

    @property
    def can_hear(self) -> bool:
        return self.engines.transcriber is not None

    def too_big(self, note: Note) -> bool:
        """Known from the update alone: no download for a note we could not take."""
        return (note.file_size or 0) > self.max_bytes or _seconds(note) > MAX_SECONDS

    async def hear(
        self, note: Note, hint: Optional[str], chat_id: str = "", message_id: str = ""
    ) -> Heard:
        """The words of a voice note; ``hint`` is the person's language when known.
        ``chat_id`` and ``message_id`` (the turn's, as Rasa gets them) file its recording."""
        if self.engines.transcriber is None:
            return Heard(problem=NO_EARS)
        if self.too_big(note):
            return Heard(problem=TOO_LONG)
        try:
            file = await note.get_file()
            if (file.file_size or 0) > self.max_bytes:
                return Heard(problem=TOO_LONG)
            data = bytes(await file.download_as_bytearray())
        except BadRequest as exc:  # the file is gone or refused ("file is too big")
            log.warning("telegram: a voice note could not be fetched: %s", type(exc).__name__)
            too_big = "too big" in str(exc).lower()
            return Heard(problem=TOO_LONG if too_big else UNREADABLE)
        # Any other TelegramError (network, timeout) propagates: the update is replayed.
        try:
            # Checked, then decoded in a decoder process (voice/isolated.py): a note that
            # would crash ffmpeg is UNREADABLE, never the server's end. No decoder free
            # (DecoderUnavailable) propagates: the update is replayed later.
            audio = await asyncio.to_thread(self.engines.decode, data, "ogg")
        except AudioTooLarge:
            return Heard(problem=TOO_LONG)
        except UnsupportedAudio:
            log.warning("telegram: a voice note of %d bytes could not be decoded", len(data))
            return Heard(problem=UNREADABLE)
        started = time.perf_counter()
        heard = await self.engines.transcriber.transcribe(audio, hint)
        log.info("telegram: %.1f s of voice transcribed in %.2f s", audio.seconds,
                 time.perf_counter() - started)  # fmt: skip
        if heard.no_speech or not heard.text.strip():
            return Heard(language=heard.language, problem=NOT_HEARD)
        if self.recorder is not None and chat_id:
            # An audio file may be MP3 or anything ffmpeg read: only OGG is kept as is.
            original = (data, "ogg") if data[:4] == b"OggS" else None
            self.recorder.record("telegram", chat_id, message_id or None, audio,
                                 heard.text.strip(), heard.language, original)  # fmt: skip
        return Heard(heard.text.strip(), heard.language)

    async def say(self, messages: list[dict[str, Any]], language: str) -> Optional[VoiceNote]:
        """Rasa's replies (or our own texts as ``{"text": ...}``) read aloud, buttons as
        numbered choices; None when there is nothing to say or no voice to say it."""
        texts, budget = [], MAX_SPOKEN_CHARS
        for message in messages:
            said = spoken(message)[:budget]
            if said.strip(" 👇"):
                texts.append(said)
                budget -= len(said)
            if budget <= 0:
                break
        audio = await speak(self.engines, texts, language)
        if audio is None or not audio.pcm:
            return None
        ogg = await asyncio.to_thread(encode, audio, "ogg_opus")
        return VoiceNote(ogg, max(1, math.ceil(audio.seconds)))
