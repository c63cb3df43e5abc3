"""Phone-style voice as a Rasa input channel (``channels.voice.VoiceInput``), always on.

``POST /webhooks/voice/turn``: one spoken turn as an audio file. In order —
verify (a sender id, header ``X-Anxin-Sender`` or ``?sender=``: 400; the body at most
10 MB by Content-Length and as read: 413) → decode (the format from Content-Type or
``?format=``, anything else 415; its header checked, then decoded to 16 kHz mono in a
decoder process with time and memory limits (voice/isolated.py): what cannot be decoded
is 415 with the reason as JSON, and never reaches this process's ffmpeg; over 60 s: 413;
no decoder free: 503) → parse
(silence: a gentle "I didn't hear you" in the caller's language, Rasa not asked;
otherwise the transcriber) → map (the transcript becomes the ``UserMessage``) → reply
(JSON: transcript, language, replies, the reply speech as base64 WAV, format).
A turn heard is kept for staff review (care.recordings: its transcript, and its audio
when the person consented) under the message id Rasa got, ``X-Anxin-Turn-Id`` or ours.
Staff replies waiting in a handed-off conversation (care/staff_replies.py) come first
in the next answer, each said as "A member of staff says: …", and also apart in
``staff_replies``.
After the greeting of a call, the care centre's pending notifications for the person
behind the sender (their ``voice`` identity: the number a registration resolved) are
said, "A message from the care centre: …" (care/notices.py, ``Conversations.notices``).

``/webhooks/voice/stream``: a call over a WebSocket (channels/voice_websocket.py, on the
call engine of channels/voice_call.py).

With ``ANXIN_AUDIOSOCKET_PORT`` set, the Asterisk AudioSocket bridge
(channels/audiosocket.py) starts and stops with the server, running its calls on the
same engine, and ``POST /webhooks/voice/audiosocket/calls`` takes the dialplan's
``UUID → caller number`` registrations (channels/audiosocket_callers.py).

The transcriber and synthesizer are built once, when Rasa builds the channel from
``var/credentials.yml`` (channels/voice_engines.py); the Whisper model is loaded by each
worker as it starts. Logs carry sizes and timings, never what was said.

The sender a caller gives is its id on the ``voice`` channel: Rasa gets
``voice:<sender>`` (care.senders), so no caller continues another channel's
conversation. The turn and stream routes need ``ANXIN_REST_TOKEN`` when it is set
(``Authorization: Bearer``, or ``?token=`` on the WebSocket), or a caller on this
machine when it is not (channels/caller_auth.py); the health check and the dialplan's
registration (its own secret) stay as they were.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from care.recordings import Recorder
from care.services import CareServices
from channels import audiosocket_callers as callers
from channels.audiosocket import AudioSocketServer
from channels.caller_auth import protect, token_from_env
from channels.common import body_too_large, care_services
from channels.config import AudioSocketSettings
from channels.voice_conversations import CHANNEL, Conversations, speak
from channels.voice_engines import Engines, format_of, shared_engines, wav_bytes
from channels.voice_session import SessionSettings, has_speech, phrase
from channels.voice_websocket import WebSocketCall
from voice.base import LANGUAGES, AudioError, AudioTooLarge, UnsupportedAudio

log = logging.getLogger(__name__)

MAX_AUDIO_BYTES = 10 * 1024 * 1024
SENDER = re.compile(r"^[A-Za-z0-9_.:@+\-]{1,64}$")  # a caller number or an app's user id


def _error(status: int, error: str) -> HTTPResponse:
    return response.json({"error": error}, status=status)


def _audio_error(exc: AudioError) -> HTTPResponse:
    """413 (too big or long), 415 (not audio we can decode, with the reason from its
    header check or decoder), 503 (no decoder free): never a trace."""
    if exc.status == UnsupportedAudio.status:
        return response.json(
            {"error": "audio not readable", "reason": str(exc),
             "accepted": "WAV (PCM, float, A-law, μ-law), MP3, OGG Opus/Vorbis, AMR"},
            status=exc.status,
        )  # fmt: skip
    return _error(exc.status, str(exc))


class VoiceInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> VoiceInput:
        return cls(shared_engines(), SessionSettings.from_env(), AudioSocketSettings.from_env(),
                   care_services())  # fmt: skip

    def __init__(
        self,
        engines: Engines,
        settings: SessionSettings = SessionSettings(),
        telephony: Optional[AudioSocketSettings] = None,
        care: Optional[CareServices] = None,  # None: turns not kept, no staff replies
    ) -> None:
        self.engines = engines
        self.care = care
        self.recorder = Recorder(care.db, clock=care.clock) if care is not None else None
        self.settings = settings
        self.telephony = telephony
        self.registry = (
            callers.registry_for(telephony.redis_url, telephony.redis_prefix)
            if telephony is not None
            else callers.CallerRegistry()
        )
        self.audiosocket: Optional[AudioSocketServer] = None
        self.calls = 0  # open WebSocket calls

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("voice_webhook", __name__)
        protect(bp, token_from_env(), open_handlers=("health", "register_call"))
        holder: dict[str, Any] = {}
        conversations = Conversations(
            on_new_message,
            lambda: getattr(holder["app"].ctx, "agent", None) if holder else None,
            self.care,
            self.recorder,
        )

        @bp.listener("before_server_start")
        async def in_this_process(app: Any, _: Any) -> None:
            # Each Rasa worker loads its own Whisper model (voice.stt), before it serves;
            # one loaded before Sanic forked the workers would hang in them.
            prepare = getattr(self.engines.transcriber, "prepare", None)
            if prepare is not None:
                try:
                    await asyncio.to_thread(prepare)
                except Exception as exc:  # as when voice.stt cannot start: no transcriber
                    log.error("voice: Whisper failed to load (%s)", type(exc).__name__)
                    self.engines.transcriber = None

        @bp.listener("after_server_start")
        async def started(app: Any, _: Any) -> None:
            holder["app"] = app
            # The audio decoder's processes start in this (Sanic worker) process, not
            # before its fork; in a thread, so the server answers meanwhile.
            holder["warm"] = asyncio.ensure_future(asyncio.to_thread(self.engines.warm))
            if self.telephony is not None:
                self.audiosocket = AudioSocketServer(
                    self.telephony,
                    self.engines,
                    conversations,
                    care_services,
                    self.settings,
                    self.registry,
                )
                if not await self.audiosocket.start():
                    self.audiosocket = None

        @bp.listener("before_server_stop")
        async def stopping(app: Any, _: Any) -> None:
            server, self.audiosocket = self.audiosocket, None
            if server is not None:
                await server.stop()
            await self.registry.close()
            await conversations.drain()  # turns heard last are still kept

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json(
                {
                    "status": "ok",
                    "transcriber": self.engines.transcriber is not None,
                    "synthesizer": self.engines.synthesizer is not None,
                    # open calls: a dropped line must not stay counted
                    "calls": self.calls + (self.audiosocket.calls if self.audiosocket else 0),
                    "audiosocket": self.audiosocket is not None,
                }
            )

        @bp.route("/audiosocket/calls", methods=["POST"])
        async def register_call(request: Request) -> HTTPResponse:
            return await self._register(request)

        @bp.route("/turn", methods=["POST"])
        async def turn(request: Request) -> HTTPResponse:
            holder.setdefault("app", request.app)
            try:
                return await self._turn(request, conversations)
            except Exception as exc:
                log.error("voice: turn failed: %s", type(exc).__name__)
                return _error(500, "internal")

        @bp.websocket("/stream")
        async def stream(request: Request, ws: Any) -> None:
            holder.setdefault("app", request.app)
            sender = request.args.get("sender") or request.headers.get("x-anxin-sender") or ""
            if not SENDER.match(sender):
                await ws.close(1008, "a sender id is needed")
                return
            hint = request.args.get("language")
            hint = hint if hint in LANGUAGES else None
            language = hint or await conversations.language(sender) or "zh"
            call = WebSocketCall(ws, sender, language, self.engines, conversations, self.settings,
                                 hint)  # fmt: skip
            self.calls += 1
            try:
                await call.run()
            finally:
                self.calls -= 1

        return bp

    async def _register(self, request: Request) -> HTTPResponse:
        """The dialplan tells us who is calling before it connects the call."""
        if body_too_large(request, callers.MAX_BODY):
            return _error(413, "registration over 4 KB")
        body, kind = request.body or b"", request.headers.get("content-type")
        secret = callers.secret_of(kind, body, request.headers.get("x-anxin-secret"))
        if not callers.secret_ok(secret, self.telephony.secret if self.telephony else None):
            return _error(403, "wrong or missing X-Anxin-Secret (ANXIN_AUDIOSOCKET_SECRET)")
        try:
            registration = callers.parse_registration(kind, body)
        except callers.BadRegistration as exc:
            return _error(400, str(exc))
        try:
            await self.registry.register(registration)
        except Exception as exc:  # Redis away: the call still goes on, as anonymous
            log.error("voice: caller registration not kept: %s", type(exc).__name__)
            return _error(503, "registration store unavailable")
        return response.json({"status": "registered"})

    async def _turn(self, request: Request, conversations: Conversations) -> HTTPResponse:
        # verify
        sender = request.headers.get("x-anxin-sender") or request.args.get("sender") or ""
        if not SENDER.match(sender):
            return _error(400, "a sender id is needed (X-Anxin-Sender or ?sender=)")
        if body_too_large(request, MAX_AUDIO_BYTES):
            return _error(413, "audio over 10 MB")
        body = request.body or b""
        if not body:
            return _error(400, "no audio")
        hint = request.args.get("language") or request.headers.get("x-anxin-language")
        hint = hint if hint in LANGUAGES else None
        # decode
        fmt = format_of(request.headers.get("content-type"), request.args.get("format"))
        if fmt is None:
            return _error(415, "send audio/wav, audio/mpeg, audio/ogg or audio/amr")
        try:
            audio = await asyncio.to_thread(self.engines.decode, body, fmt)
            if audio.seconds > self.settings.max_turn_s:
                raise AudioTooLarge("audio over 60 s")
        except AudioError as exc:
            return _audio_error(exc)
        # parse
        language = hint or await conversations.language(sender) or "zh"
        if not await asyncio.to_thread(has_speech, audio, self.settings):
            return await self._answer(conversations, sender, "", language,
                                      [phrase("not_heard", language)], no_speech=True)  # fmt: skip
        if self.engines.transcriber is None:
            return _error(503, "speech recognition is not installed")
        started = asyncio.get_running_loop().time()
        try:
            heard = await self.engines.transcriber.transcribe(audio, hint)
        except UnsupportedAudio:
            return _error(415, "audio not readable")
        took = asyncio.get_running_loop().time() - started
        log.info("voice: %.1f s of audio transcribed in %.2f s", audio.seconds, took)
        if heard.no_speech or not heard.text.strip():
            language = hint or heard.language or language
            return await self._answer(conversations, sender, "", language,
                                      [phrase("not_heard", language)], no_speech=True)  # fmt: skip
        # map
        metadata = {"voice": {"confidence": heard.confidence, "seconds": audio.seconds}}
        message_id = request.headers.get("x-anxin-turn-id")
        message_id = message_id if message_id and SENDER.match(message_id) else None
        answer = await conversations.turn(sender, heard.text, metadata, message_id)
        conversations.record(sender, answer.message_id, audio, heard.text, heard.language,
                             (body, fmt))  # fmt: skip
        # reply
        return await self._answer(conversations, sender, heard.text, heard.language,
                                  answer.replies)  # fmt: skip

    async def _answer(
        self, conversations: Conversations, sender: str, transcript: str, language: str,
        replies: list[str], no_speech: bool = False,
    ) -> HTTPResponse:  # fmt: skip
        # Staff wrote first, and a person's words matter more than the assistant's.
        staff = await conversations.staff_replies(sender, language)
        replies = staff + replies
        speech = await speak(self.engines, replies, language)
        audio = None
        if speech is not None:
            audio = base64.b64encode(await asyncio.to_thread(wav_bytes, speech)).decode()
        return response.json(
            {
                "transcript": transcript,
                "language": language,
                "replies": replies,
                "staff_replies": staff,
                "audio": audio,
                "format": "wav",
                "no_speech": no_speech,
            }
        )
