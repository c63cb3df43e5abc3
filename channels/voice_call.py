"""A phone-style call over a WebSocket: ``/webhooks/voice/stream?sender=…[&language=zh|en]``.

Caller → Anxin: binary frames of 16 kHz mono 16-bit little-endian PCM (any size), and
text frames of JSON control: ``{"dtmf": "1"}`` (a key pressed), ``{"hangup": true}``.

Anxin → caller: text frames of JSON events — ``ready``; ``transcript`` (what we heard);
``replies`` (the texts, ``keypad`` true when the keypad was offered);
``playback_start`` / ``playback_end`` around our speech, which comes as binary PCM
frames of 0.1 s, paced at real time so a barge-in stops it promptly; ``barge_in``
(the caller spoke or pressed a key over us: drop what is buffered).

The call's rules (turn ends, barge-in, keypad) are channels/voice_session.py; this
module is the I/O around them. Turns are answered one at a time, in order, by one
worker task, while audio keeps being read; a closed connection ends the call and its
tasks, and the conversation stays in Rasa's tracker.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any, Optional, Union

from sanic.exceptions import WebsocketClosed
from websockets.exceptions import ConnectionClosed

from channels.voice_engines import Engines
from channels.voice_session import CallSession, SessionSettings, intent_message, phrase
from voice.base import LANGUAGES, SAMPLE_RATE, SAMPLE_WIDTH, Audio

if TYPE_CHECKING:
    from channels.voice import Conversations

log = logging.getLogger(__name__)

FRAME_S = 0.1
FRAME_BYTES = int(SAMPLE_RATE * FRAME_S) * SAMPLE_WIDTH
# Sent a little faster than real time, so the caller's buffer never runs dry.
PACE = 0.9
Closed = (ConnectionClosed, WebsocketClosed)
Job = tuple[str, Union[str, Audio]]


class VoiceCall:
    def __init__(
        self,
        ws: Any,
        sender: str,
        language: str,
        engines: Engines,
        conversations: Conversations,
        settings: SessionSettings = SessionSettings(),
        hint: Optional[str] = None,
    ) -> None:
        self.ws, self.sender, self.language = ws, sender, language
        self.hint = hint  # a language the caller chose: the transcriber skips detection
        self.engines, self.conversations, self.settings = engines, conversations, settings
        self.session = CallSession(settings)
        self._jobs: asyncio.Queue[Job] = asyncio.Queue()
        self._playback: Optional[asyncio.Task[None]] = None
        self.turns = 0

    async def run(self) -> None:
        worker = asyncio.ensure_future(self._work())
        try:
            await self._send({"event": "ready", "sample_rate": SAMPLE_RATE,
                              "format": "pcm_s16le", "language": self.language})  # fmt: skip
            self._jobs.put_nowait(("rasa", intent_message("greet", self.language)))
            while True:
                message = await self.ws.recv()
                if message is None:
                    break
                if isinstance(message, (bytes, bytearray, memoryview)):
                    await self._audio(bytes(message))
                elif not await self._control(message):
                    break
        except Closed:
            pass  # the caller hung up or the line dropped: the call simply ends
        finally:
            worker.cancel()
            tasks = [worker] + ([self._playback] if self._playback else [])
            if self._playback is not None:
                self._playback.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            log.info("voice: call ended after %d turn(s)", self.turns)

    async def _audio(self, pcm: bytes) -> None:
        for action in self.session.audio(pcm):
            if isinstance(action, Audio):
                self._jobs.put_nowait(("audio", action))
            else:  # "barge_in"
                await self._stop_playback()

    async def _control(self, message: str) -> bool:
        """A control message; False when the caller hangs up."""
        try:
            control = json.loads(message)
        except ValueError:
            return True  # not ours to understand: ignored, the call goes on
        if not isinstance(control, dict):
            return True
        if control.get("hangup"):
            return False
        digit = control.get("dtmf")
        if isinstance(digit, (str, int)) and not isinstance(digit, bool):
            await self._stop_playback()  # a key pressed over us interrupts us too
            said = self.session.key(str(digit), self.language)
            if said is None:
                self._jobs.put_nowait(("say", phrase("bad_key", self.language)))
            else:
                self._jobs.put_nowait(("rasa", said))
        return True

    async def _work(self) -> None:
        while True:
            kind, payload = await self._jobs.get()
            try:
                if isinstance(payload, Audio):
                    await self._heard(payload)
                elif kind == "rasa":
                    answer = await self.conversations.turn(self.sender, payload, {})
                    self.session.choices = answer.choices
                    await self._reply(answer.replies)
                else:
                    await self._reply([payload])
            except Closed:
                return
            except Exception as exc:  # one failed turn must not end the call
                log.error("voice: call turn failed: %s", type(exc).__name__)

    async def _heard(self, audio: Audio) -> None:
        self.turns += 1
        transcriber = self.engines.transcriber
        text, confident = "", False
        if transcriber is not None:
            heard = await transcriber.transcribe(audio, self.hint)
            text = "" if heard.no_speech else heard.text.strip()
            await self._send({"event": "transcript", "text": text, "language": heard.language,
                              "confidence": heard.confidence})  # fmt: skip
            if text and heard.language in LANGUAGES:
                self.language = heard.language
        if text:
            metadata = {"voice": {"confidence": heard.confidence, "seconds": audio.seconds}}
            answer = await self.conversations.turn(self.sender, text, metadata)
            replies, self.session.choices = answer.replies, answer.choices
            confident = heard.confidence >= self.settings.low_confidence and not answer.fell_back
            self.language = await self.conversations.language(self.sender) or self.language
        else:  # the choices still stand: the caller may press a key for them
            replies = [phrase("not_heard", self.language)]
        keypad = self.session.understood(confident)
        if keypad:
            replies.append(phrase("keypad", self.language))
        await self._reply(replies, keypad)

    async def _reply(self, texts: list[str], keypad: bool = False) -> None:
        await self._send({"event": "replies", "texts": texts, "keypad": keypad})
        await self._stop_playback(tell=False)
        if self.engines.synthesizer is not None and texts:
            self._playback = asyncio.ensure_future(self._play(texts))

    async def _play(self, texts: list[str]) -> None:
        from care.language import detect_language

        assert self.engines.synthesizer is not None
        self.session.playing = True
        try:
            await self._send({"event": "playback_start"})
            for text in texts:
                language = detect_language(text) or self.language
                async for chunk in self.engines.synthesizer.synthesize(text, language):
                    for start in range(0, len(chunk.pcm), FRAME_BYTES):
                        frame = chunk.pcm[start : start + FRAME_BYTES]
                        await self.ws.send(frame)
                        await asyncio.sleep(len(frame) / (SAMPLE_RATE * SAMPLE_WIDTH) * PACE)
            await self._send({"event": "playback_end"})
        except Closed:
            pass
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # no voice: the caller still has the texts
            log.warning("voice: playback failed: %s", type(exc).__name__)
        finally:
            self.session.playing = False

    async def _stop_playback(self, tell: bool = True) -> None:
        task, self._playback = self._playback, None
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if tell:
            await self._send({"event": "barge_in"})

    async def _send(self, event: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(event, ensure_ascii=False))
