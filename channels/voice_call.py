"""One phone-style call, whatever carries it: ``CallEngine`` over a ``Transport``.

The engine is the call: a greeting when it opens; the caller's audio (16 kHz PCM) cut
into turns (channels/voice_session.py), each transcribed and answered in order by one
worker task while audio keeps coming; keys pressed; our replies spoken back in frames
paced at real time, and stopped when the caller speaks or presses a key over them
(barge-in); the keypad offered after two poorly understood turns. A transport only
moves bytes: the WebSocket (channels/voice_websocket.py, ``/webhooks/voice/stream``)
and the Asterisk
AudioSocket bridge (channels/audiosocket.py).

When the line closes (hang-up or drop), our speech stops at once, but turns the caller
had already finished are still transcribed and given to Rasa with nothing said back:
what the caller said is kept with the conversation, in Rasa's tracker. Each turn
heard is also kept for staff review (care.recordings, through ``Conversations.record``).

Right after the greeting, the care centre's pending notifications for the caller
(``Conversations.notices``) are said, each "A message from the care centre: …", and
sent as a ``replies`` event with ``notification`` true. They are claimed when the
greeting is answered (so two calls at once cannot both say them) and go back to the
outbox when the call ends, or the caller speaks over the greeting, before their own
speech began: a notice counts as delivered once the caller has started hearing it.

Staff replies in a handed-off call (care/staff_replies.py) are said to the caller
with each turn's answer, first, and while the caller is quiet: every ``STAFF_POLL_S``
while nothing is playing and no turn is waiting, the worker looks for them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Optional, Protocol, Union

from care.language import detect_language
from channels.voice_engines import Engines
from channels.voice_guess import Guesses
from channels.voice_session import (
    CallSession,
    SessionSettings,
    TurnPaused,
    intent_message,
    phrase,
)
from voice.base import LANGUAGES, SAMPLE_RATE, SAMPLE_WIDTH, Audio

if TYPE_CHECKING:
    from channels.voice_conversations import Conversations

log = logging.getLogger(__name__)

Job = tuple[str, Union[str, Audio]]
# Turns already heard when the line closed are still given to Rasa, within this long.
DRAIN_S = 120.0
STAFF_POLL_S = 2.0  # a staff reply waits at most this long for a quiet caller


class Transport(Protocol):
    """How a call's events and speech reach the caller."""

    frame_s: float  # seconds of speech per outgoing audio frame
    pace: float  # frames go out at this fraction of real time (1.0: exactly real time)
    closed: tuple[type[BaseException], ...]  # what a send raises once the line is gone

    async def event(self, event: dict[str, Any]) -> None: ...

    async def audio(self, pcm: bytes) -> None:
        """One frame of our speech, 16 kHz mono 16-bit PCM of ``frame_s`` (the last
        frame of a reply may be shorter)."""
        ...


class CallEngine:
    def __init__(
        self,
        transport: Transport,
        sender: str,
        language: str,
        engines: Engines,
        conversations: Conversations,
        settings: SessionSettings = SessionSettings(),
        hint: Optional[str] = None,
        caller_name: Optional[str] = None,
        transport_name: str = "websocket",
    ) -> None:
        self.transport, self.sender, self.language = transport, sender, language
        self.hint = hint  # a language the caller chose: the transcriber skips detection
        self.caller_name = caller_name  # a known elder is greeted by name
        self.transport_name = transport_name
        self.engines, self.conversations, self.settings = engines, conversations, settings
        self.session = CallSession(settings)
        self.turns = 0
        self.ended = False  # the line is closed: nothing more is sent
        self._jobs: asyncio.Queue[Optional[Job]] = asyncio.Queue()
        self._playback: Optional[asyncio.Task[Any]] = None
        self._worker: Optional[asyncio.Task[None]] = None
        transcriber = engines.transcriber
        self._guesses = Guesses(transcriber, hint) if transcriber is not None else None

    # Set by open: the poll for staff replies, and whether it has a look queued.
    _staff_poll: Optional[asyncio.Task[None]] = None
    _staff_queued = False

    async def open(self) -> None:
        """Start answering; the greeting is the first thing said."""
        self._worker = asyncio.ensure_future(self._work())
        self._jobs.put_nowait(("greet", intent_message("greet", self.language)))
        self._staff_poll = asyncio.ensure_future(self._poll_staff())

    async def audio(self, pcm: bytes) -> None:
        """The caller's audio, 16 kHz mono 16-bit PCM, in any frame size."""
        for action in self.session.audio(pcm):
            if isinstance(action, Audio):
                self._jobs.put_nowait(("audio", action))
            elif isinstance(action, TurnPaused):
                if self._guesses is not None:
                    self._guesses.start(action.audio)
            else:  # "barge_in"
                await self._stop_playback()

    async def key(self, digit: str) -> None:
        """A key the caller pressed."""
        await self._stop_playback()  # a key pressed over us interrupts us too
        said = self.session.key(digit, self.language)
        if said is None:
            self._jobs.put_nowait(("say", phrase("bad_key", self.language)))
        else:
            self._jobs.put_nowait(("rasa", said))

    async def close(self) -> None:
        """The line is closed: stop speaking, give finished turns to Rasa, end the tasks."""
        self.ended = True
        poll, self._staff_poll = self._staff_poll, None
        if poll is not None:
            poll.cancel()
            await asyncio.gather(poll, return_exceptions=True)
        await self._stop_playback(tell=False)
        worker, self._worker = self._worker, None
        if worker is not None:
            self._jobs.put_nowait(None)  # the worker stops after what was queued before
            try:
                await asyncio.wait_for(asyncio.shield(worker), DRAIN_S)
            except asyncio.TimeoutError:
                log.warning("voice: a call's last turns were still running after %.0f s", DRAIN_S)
            finally:
                worker.cancel()
                await asyncio.gather(worker, return_exceptions=True)
        if self._guesses is not None:
            self._guesses.close()
            log.info("voice: %s call ended after %d turn(s), %d heard on a guess",
                     self.transport_name, self.turns, self._guesses.used)  # fmt: skip
        else:
            log.info("voice: %s call ended after %d turn(s)", self.transport_name, self.turns)

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            if job is None:
                return
            kind, payload = job
            try:
                if isinstance(payload, Audio):
                    await self._heard(payload)
                elif kind in ("rasa", "greet"):
                    answer = await self.conversations.turn(self.sender, payload, {})
                    self.session.choices = answer.choices
                    replies = answer.replies
                    if kind == "greet" and self.caller_name:
                        replies = [phrase("hello_name", self.language).format(
                            name=self.caller_name)] + replies  # fmt: skip
                    # The greeting goes alone: the poll says staff replies right after it.
                    await (self._greet(replies) if kind == "greet" else self._answer(replies))
                elif kind == "staff":
                    self._staff_queued = False
                    await self._answer([], turn=False)
                elif not self.ended:
                    await self._reply([payload])
            except self.transport.closed:
                self.ended = True  # the caller is gone; their finished turns still count
            except Exception as exc:  # one failed turn must not end the call
                log.error("voice: call turn failed: %s", type(exc).__name__)

    async def _heard(self, audio: Audio) -> None:
        self.turns += 1
        text, confident = "", False
        if self._guesses is not None:
            heard = await self._guesses.transcribe(audio)
            text = "" if heard.no_speech else heard.text.strip()
            await self._send({"event": "transcript", "text": text, "language": heard.language,
                              "confidence": heard.confidence})  # fmt: skip
            if text and heard.language in LANGUAGES:
                self.language = heard.language
        if text:
            metadata = {"voice": {"confidence": heard.confidence, "seconds": audio.seconds,
                                  "transport": self.transport_name}}  # fmt: skip
            answer = await self.conversations.turn(self.sender, text, metadata)
            self.conversations.record(self.sender, answer.message_id, audio, text, heard.language)
            replies, self.session.choices = answer.replies, answer.choices
            confident = heard.confidence >= self.settings.low_confidence and not answer.fell_back
            self.language = await self.conversations.language(self.sender) or self.language
        else:  # the choices still stand: the caller may press a key for them
            replies = [phrase("not_heard", self.language)]
        keypad = self.session.understood(confident)
        if keypad:
            replies.append(phrase("keypad", self.language))
        await self._answer(replies, keypad)

    async def _answer(self, replies: list[str], keypad: bool = False, turn: bool = True) -> None:
        """A turn's replies, after what staff wrote to the caller since: a person's words
        first, as their own ``replies`` event, then ours, spoken as one. A look for staff
        replies alone (``turn`` False) that finds none sends nothing."""
        playing = self._playback is not None and not self._playback.done()
        staff: list[str] = []
        # A closed line: they wait for the next call. Speech going out is never cut by a
        # look: the next look comes when it is over.
        if not self.ended and (turn or not playing):
            staff = await self.conversations.staff_replies(self.sender, self.language)
        if not staff:
            if turn:
                await self._reply(replies, keypad)
            return
        await self._send({"event": "replies", "texts": staff, "keypad": False, "staff": True})
        if turn:
            await self._send({"event": "replies", "texts": replies, "keypad": keypad})
        await self._stop_playback(tell=False)
        if self.engines.synthesizer is not None and not self.ended:
            self._playback = asyncio.ensure_future(self._play(staff + replies))

    async def _greet(self, greeting: list[str]) -> None:
        """The greeting, then the care centre's notifications, each said once."""
        notices = [] if self.ended else await self.conversations.notices(self.sender, self.language)
        if not notices:
            await self._reply(greeting)
            return
        ids, texts = [i for i, _ in notices], [t for _, t in notices]
        try:
            await self._send({"event": "replies", "texts": greeting, "keypad": False})
            await self._send({"event": "replies", "texts": texts, "keypad": False,
                              "notification": True})  # fmt: skip
        except self.transport.closed:
            await self.conversations.give_back(ids)
            raise
        await self._stop_playback(tell=False)
        if self.ended:
            await self.conversations.give_back(ids)
        elif self.engines.synthesizer is not None:
            self._playback = asyncio.ensure_future(self._play_notices(greeting, texts, ids))

    async def _play_notices(self, greeting: list[str], texts: list[str], ids: list[int]) -> None:
        started = False
        try:
            if await self._play(greeting) and not self.ended:
                started = True
                await self._play(texts)
        finally:
            if not started:  # dropped or spoken over first: they wait for the next call
                await asyncio.shield(self.conversations.give_back(ids))

    async def _poll_staff(self) -> None:
        """Staff may write while the caller says nothing: a look is queued for the worker
        (so it never speaks over a turn's answer) whenever the line is quiet — we are
        not speaking and the caller is not in the middle of a turn."""
        while not self.ended:
            await asyncio.sleep(STAFF_POLL_S)
            busy = self.session.playing or self.session.detector.in_turn
            if busy or self._staff_queued or not self._jobs.empty():
                continue  # never over our own speech, nor over the caller's
            self._staff_queued = True
            self._jobs.put_nowait(("staff", ""))

    async def _reply(self, texts: list[str], keypad: bool = False) -> None:
        await self._send({"event": "replies", "texts": texts, "keypad": keypad})
        await self._stop_playback(tell=False)
        if self.engines.synthesizer is not None and texts and not self.ended:
            self._playback = asyncio.ensure_future(self._play(texts))

    async def _play(self, texts: list[str]) -> bool:
        """Speak ``texts``; True when they were said to the end."""
        synthesizer = self.engines.synthesizer
        assert synthesizer is not None
        loop = asyncio.get_running_loop()
        frame_bytes = int(SAMPLE_RATE * self.transport.frame_s) * SAMPLE_WIDTH
        self.session.playing = True
        try:
            await self._send({"event": "playback_start"})
            due = loop.time()
            pending = bytearray()  # frames are whole: a sentence's tail waits for the next
            for text in texts:
                language = detect_language(text) or self.language
                async for chunk in synthesizer.synthesize(text, language):
                    # Restart the clock when synthesis fell behind: we cannot send the past.
                    due = max(due, loop.time())
                    pending += chunk.pcm
                    while len(pending) >= frame_bytes:
                        due = await self._frame(bytes(pending[:frame_bytes]), due)
                        del pending[:frame_bytes]
            if pending:  # the last frame filled with quiet
                await self._frame(bytes(pending).ljust(frame_bytes, b"\0"), due)
            await self._send({"event": "playback_end"})
            return True
        except self.transport.closed:
            return False
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # no voice: the caller still has the texts
            log.warning("voice: playback failed: %s", type(exc).__name__)
            return False
        finally:
            self.session.playing = False

    async def _frame(self, frame: bytes, due: float) -> float:
        """Send one frame, then wait for its time; returns when the next one is due.

        Paced against a fixed schedule, so timer jitter never adds up."""
        await self.transport.audio(frame)
        due += len(frame) / (SAMPLE_RATE * SAMPLE_WIDTH) * self.transport.pace
        await asyncio.sleep(max(0.0, due - asyncio.get_running_loop().time()))
        return due

    async def _stop_playback(self, tell: bool = True) -> None:
        task, self._playback = self._playback, None
        if task is None or task.done():
            return
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        if tell:
            await self._send({"event": "barge_in"})

    async def _send(self, event: dict[str, Any]) -> None:
        if not self.ended:
            await self.transport.event(event)
