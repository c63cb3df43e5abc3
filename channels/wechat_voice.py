"""Voice messages on WeChat: hear what the person said, and say the answer back to them.

In: the media WeChat keeps for a voice message is downloaded, decoded (AMR; WeChat's
Speex framing is nothing ffmpeg plays, so it gets a polite "please say it again") and
transcribed by this process's one Whisper model (``channels.voice_engines``, shared with
the voice channel). Out: the answer is synthesised — slowed for elders by the
synthesizer's rate, ``ANXIN_TTS_RATE`` — encoded as AMR, uploaded as temporary media and
sent as a customer-service voice message. The text answer always goes on its own, first:
a voice reply that fails is logged and costs nothing else. A message heard is kept for
staff review (care.recordings: its transcript, and its audio if the person consented),
in the background: the turn never waits on it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Optional, Sequence

from care.recordings import Recorder
from channels.voice_engines import Engines
from channels.wechat_api import WeChatAPI, WeChatAPIError
from voice.base import SAMPLE_RATE, SAMPLE_WIDTH, Audio, AudioError, DecoderUnavailable
from voice.codecs import encode

log = logging.getLogger(__name__)

# WeChat refuses voice media over 60 s; a long answer is cut at a sentence before that.
MAX_REPLY_S = 55.0
PAUSE_S = 0.3  # between sentences: elders follow speech better with a breath in it

_CJK = re.compile(r"[\u3400-\u9fff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True)
class Heard:
    """What a voice message said, or why there is nothing to answer (a phrase name)."""

    text: str = ""
    problem: str = ""  # "not_heard" (silence, noise) or "unplayable" (undecodable, gone)


def decode_hint(wechat_format: str) -> Optional[str]:
    """WeChat's ``Format`` element as a codec hint; None lets ffmpeg probe the bytes."""
    return wechat_format.strip().lower() or None


def spoken_language(text: str) -> str:
    """The language to speak ``text`` in: Chinese when it has at least as many Chinese
    characters as English words (the welcome text has some of both)."""
    return "zh" if len(_CJK.findall(text)) >= len(_LATIN_WORD.findall(text)) else "en"


def join_speech(parts: Sequence[Audio], max_s: float = MAX_REPLY_S) -> Audio:
    """Sentences as one recording with a pause between them, whole sentences up to
    ``max_s`` (a first sentence longer than that is cut)."""
    pause = bytes(int(PAUSE_S * SAMPLE_RATE) * SAMPLE_WIDTH)
    limit = int(max_s * SAMPLE_RATE) * SAMPLE_WIDTH
    out = b""
    for part in parts:
        joined = out + pause + part.pcm if out else part.pcm
        if len(joined) > limit:
            if not out:
                out = part.pcm[:limit]
            break
        out = joined
    return Audio(out)


class WeChatVoice:
    def __init__(self, api: WeChatAPI, engines: Engines, recorder: Optional[Recorder] = None):
        self.api = api
        self.engines = engines
        self.recorder = recorder  # None: nothing is kept (tests of the voice alone)

    @property
    def hears(self) -> bool:
        return self.engines.transcriber is not None

    async def hear(
        self,
        media_id: str,
        fmt: str,
        language: Optional[str],
        openid: str = "",
        message_id: str = "",
    ) -> Heard:
        """The words of a voice message; ``language`` (the person's, when known) skips
        Whisper's language detection. A network failure raises: the message is held.
        ``openid`` and ``message_id`` (the turn's, as Rasa gets them) file its recording."""
        transcriber = self.engines.transcriber
        if transcriber is None:
            return Heard(problem="voice")
        try:
            data = await self.api.download_media(media_id)
        except WeChatAPIError as exc:  # expired (3 days) or unknown media: asking again helps
            log.warning("a WeChat voice message could not be downloaded: %s", exc)
            return Heard(problem="unplayable")
        try:
            # Checked, then decoded in a decoder process (voice/isolated.py): bytes that
            # would crash ffmpeg cost this message a re-ask, never the server.
            audio = await asyncio.to_thread(self.engines.decode, data, decode_hint(fmt))
        except DecoderUnavailable:
            raise  # no decoder free now: the message is held and heard later
        except AudioError as exc:
            log.info("a WeChat voice message (%s) could not be decoded: %s", fmt or "?", exc)
            return Heard(problem="unplayable")
        transcript = await transcriber.transcribe(audio, language)
        if transcript.no_speech or not transcript.text.strip():
            return Heard(problem="not_heard")
        if self.recorder is not None and openid:
            self.recorder.record("wechat", openid, message_id or None, audio, transcript.text,
                                 transcript.language, original=(data, fmt))  # fmt: skip
        return Heard(text=transcript.text)

    async def speak(self, openid: str, texts: Sequence[str]) -> bool:
        """Send ``texts`` as one voice message; never raises (the text is already sent)."""
        synthesizer = self.engines.synthesizer
        text = "\n".join(t for t in texts if t.strip())
        if synthesizer is None or not text:
            return False
        try:
            parts: list[Audio] = []
            speech = synthesizer.synthesize(text, spoken_language(text))
            try:
                async for audio in speech:
                    parts.append(audio)
                    if sum(p.seconds for p in parts) >= MAX_REPLY_S:
                        break  # the rest would be cut anyway: do not synthesise it
            finally:
                close = getattr(speech, "aclose", None)  # an async generator's, when it is one
                if close is not None:
                    await close()
            spoken = join_speech(parts)
            if not spoken.pcm:
                return False
            amr = await asyncio.to_thread(encode, spoken, "amr")
            media_id = await self.api.upload_voice(amr)
            await self.api.send_voice(openid, media_id)
        except Exception as exc:  # the type and WeChat's code only: never what was said
            why = str(exc) if isinstance(exc, WeChatAPIError) else type(exc).__name__
            log.warning("a WeChat voice reply was not sent: %s", why)
            return False
        return True
