"""WeChat's side for the tests: the bench's fakes (anxin/bench/wechat_fake.py) with the
tests' own credentials, a voice message WeChat still holds, and fixed timestamps.

``FakeWeChatAPI`` is WeChat's API on loopback (token, customer-service text and voice,
menus, media get and multipart upload, failures on demand). ``WeChatServer`` calls our
webhook the way WeChat's server does: signed, and in safe mode encrypted.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from typing import Optional

from anxin.bench import wechat_fake as bench
from anxin.bench.wechat_fake import Upload  # noqa: F401 - the tests' name for it too

TOKEN = "anxin-test-token"
APP_ID = "wx0123456789abcdef"
SECRET = "s3cret-app-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues
ACCOUNT = "gh_anxin_account"
MEDIA = {"media-voice-1": b"#!AMR\n fake amr bytes"}
CREATED = 1_700_000_000  # a fixed CreateTime: the XML tests look for it


class FakeWeChatAPI(bench.FakeWeChatAPI):
    def __init__(self) -> None:
        super().__init__(APP_ID, SECRET, media=MEDIA)
        self._held: dict[str, threading.Event] = {}
        self.asked: list[str] = []  # media_ids asked for, held ones too, when first asked

    def hold(self, media_id: str) -> threading.Event:
        """Keep the download of ``media_id`` waiting (a slow network) until the event is
        set, at most two minutes: the channel is then mid-way through the message."""
        gate = self._held[media_id] = threading.Event()
        return gate

    def _download(self, req: BaseHTTPRequestHandler, media_id: str) -> None:
        self.asked.append(media_id)
        gate = self._held.get(media_id)
        if gate is not None:
            gate.wait(120)
        try:
            super()._download(req, media_id)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the asker is gone (its process was killed while it waited)


class WeChatServer(bench.WeChatClient):
    """Calls our webhook the way WeChat does, plaintext or in safe mode; ``post`` gives
    (status, the decrypted reply body, seconds taken), ``raw`` posts a body as it is."""

    def __init__(self, url: str, safe: bool = False, app_id: str = APP_ID) -> None:
        super().__init__(url, TOKEN, app_id, AES_KEY if safe else None, ACCOUNT)

    def signed(self) -> dict[str, str]:
        # Signed on the real clock, as WeChat's servers sign: the replay window
        # (channels/wechat_xml.py) reads the real clock too, whatever the stack's is pinned to.
        return signed()


def signed(token: str = TOKEN, timestamp: Optional[str] = None, nonce: str = "") -> dict:
    """Signed query arguments: now, and a fresh nonce unless one is given (as WeChat
    does: a nonce signs one message, care/nonces.py)."""
    return bench.signed(token, timestamp, nonce)


def text_xml(openid: str, content: str, msg_id: int, create_time: int = CREATED) -> str:
    return bench.text_xml(openid, content, msg_id, create_time, ACCOUNT)


def event_xml(openid: str, event: str, create_time: int, key: str = "") -> str:
    return bench.event_xml(openid, event, create_time, key, ACCOUNT)


def voice_xml(
    openid: str,
    media_id: str,
    msg_id: int,
    fmt: str = "amr",
    recognition: str = "",
    create_time: int = CREATED,
) -> str:
    """A voice message; ``recognition`` is WeChat's own transcript, when the account has it."""
    return bench.voice_xml(openid, media_id, msg_id, fmt, recognition, create_time, ACCOUNT)
