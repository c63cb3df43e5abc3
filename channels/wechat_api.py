"""WeChat's HTTP API: access token, customer-service messages, the custom menu, media
(voice messages downloaded, voice replies uploaded).

The access token is shared by every process through ``care.channels`` (the database):
fetched once, reused until five minutes before it expires, and fetched again once when
WeChat says it is invalid or expired (errcode 40001 / 42001 / 40014).
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import timedelta
from typing import Any, Optional

import aiohttp

from care.channel_store import ChannelStore
from channels.config import WeChatSettings
from channels.wechat_xml import pack

log = logging.getLogger(__name__)

TOKEN_ERRORS = {40001, 40014, 42001}  # invalid, malformed, expired access token
TIMEOUT = aiohttp.ClientTimeout(total=10)

# The account's custom menu: at most 3 top-level buttons of 4 characters, 5 under each.
MENU: dict[str, Any] = {
    "button": [
        {"type": "click", "name": "订餐", "key": "BOOK_MEAL"},
        {
            "name": "预约",
            "sub_button": [
                {"type": "click", "name": "日托", "key": "BOOK_DAY_CARE"},
                {"type": "click", "name": "看病", "key": "BOOK_CLINIC"},
                {"type": "click", "name": "陪我聊聊", "key": "COMPANION_CALL"},
            ],
        },
        {"type": "click", "name": "我的预约", "key": "MY_BOOKINGS"},
    ]
}


class WeChatAPIError(Exception):
    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"WeChat API error {errcode}: {errmsg}")
        self.errcode = errcode


class WeChatAPI:
    def __init__(self, settings: WeChatSettings, store: ChannelStore) -> None:
        self.settings = settings
        self.store = store
        self._session: Optional[aiohttp.ClientSession] = None
        self._token_lock = asyncio.Lock()

    @property
    def token_name(self) -> str:
        return f"wechat:{self.settings.app_id}"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    # Access token ---------------------------------------------------------------

    async def access_token(self, refresh: bool = False) -> str:
        if not refresh:
            cached = await asyncio.to_thread(self.store.token, self.token_name)
            if cached:
                return cached
        async with self._token_lock:
            if not refresh:  # another task may have fetched it while we waited
                cached = await asyncio.to_thread(self.store.token, self.token_name)
                if cached:
                    return cached
            params = {
                "grant_type": "client_credential",
                "appid": self.settings.app_id,
                "secret": self.settings.app_secret,
            }
            async with self._http().get(self._url("/cgi-bin/token"), params=params) as resp:
                data = await _json(resp)
            if "access_token" not in data:
                raise WeChatAPIError(int(data.get("errcode", -1)), str(data.get("errmsg", "")))
            token = str(data["access_token"])
            expires_in = int(data.get("expires_in", 7200))
            expires_at = self.store.clock() + timedelta(seconds=expires_in)
            await asyncio.to_thread(self.store.save_token, self.token_name, token, expires_at)
            log.info("fetched a WeChat access token, valid %d s", expires_in)
            return token

    async def call(self, path: str, payload: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        """POST (or GET without payload) with the access token; one refetch on a stale token."""
        for attempt in (0, 1):
            token = await self.access_token(refresh=attempt == 1)
            url = self._url(path)
            params = {"access_token": token}
            if payload is None:
                request = self._http().get(url, params=params)
            else:
                body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
                headers = {"Content-Type": "application/json; charset=utf-8"}
                request = self._http().post(url, params=params, data=body, headers=headers)
            async with request as resp:
                data = await _json(resp)
            errcode = int(data.get("errcode", 0) or 0)
            if errcode in TOKEN_ERRORS and attempt == 0:
                log.info("WeChat refused the access token (%d); fetching a new one", errcode)
                continue
            if errcode:
                raise WeChatAPIError(errcode, str(data.get("errmsg", "")))
            return data
        raise AssertionError("unreachable")

    # Messages, menu, media ------------------------------------------------------

    async def send_text(self, openid: str, text: str) -> int:
        """A customer-service text message, split to WeChat's limit; returns messages sent."""
        pieces = pack([text])
        for piece in pieces:
            await self.call(
                "/cgi-bin/message/custom/send",
                {"touser": openid, "msgtype": "text", "text": {"content": piece}},
            )
        return len(pieces)

    async def create_menu(self, menu: Optional[dict[str, Any]] = None) -> None:
        await self.call("/cgi-bin/menu/create", menu or MENU)

    async def download_media(self, media_id: str) -> bytes:
        """A voice/image the person sent (temporary media, kept 3 days by WeChat)."""
        for attempt in (0, 1):
            token = await self.access_token(refresh=attempt == 1)
            params = {"access_token": token, "media_id": media_id}
            async with self._http().get(self._url("/cgi-bin/media/get"), params=params) as resp:
                if resp.content_type in ("application/json", "text/plain"):
                    data = await _json(resp)
                    errcode = int(data.get("errcode", -1))
                    if errcode in TOKEN_ERRORS and attempt == 0:
                        continue
                    raise WeChatAPIError(errcode, str(data.get("errmsg", "")))
                return await resp.read()
        raise AssertionError("unreachable")

    async def upload_voice(self, amr: bytes) -> str:
        """A voice reply as temporary media (kept 3 days); its media_id for a message."""
        for attempt in (0, 1):
            token = await self.access_token(refresh=attempt == 1)
            params = {"access_token": token, "type": "voice"}
            form = aiohttp.FormData()
            # WeChat reads the format from the file name: voice is AMR or MP3, ≤ 2 MB, ≤ 60 s.
            form.add_field("media", amr, filename="reply.amr", content_type="audio/amr")
            url = self._url("/cgi-bin/media/upload")
            async with self._http().post(url, params=params, data=form) as resp:
                data = await _json(resp)
            errcode = int(data.get("errcode", 0) or 0)
            if errcode in TOKEN_ERRORS and attempt == 0:
                continue
            if errcode or not data.get("media_id"):
                raise WeChatAPIError(errcode or -1, str(data.get("errmsg", "no media_id")))
            return str(data["media_id"])
        raise AssertionError("unreachable")

    async def send_voice(self, openid: str, media_id: str) -> None:
        """A customer-service voice message: uploaded media the person can play."""
        await self.call(
            "/cgi-bin/message/custom/send",
            {"touser": openid, "msgtype": "voice", "voice": {"media_id": media_id}},
        )

    def _url(self, path: str) -> str:
        return f"{self.settings.api_base}{path}"


async def _json(resp: aiohttp.ClientResponse) -> dict[str, Any]:
    if resp.status != 200:
        raise WeChatAPIError(-resp.status, f"HTTP {resp.status}")
    try:
        data = json.loads(await resp.read())
    except ValueError:
        raise WeChatAPIError(-1, "not JSON") from None
    if not isinstance(data, dict):
        raise WeChatAPIError(-1, "not a JSON object")
    return data


def create_menu_now(settings: WeChatSettings, store: ChannelStore) -> None:
    """``anxin wechat menu``: create the custom menu, synchronously."""

    async def run() -> None:
        api = WeChatAPI(settings, store)
        try:
            await api.create_menu()
        finally:
            await api.close()

    asyncio.run(run())
