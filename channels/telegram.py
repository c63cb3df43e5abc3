"""Telegram as a Rasa input channel (``channels.telegram.TelegramInput``).

``POST /webhooks/telegram/webhook``: Telegram's updates, in this order —
secret header (403; compared in constant time; with no ``ANXIN_TELEGRAM_SECRET``
only this machine is answered — ``anxin telegram poll`` — and others get 403) →
size (413) → a JSON object with an ``update_id`` (400) → the types
Telegram's own have and ``Update.de_json`` (channels/telegram_update.py; an update that
fails is acknowledged with 200 and dropped, logged by its id and counted in ``GET
/webhooks/telegram``'s ``unusable``: redelivered, it would fail again) → the update taken
into the inbox with its ``update_id`` receipt, in one transaction (seen before: 200,
nothing more; the database down: 503, and Telegram redelivers) → 200, and the update goes
to the embedded python-telegram-bot ``Application`` in the background, one chat's
updates in the order they came. Telegram never redelivers what got a 200, so the update
is durable before the 200 and its row is leased while it is processed: if this process
dies, another round answers it (channels/telegram_inbox.py). The responses carry no detail.

Voice notes are heard with the process's one set of voice engines (the phone channel's
Whisper model) and answered in text and aloud (channels/telegram_voice.py).

Background tasks of the Rasa process: the application is initialised (``getMe``) and
started; held messages, and updates whose process died, are retried; the outbox is
delivered (channels/telegram_turns.py).

``anxin telegram poll`` (channels/telegram_poll.py) fetches updates with ``getUpdates``
and posts them to this same route, so webhook and polling share every handler.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.ext import Application

from care.errors import DatabaseUnavailable
from care.recordings import Recorder
from care.services import CareServices
from channels.caller_auth import is_loopback
from channels.common import care_services
from channels.config import TelegramSettings
from channels.limits import too_large
from channels.telegram_bot import Handlers, build_application
from channels.telegram_inbox import ANSWERED_KEPT, TURN_LEASE_S, Inbox
from channels.telegram_render import BadUpdate, parse_update, secret_ok
from channels.telegram_turns import CHANNEL, Assistant, Sender, Turns
from channels.telegram_update import unusable
from channels.telegram_voice import VoiceNotes
from channels.voice_engines import shared_engines

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
RECEIPTS_KEPT = timedelta(days=2)  # Telegram stops redelivering after a day
SET_ASIDE_KEPT = timedelta(days=30)  # messages set aside after a crash, for staff to look into


@dataclass(frozen=True)
class Timing:
    """How often the background work runs (seconds); tests make them short."""

    retry_s: float = 10.0
    outbox_s: float = 2.0
    health_timeout_s: float = 2.0
    lease_s: float = TURN_LEASE_S  # an update's hold on its inbox row while it is processed

    @classmethod
    def from_env(cls) -> Timing:
        env = os.environ
        return cls(
            retry_s=float(env.get("ANXIN_TELEGRAM_RETRY_S", cls.retry_s)),
            outbox_s=float(env.get("ANXIN_TELEGRAM_OUTBOX_S", cls.outbox_s)),
            lease_s=float(env.get("ANXIN_TELEGRAM_LEASE_S", cls.lease_s)),
        )


def chat_of(data: dict[str, Any]) -> str:
    """The chat an update belongs to, for ordering and its inbox row; "" when it has none
    (or an id that is no chat id: only integers, so the row's column always takes it)."""
    for key in ("message", "edited_message", "callback_query"):
        part = data.get(key)
        if isinstance(part, dict):
            message = part.get("message", part) if key == "callback_query" else part
            chat = message.get("chat") if isinstance(message, dict) else None
            if isinstance(chat, dict):
                chat_id = chat.get("id")
                if isinstance(chat_id, int) and not isinstance(chat_id, bool):
                    return str(chat_id)
    return ""


class Webhook:
    """The webhook's door and dispatch, apart from Sanic so it can be fuzzed directly."""

    def __init__(
        self,
        settings: TelegramSettings,
        care: CareServices,
        application: Application,
        inbox: Optional[Inbox] = None,
    ) -> None:
        self.settings = settings
        self.care = care
        self.application = application
        self.inbox = inbox or Inbox(care.channels, application)
        self.ready = False  # the application is initialised (it knows its bot)
        self.unusable = 0  # updates acknowledged and dropped: they can never be used
        self._chains: dict[str, asyncio.Task[None]] = {}

    async def receive(
        self, secret: Optional[str], declared_length: Optional[str], body: bytes
    ) -> tuple[int, dict[str, Any]]:
        if not secret_ok(self.settings.webhook_secret, secret):
            return 403, {"ok": False, "error": "forbidden"}
        if too_large(declared_length, body):
            return 413, {"ok": False, "error": "too large"}
        try:
            data = parse_update(body)
        except BadUpdate:
            return 400, {"ok": False, "error": "not an update"}
        problem = unusable(data)
        update = None
        if problem is None:
            try:
                update = Update.de_json(data, self.application.bot)
            except Exception:
                problem = "not readable as an update"
        if problem is not None:
            # Telegram redelivers what gets no 2xx, and this would never succeed.
            self.unusable += 1
            log.warning("telegram: update %s acknowledged and dropped: %s", data["update_id"],
                        problem)  # fmt: skip
            return 200, {"ok": True}
        if not self.ready or update is None:
            return 503, {"ok": False, "error": "starting"}  # Telegram will redeliver
        chat = chat_of(data)
        try:
            # Durable before the 200: the receipt and the inbox row in one transaction;
            # its work marked begun there too unless it waits behind the chat's updates.
            taken = self.inbox.take(data, chat, working=chat not in self._chains)
        except (DatabaseUnavailable, SQLAlchemyError):
            log.warning("telegram: database unavailable; Telegram will redeliver")
            return 503, {"ok": False, "error": "unavailable"}
        if taken is not None:
            self._dispatch(chat, update)
        return 200, {"ok": True}

    def _dispatch(self, chat: str, update: Update) -> None:
        """Process in the background, after the same chat's earlier updates."""
        before = self._chains.get(chat)

        async def in_order() -> None:
            if before is not None:
                await asyncio.gather(before, return_exceptions=True)
                # Its work begins now: marked first, so that a crash from here sets it
                # aside, while a crash before (it was only waiting) replays it.
                if not self.inbox.begin(update.update_id):
                    return
            await self.application.process_update(update)

        async def run() -> None:
            try:
                # Leased (and renewed) from now, while it waits behind the chat's earlier
                # updates too: no retry round elsewhere takes it meanwhile.
                await self.inbox.process(update.update_id, in_order())
            finally:
                if self._chains.get(chat) is task:
                    del self._chains[chat]

        task = asyncio.ensure_future(run())
        self._chains[chat] = task

    async def drain(self) -> None:
        chains = list(self._chains.values())
        if chains:
            await asyncio.gather(*chains, return_exceptions=True)


def serve(
    webhook: Webhook,
    on_new_message: Callable[[UserMessage], Awaitable[Any]],
    agent: Callable[[], Any],
    health_timeout_s: float = 2.0,
    voice: Optional[VoiceNotes] = None,
) -> Turns:
    """The turns behind a webhook, its handlers installed: Rasa's ``on_new_message``, and
    its agent (is the model loaded, where is the action server). One wiring for the Rasa
    process and for the tests that run the channel in a process of their own. Without
    ``voice``, voice notes get "please type"."""
    assistant = Assistant(on_new_message, agent, health_timeout_s)
    sender = Sender(webhook.application.bot)
    turns = Turns(assistant, sender, webhook.care, webhook.inbox, voice)
    Handlers(turns, voice).install(webhook.application)
    return turns


class TelegramInput(InputChannel):
    """Rasa builds it from ``var/credentials.yml``; its settings come from the environment."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> TelegramInput:
        settings = TelegramSettings.from_env()
        if settings is None:
            raise RasaException("channels.telegram.TelegramInput needs ANXIN_TELEGRAM_TOKEN")
        # httpx logs every request's URL at INFO, and a Bot API URL carries the bot token.
        logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
        # The phone channel's engines: one Whisper model in this process, not two.
        care = care_services()
        voice = VoiceNotes(shared_engines(), recorder=Recorder(care.db, clock=care.clock))
        return cls(settings, care, Timing.from_env(), voice)

    def __init__(
        self,
        settings: TelegramSettings,
        care: CareServices,
        timing: Timing,
        voice: Optional[VoiceNotes] = None,
    ) -> None:
        self.settings = settings
        self.care = care
        self.timing = timing
        self.voice = voice
        self.application = build_application(settings)
        inbox = Inbox(care.channels, self.application, timing.lease_s)
        self.webhook = Webhook(settings, care, self.application, inbox)
        self.turns: Optional[Turns] = None
        self._tasks: list[asyncio.Task[None]] = []

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("telegram_webhook", __name__)
        holder: dict[str, Any] = {}
        self.turns = serve(
            self.webhook,
            on_new_message,
            lambda: getattr(holder["app"].ctx, "agent", None) if "app" in holder else None,
            self.timing.health_timeout_s,
            self.voice,
        )

        @bp.listener("after_server_start")
        async def started(app: Any, loop: Any) -> None:
            holder["app"] = app
            self._tasks = [asyncio.ensure_future(self._background())]

        @bp.listener("before_server_stop")
        async def stopping(app: Any, loop: Any) -> None:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.webhook.drain()
            if self.application.running:
                await self.application.stop()
            if self.webhook.ready:
                await self.application.shutdown()

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok", "ready": self.webhook.ready,
                                  "unusable": self.webhook.unusable})  # fmt: skip

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self.settings.webhook_secret and not is_loopback(request.ip):
                # Without the secret nothing proves Telegram sent it: only the relay here.
                return response.json({"ok": False, "error": "forbidden"}, status=403)
            try:
                status, body = await self.webhook.receive(
                    request.headers.get(SECRET_HEADER),
                    request.headers.get("content-length"),
                    request.body or b"",
                )
            except Exception as exc:
                log.error("telegram: webhook failed: %s", type(exc).__name__)
                status, body = 500, {"ok": False, "error": "internal"}
            return response.json(body, status=status)

        return bp

    async def _background(self) -> None:
        """Start the application (retrying until the Bot API answers), then keep working."""
        delay = 1.0
        while not self.webhook.ready:
            try:
                await self.application.initialize()
                await self.application.start()
                self.webhook.ready = True
                log.info("telegram: ready")
            except Exception as exc:
                log.warning("telegram: Bot API not reachable yet: %s", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
        assert self.turns is not None
        since_retry = since_sweep = 0.0
        while True:
            await asyncio.sleep(self.timing.outbox_s)
            since_retry += self.timing.outbox_s
            since_sweep += self.timing.outbox_s
            try:
                await self.turns.deliver_outbox()
                if since_retry >= self.timing.retry_s:
                    since_retry = 0.0
                    await self.turns.retry_held()
                if since_sweep >= 3600:
                    since_sweep = 0.0
                    self.care.channels.forget_receipts(RECEIPTS_KEPT)
                    self.care.channels.forget_answered(CHANNEL, ANSWERED_KEPT)
                    self.care.channels.forget_set_aside(CHANNEL, SET_ASIDE_KEPT)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("telegram: background work failed: %s", type(exc).__name__)
