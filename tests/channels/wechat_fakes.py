"""WeChat's side for the tests: the bench's fakes (anxin/bench/wechat_fake.py) with the
tests' own credentials, a voice message WeChat still holds, and fixed timestamps.

``FakeWeChatAPI`` is WeChat's API on loopback (token, customer-service text and voice,
menus, media get and multipart upload, failures on demand). ``WeChatServer`` calls our
webhook the way WeChat's server does: signed, and in safe mode encrypted.
"""

from __future__ import annotations

from typing import Optional

from anxin.bench import wechat_fake as bench
from anxin.bench.wechat_fake import Upload  # noqa: F401 - the tests' name for it too
from care.clock import Clock

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


class WeChatServer(bench.WeChatClient):
    """Calls our webhook the way WeChat does, plaintext or in safe mode; ``post`` gives
    (status, the decrypted reply body, seconds taken), ``raw`` posts a body as it is."""

    def __init__(
        self, url: str, safe: bool = False, app_id: str = APP_ID, clock: Optional[Clock] = None
    ) -> None:
        super().__init__(url, TOKEN, app_id, AES_KEY if safe else None, ACCOUNT)
        self.clock = clock

    def signed(self) -> dict[str, str]:
        # Signed at the stack's time (its clock is pinned): a signature's age is its business.
        at = None if self.clock is None else str(int(self.clock().timestamp()))
        return signed(timestamp=at)


def signed(token: str = TOKEN, timestamp: Optional[str] = None, nonce: str = "n0nce") -> dict:
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
