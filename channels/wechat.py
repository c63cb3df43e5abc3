"""The WeChat official account as a Rasa input channel: ``/webhooks/wechat/webhook``.

Registered by ``anxin run`` when ANXIN_WECHAT_TOKEN is set (channels.config). The
request path lives in ``channels.wechat_core``, the background delivery in
``channels.wechat_background``, voice in ``channels.wechat_voice``; this module
is the Sanic glue: routes, start and stop, and what the core asks of Rasa (is the
action server up, which language does this person speak).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Optional
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from care.recordings import Recorder
from care.senders import sender_id
from channels.common import body_too_large, care_services
from channels.config import WeChatSettings
from channels.voice_engines import shared_engines
from channels.wechat_api import WeChatAPI
from channels.wechat_core import WeChatCore
from channels.wechat_voice import WeChatVoice

log = logging.getLogger(__name__)


class WeChatInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[str, Any]]) -> InputChannel:
        settings = WeChatSettings.from_env()
        if settings is None:
            raise SystemExit("channels.wechat.WeChatInput needs ANXIN_WECHAT_TOKEN")
        return cls(settings)

    def __init__(self, settings: WeChatSettings) -> None:
        care = care_services()
        self.settings = settings
        api = WeChatAPI(settings, care.channels)
        # The process's one set of voice engines (its Whisper model is the voice channel's).
        voice = WeChatVoice(api, shared_engines(), Recorder(care.db, clock=care.clock))
        self.core = WeChatCore(settings, care, api, voice=voice)
        self._app: Any = None
        self._background: Optional[asyncio.Task[Any]] = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("wechat_webhook", __name__)
        self.core.handler = on_new_message
        self.core.assistant_up = self._action_server_up
        self.core.language_of = self._language_of
        self.core.known_language = self._known_language

        @bp.listener("after_server_start")
        async def start(app: Any, _: Any) -> None:
            self._app = app
            self._background = asyncio.ensure_future(self.core.run_forever())

        @bp.listener("before_server_stop")
        async def stop(app: Any, _: Any) -> None:
            if self._background is not None:
                self._background.cancel()
            await self.core.close()

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            reply = await self.core.verify(_args(request))
            return response.text(reply.body, status=reply.status)

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            self._app = request.app
            if body_too_large(request):
                return response.text("", status=413)
            reply = await self.core.receive(_args(request), request.body or b"")
            return response.text(reply.body, status=reply.status, content_type=reply.content_type)

        return bp

    async def _action_server_up(self) -> bool:
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        if agent is None or not agent.is_ready():
            return False
        endpoint = getattr(agent, "action_endpoint", None)
        if endpoint is None or not endpoint.url:
            return True  # no custom actions configured: nothing to wait for
        parts = urlsplit(endpoint.url)
        health = urlunsplit((parts.scheme, parts.netloc, "/health", "", ""))
        try:
            timeout = aiohttp.ClientTimeout(total=1)
            async with aiohttp.ClientSession(timeout=timeout) as http:
                async with http.get(health) as resp:
                    return resp.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return False

    async def _language_of(self, openid: str) -> str:
        """The conversation's language, else the person's, else Chinese."""
        return await self._known_language(openid) or "zh"

    async def _known_language(self, openid: str) -> Optional[str]:
        """The conversation's language, else the person's; None for someone new."""
        agent = getattr(getattr(self._app, "ctx", None), "agent", None)
        try:
            if agent is not None and agent.tracker_store is not None:
                tracker = await agent.tracker_store.retrieve(sender_id("wechat", openid))
                if tracker is not None and tracker.get_slot("language") in ("zh", "en"):
                    # A new conversation's slot is the initial "zh": only trust it after a turn.
                    if tracker.latest_message and tracker.latest_message.text:
                        return str(tracker.get_slot("language"))
            people = self.core.care.people
            person = await asyncio.to_thread(people.find_by_identity, "wechat", openid)
            if person is not None and person.preferred_language:
                return str(person.preferred_language)
        except Exception as exc:  # a language is never worth failing an answer for
            log.info("no language for a WeChat user: %r", exc)
        return None


def _args(request: Request) -> dict[str, str]:
    """The query string as single values (WeChat never repeats a parameter)."""
    return {key: request.args.get(key) or "" for key in request.args}
