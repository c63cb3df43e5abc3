"""The telephony bridge: an Asterisk AudioSocket TCP server, started with the Rasa server.

A hotline's dialplan (docs/telephony.md) registers the caller's number for the call's
UUID (channels/audiosocket_callers.py), then hands the call to ``AudioSocket(uuid,
host:port)``. Each connection is one call on the ``voice`` channel, run by the same
engine as the WebSocket (channels/voice_call.py): this module only turns AudioSocket
messages (channels/audiosocket_protocol.py) into the engine's calls and its speech into
8 kHz messages of 20 ms, sent at real time. The call's sender is the one the
registration resolved (the elder's number, once it is their voice identity), so its
turns are kept for review (care.recordings) with that elder's consent, and staff
replies written to that conversation are said in the call.

Off unless ``ANXIN_AUDIOSOCKET_PORT`` is set; binds ``ANXIN_AUDIOSOCKET_HOST``
(127.0.0.1 by default: Asterisk on the same machine). A message that breaks the protocol
closes that call (with a hang-up message) and nothing else; logs carry the call's
UUID and what happened, never the number or what was said.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import TYPE_CHECKING, Any, Callable, Optional

from channels import audiosocket_protocol as wire
from channels.audiosocket_callers import Caller, CallerRegistry, identify
from channels.config import AudioSocketSettings
from channels.voice_call import CallEngine
from channels.voice_engines import Engines
from channels.voice_session import SessionSettings
from voice.base import SAMPLE_RATE

if TYPE_CHECKING:
    from care.services import CareServices
    from channels.voice_conversations import Conversations

log = logging.getLogger(__name__)

# Asterisk sends the UUID the moment it connects; a connection silent this long is no call.
FIRST_MESSAGE_S = 10.0
PHONE_RATE = 8_000
STOP_S = 10.0


class LineClosed(ConnectionError):
    """The caller's line is closed: nothing more can be sent."""


class AudioSocketLine:
    """The engine's transport over one AudioSocket connection: speech out as 20 ms of
    8 kHz PCM per message, paced at real time as a phone line plays it (a jitter buffer
    on the far side would drop what came too early)."""

    frame_s = 0.02
    pace = 1.0
    closed: tuple[type[BaseException], ...] = (ConnectionError,)

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self._down = wire.Resampler(SAMPLE_RATE, PHONE_RATE)

    async def event(self, event: dict[str, Any]) -> None:
        """A phone has no screen: events only matter for the logs."""
        if event.get("event") == "barge_in":
            log.debug("audiosocket: the caller spoke over us: playback stopped")

    async def audio(self, pcm: bytes) -> None:
        await self.send(wire.audio_frame(self._down.feed(pcm)))

    async def send(self, message: bytes) -> None:
        if self.writer.is_closing():
            raise LineClosed("the line is closed")
        self.writer.write(message)
        await self.writer.drain()


class AudioSocketServer:
    def __init__(
        self,
        settings: AudioSocketSettings,
        engines: Engines,
        conversations: Conversations,
        care: Callable[[], CareServices],
        session: SessionSettings = SessionSettings(),
        registry: Optional[CallerRegistry] = None,
    ) -> None:
        self.settings, self.engines, self.conversations = settings, engines, conversations
        self.care, self.session = care, session
        self.registry = registry or CallerRegistry()
        self.calls = 0  # open calls
        self._server: Optional[asyncio.AbstractServer] = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> bool:
        """Listen; False (logged) when the port cannot be had: the assistant's other
        channels keep working without the telephone."""
        try:
            self._server = await asyncio.start_server(
                self._connected, self.settings.host, self.settings.port, reuse_address=True
            )
        except OSError as exc:
            log.error("audiosocket: cannot listen on %s:%d (%s): no telephone calls",
                      self.settings.host, self.settings.port, exc.strerror)  # fmt: skip
            return False
        log.info("audiosocket: listening on %s:%d", self.settings.host, self.settings.port)
        return True

    async def stop(self) -> None:
        """Stop listening and end the calls still open (each keeps what was said)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:  # a turn being transcribed may finish; shutting down waits no longer
            await asyncio.wait(list(self._tasks), timeout=STOP_S)

    async def _connected(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self.calls += 1
        try:
            await self._call(reader, writer)
        finally:
            self.calls -= 1
            if task is not None:
                self._tasks.discard(task)

    async def _call(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = AudioSocketLine(writer)
        engine: Optional[CallEngine] = None
        we_hang_up = False
        call: Optional[uuid.UUID] = None
        try:
            first = await asyncio.wait_for(wire.read_frame(reader), FIRST_MESSAGE_S)
            if first is None:
                return
            call = wire.call_id(first)
            caller = await self._caller(call)
            language = await self.conversations.language(caller.sender) or caller.language or "zh"
            engine = CallEngine(line, caller.sender, language, self.engines, self.conversations,
                                self.session, caller_name=caller.name,
                                transport_name="audiosocket")  # fmt: skip
            log.info("audiosocket: call %s opened (%s caller)", call,
                     "known" if caller.name else "new")  # fmt: skip
            await engine.open()
            we_hang_up = await self._listen(reader, engine, call)
        except wire.ProtocolError as exc:
            log.warning("audiosocket: call %s: %s; closing it", call or "(no uuid)", exc)
            we_hang_up = True
        except asyncio.TimeoutError:
            log.warning("audiosocket: a connection sent no call UUID in %.0f s", FIRST_MESSAGE_S)
            we_hang_up = True
        except ConnectionError:
            pass  # the line dropped: the call simply ends
        finally:
            await self._close(line, we_hang_up)
            if engine is not None:
                await engine.close()

    async def _listen(self, reader: asyncio.StreamReader, engine: CallEngine,
                      call: uuid.UUID) -> bool:  # fmt: skip
        """Messages until the call ends; True when we end it (the caller reported an error)."""
        up: dict[int, wire.Resampler] = {}
        unknown: set[int] = set()
        while True:
            frame = await wire.read_frame(reader)
            if frame is None or frame.kind == wire.HANGUP:
                return False
            if frame.kind in wire.AUDIO_RATES:
                pcm, rate = wire.audio_of(frame)
                if rate not in up:
                    up[rate] = wire.Resampler(rate, SAMPLE_RATE)
                await engine.audio(up[rate].feed(pcm))
            elif frame.kind == wire.DTMF:
                key = wire.key_of(frame)
                if key is None:
                    log.info("audiosocket: call %s: a key that is none of 0-9*#A-D", call)
                else:
                    await engine.key(key)
            elif frame.kind == wire.ERROR:
                log.warning("audiosocket: call %s: Asterisk reported error %s",
                            call, wire.error_code(frame))  # fmt: skip
                return True
            elif frame.kind == wire.UUID:
                continue  # the call's id again: nothing new
            elif frame.kind not in unknown:  # a newer protocol's message: skipped
                unknown.add(frame.kind)
                log.info("audiosocket: call %s: message kind 0x%02x skipped", call, frame.kind)

    async def _caller(self, call: uuid.UUID) -> Caller:
        try:
            number = await self.registry.take(call)
        except Exception as exc:  # the registry is away: served as anonymous
            log.error("audiosocket: caller registry unavailable: %s", type(exc).__name__)
            number = None
        try:
            return await asyncio.to_thread(identify, self.care(), call, number,
                                           self.settings.country)  # fmt: skip
        except Exception as exc:  # the caller is served even when we cannot tell who
            log.error("audiosocket: caller lookup failed: %s", type(exc).__name__)
            return Caller(sender=number or f"as-{call.hex}")

    @staticmethod
    async def _close(line: AudioSocketLine, hang_up: bool) -> None:
        writer = line.writer
        try:
            if hang_up and not writer.is_closing():
                writer.write(wire.hangup())  # Asterisk ends the channel on it
            writer.close()
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass
