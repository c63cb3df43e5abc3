"""``anxin telegram poll``: Telegram without a public HTTPS address.

A relay, not a second bot: it long-polls ``getUpdates`` and posts each update, exactly
as Telegram sent it, to the running assistant's own webhook route
(``/webhooks/telegram/webhook``, with the secret header). So polling and webhooks share
every handler, the ``update_id`` deduplication, the inbox and the outbox, which all live
in the Rasa process (started by ``anxin run`` with ``ANXIN_TELEGRAM_TOKEN`` set).

An update is confirmed to Telegram (the next ``offset``) only after the assistant took it
(2xx) or refused it for good (4xx): while Rasa is down, Telegram keeps the updates and the
relay tries again, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

import httpx
from telegram import Bot
from telegram.error import TelegramError

from channels.config import TelegramSettings

log = logging.getLogger(__name__)

ROUTE = "/webhooks/telegram/webhook"
ALLOWED = ["message", "edited_message", "callback_query"]


class Relay:
    def __init__(self, settings: TelegramSettings, rasa_url: str, long_poll_s: int = 30) -> None:
        self.settings = settings
        self.rasa_url = rasa_url.rstrip("/")
        self.long_poll_s = long_poll_s
        self.bot = Bot(settings.bot_token, base_url=settings.api_base,
                       base_file_url=settings.file_base)  # fmt: skip
        self.offset: Optional[int] = None
        self.relayed = 0

    async def check_assistant(self, http: httpx.AsyncClient) -> None:
        """The Rasa server must serve the Telegram channel, or every update would be lost."""
        reply = await http.get(f"{self.rasa_url}/webhooks/telegram/")
        if reply.status_code == 404:
            raise SystemExit(
                f"anxin: {self.rasa_url} has no Telegram channel: "
                "start `anxin run` with ANXIN_TELEGRAM_TOKEN set"
            )

    async def run(self, stop: Optional[asyncio.Event] = None) -> None:
        stop = stop or asyncio.Event()
        async with self.bot, httpx.AsyncClient(timeout=30) as http:
            while True:  # the assistant may still be starting
                try:
                    await self.check_assistant(http)
                    break
                except httpx.HTTPError:
                    log.warning("telegram poll: the assistant at %s is not up yet", self.rasa_url)
                    await asyncio.sleep(2)
            # getUpdates and a webhook exclude each other: polling replaces the webhook.
            await self.bot.delete_webhook()
            while not stop.is_set():
                await self.once(http, stop)

    async def once(self, http: httpx.AsyncClient, stop: asyncio.Event) -> None:
        try:
            updates = await self.bot.do_api_request(
                "getUpdates",
                api_kwargs={
                    "offset": self.offset,
                    "timeout": self.long_poll_s,
                    "allowed_updates": ALLOWED,
                },
                read_timeout=self.long_poll_s + 10,
            )
        except TelegramError as exc:
            log.warning("telegram poll: getUpdates failed: %s", type(exc).__name__)
            await asyncio.sleep(2)
            return
        for update in updates or []:
            await self._relay(http, update, stop)
            if stop.is_set():
                return
            self.offset = int(update["update_id"]) + 1

    async def _relay(self, http: httpx.AsyncClient, update: dict[str, Any], stop: asyncio.Event):
        headers = {}
        if self.settings.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.settings.webhook_secret
        delay = 1.0
        while not stop.is_set():
            try:
                reply = await http.post(self.rasa_url + ROUTE, json=update, headers=headers)
                if reply.status_code < 300:
                    self.relayed += 1
                    return
                if reply.status_code < 500:
                    log.warning("telegram poll: update %s refused (%d)", update.get("update_id"),
                                reply.status_code)  # fmt: skip
                    return
            except httpx.HTTPError as exc:
                log.warning("telegram poll: assistant unreachable: %s", type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)


def poll(rasa_url: str, long_poll_s: int = 30) -> int:
    settings = TelegramSettings.from_env()
    if settings is None:
        print("anxin: set ANXIN_TELEGRAM_TOKEN (and the same environment as `anxin run`)")
        return 2
    relay = Relay(settings, rasa_url, long_poll_s)
    print(f"anxin: relaying Telegram updates to {relay.rasa_url}{ROUTE}; Ctrl-C stops", flush=True)
    try:
        asyncio.run(relay.run())
    except KeyboardInterrupt:
        pass
    return 0
