"""Text-to-speech: edge-tts's neural voices, espeak-ng when Microsoft cannot be reached.

Speech is made one sentence at a time so a phone caller hears the first sentence while
the rest is still being synthesised. Elders hear better slowed down: ``ANXIN_TTS_RATE``
(default ``-15%``) slows both engines. edge-tts needs Microsoft's online service; if the
first audio of a sentence has not arrived within ``connect_timeout`` (1.5 s) the offline
espeak-ng voice answers instead, and edge-tts is not tried again for ``retry_after``
seconds so later sentences do not each pay the wait. ``ANXIN_TTS_ENGINE=espeak``
speaks offline only (an offline site, a benchmark of the offline voice). Short fixed
phrases (greetings, "I didn't hear you") are cached.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import re
import shutil
import subprocess
import time
from collections import OrderedDict
from typing import AsyncIterator, Dict, List, Mapping, Optional, Tuple

from voice.base import LANGUAGES, Audio, Synthesizer
from voice.codecs import decode
from voice.speak import for_speech

logger = logging.getLogger(__name__)

EDGE_VOICES = {"zh": "zh-CN-XiaoxiaoNeural", "en": "en-US-JennyNeural"}
ESPEAK_VOICES = {"zh": "cmn", "en": "en-us"}
ESPEAK_WPM = 175  # espeak-ng's own default speed, which ANXIN_TTS_RATE scales
DEFAULT_RATE = "-15%"

# A sentence ends at Chinese or Western end punctuation (Western only before a space or
# the end, so "12.5" and "Dr.Li" stay whole), or at a line break.
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])|(?<=[.])(?=\s|$)|\n+")


def split_sentences(text: str) -> List[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip(" \t。.，,")]


def _rate_factor(rate: str) -> float:
    """"-15%" → 0.85; anything unparsable is treated as normal speed."""
    match = re.fullmatch(r"\s*([+-]?\d+)\s*%\s*", rate)
    return 1.0 + int(match.group(1)) / 100 if match else 1.0


class PhraseCache:
    """A small LRU of synthesised sentences; only short ones, which are the fixed phrases."""

    def __init__(self, size: int = 128, max_chars: int = 40) -> None:
        self._items: OrderedDict[Tuple[str, ...], Audio] = OrderedDict()
        self._size = size
        self.max_chars = max_chars
        self.hits = 0

    def get(self, key: Tuple[str, ...]) -> Optional[Audio]:
        audio = self._items.get(key)
        if audio is not None:
            self._items.move_to_end(key)
            self.hits += 1
        return audio

    def put(self, key: Tuple[str, ...], audio: Audio) -> None:
        if len(key[-1]) > self.max_chars:
            return
        self._items[key] = audio
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)


class EspeakSynthesizer:
    """The offline voice: espeak-ng, slowed for elders. Clear English, robotic Mandarin."""

    def __init__(
        self,
        rate: Optional[str] = None,
        voices: Optional[Mapping[str, str]] = None,
        env: Mapping[str, str] = os.environ,
    ) -> None:
        factor = _rate_factor(rate or env.get("ANXIN_TTS_RATE", DEFAULT_RATE))
        self.wpm = max(80, int(ESPEAK_WPM * factor))
        self.voices = dict(voices or ESPEAK_VOICES)
        self.cache = PhraseCache()

    async def synthesize(self, text: str, language: str) -> AsyncIterator[Audio]:
        for sentence in split_sentences(for_speech(text, language)):
            yield await self.sentence(sentence, language)

    async def sentence(self, sentence: str, language: str) -> Audio:
        voice = self.voices.get(language, self.voices["zh"])
        key = ("espeak", voice, str(self.wpm), sentence)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        audio = await asyncio.to_thread(self._run, sentence, voice)
        self.cache.put(key, audio)
        return audio

    def _run(self, sentence: str, voice: str) -> Audio:
        exe = shutil.which("espeak-ng")
        if exe is None:
            raise RuntimeError("espeak-ng is not installed (apt-get install espeak-ng)")
        # The text goes on stdin, never the command line: it can start with "-".
        done = subprocess.run(
            [exe, "-v", voice, "-s", str(self.wpm), "--stdout", "--stdin"],
            input=sentence.encode("utf-8"),
            capture_output=True,
            check=True,
            timeout=30,
        )
        return decode(done.stdout, "wav")


class EdgeSynthesizer:
    """:class:`voice.base.Synthesizer` over edge-tts, with an offline fallback."""

    def __init__(
        self,
        fallback: Optional[Synthesizer] = None,
        *,
        rate: Optional[str] = None,
        voices: Optional[Mapping[str, str]] = None,
        connect_timeout: float = 1.5,
        retry_after: float = 60.0,
        proxy: Optional[str] = None,
        env: Mapping[str, str] = os.environ,
    ) -> None:
        self.rate = rate or env.get("ANXIN_TTS_RATE", DEFAULT_RATE)
        self.voices: Dict[str, str] = dict(voices or EDGE_VOICES)
        for lang in LANGUAGES:
            self.voices[lang] = env.get(f"ANXIN_TTS_VOICE_{lang.upper()}", self.voices[lang])
        self.fallback = fallback or EspeakSynthesizer(rate=self.rate, env=env)
        self.connect_timeout = connect_timeout
        self.retry_after = retry_after
        # Deployments behind a firewall reach Microsoft through a proxy.
        self.proxy = proxy or env.get("ANXIN_TTS_PROXY") or None
        self.cache = PhraseCache()
        engine = env.get("ANXIN_TTS_ENGINE", "edge").strip().lower()
        if engine not in ("edge", "espeak"):
            raise SystemExit(f"ANXIN_TTS_ENGINE={engine!r}: edge or espeak")
        # Offline for good: no sentence ever waits on a connection that cannot succeed.
        self._offline_until = math.inf if engine == "espeak" else 0.0
        self.switches = 0  # times we went offline, for tests and health checks

    @property
    def offline(self) -> bool:
        return time.monotonic() < self._offline_until

    async def synthesize(self, text: str, language: str) -> AsyncIterator[Audio]:
        # Read-backs carry "11月28号 12:00": said in words (十一月二十八号 中午十二点).
        for sentence in split_sentences(for_speech(text, language)):
            audio = None if self.offline else await self._edge(sentence, language)
            if audio is None:
                audio = await self._fallback_sentence(sentence, language)
            yield audio

    async def _fallback_sentence(self, sentence: str, language: str) -> Audio:
        one = getattr(self.fallback, "sentence", None)
        if one is not None:
            return await one(sentence, language)
        parts = [a.pcm async for a in self.fallback.synthesize(sentence, language)]
        return Audio(b"".join(parts))

    async def _edge(self, sentence: str, language: str) -> Optional[Audio]:
        voice = self.voices.get(language, self.voices["zh"])
        key = ("edge", voice, self.rate, sentence)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        try:
            mp3 = await self._edge_mp3(sentence, voice)
            audio = await asyncio.to_thread(decode, mp3, "mp3")
        except Exception as exc:  # any failure of a remote service means: speak offline
            self._went_offline(exc)
            return None
        if self._offline_until:
            logger.info("edge-tts is reachable again: back to %s", voice)
            self._offline_until = 0.0
        self.cache.put(key, audio)
        return audio

    async def _edge_mp3(self, sentence: str, voice: str) -> bytes:
        import edge_tts

        communicate = edge_tts.Communicate(
            sentence,
            voice,
            rate=self.rate,
            proxy=self.proxy,
            connect_timeout=max(1, int(self.connect_timeout + 0.5)),
            receive_timeout=10,
        )
        stream = communicate.stream()
        chunks: List[bytes] = []
        try:
            # The deadline covers connecting and the first audio: a hung TLS handshake or
            # a proxy that never answers counts as unreachable too.
            first = await asyncio.wait_for(self._next_audio(stream), self.connect_timeout)
            while first is not None:
                chunks.append(first)
                first = await asyncio.wait_for(self._next_audio(stream), 10)
        finally:
            await stream.aclose()
        if not chunks:
            raise RuntimeError("edge-tts returned no audio")
        return b"".join(chunks)

    @staticmethod
    async def _next_audio(stream) -> Optional[bytes]:
        async for chunk in stream:
            if chunk["type"] == "audio":
                return chunk["data"]
        return None

    def _went_offline(self, exc: BaseException) -> None:
        was_online = not self._offline_until
        self._offline_until = time.monotonic() + self.retry_after
        if was_online:
            self.switches += 1
            # Logged once per outage, not per sentence; the error type only (no text).
            logger.warning(
                "edge-tts unreachable (%s): speaking with espeak-ng for %.0f s",
                type(exc).__name__,
                self.retry_after,
            )
