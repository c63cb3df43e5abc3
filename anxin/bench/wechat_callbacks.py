"""WeChat's server on loopback, calling our webhook: signed callbacks, read replies.

``WeChatClient`` posts callbacks the way WeChat's server does: XML signed with the
token and, in safe mode, encrypted with wechatpy's ``WeChatCrypto``; it decrypts the
passive reply. ``text_xml``, ``event_xml`` and ``voice_xml`` build the messages. The
credentials here are the bench's; WeChat's API side is anxin/bench/wechat_fake.py.
"""

from __future__ import annotations

import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Optional
from urllib.parse import urlencode

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

TOKEN = "anxin-bench-token"
APP_ID = "wx00bench00anxin0"
SECRET = "anxin-bench-secret"
AES_KEY = "AnxinBenchAesKey0123456789abcdefghijklmnopq"  # 43 characters, as WeChat issues
ACCOUNT = "gh_anxin_bench"
SUCCESS = "success"


def signed(token: str = TOKEN, timestamp: Optional[str] = None, nonce: str = "") -> dict:
    """The query arguments that sign a callback: signature, timestamp, nonce."""
    timestamp, nonce = timestamp or str(int(time.time())), nonce or secrets.token_hex(5)
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}


def _head(openid: str, kind: str, create_time: Optional[int], account: str) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{account}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time()) if create_time is None else create_time}</CreateTime>"
        f"<MsgType><![CDATA[{kind}]]></MsgType>"
    )


def text_xml(
    openid: str,
    content: str,
    msg_id: int,
    create_time: Optional[int] = None,
    account: str = ACCOUNT,
) -> str:
    return (
        _head(openid, "text", create_time, account)
        + f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(
    openid: str, event: str, create_time: int, key: str = "", account: str = ACCOUNT
) -> str:
    return (
        _head(openid, "event", create_time, account)
        + f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


def voice_xml(
    openid: str,
    media_id: str,
    msg_id: int,
    fmt: str = "amr",
    recognition: str = "",
    create_time: Optional[int] = None,
    account: str = ACCOUNT,
) -> str:
    """A voice message; ``recognition`` is WeChat's own transcript, when the account has it."""
    heard = f"<Recognition><![CDATA[{recognition}]]></Recognition>" if recognition else ""
    return (
        _head(openid, "voice", create_time, account)
        + f"<MediaId><![CDATA[{media_id}]]></MediaId><Format><![CDATA[{fmt}]]></Format>"
        + f"{heard}<MsgId>{msg_id}</MsgId></xml>"
    )


@dataclass(frozen=True)
class Ack:
    """WeChat's view of one callback: status, the passive reply's text ("" for `success`)."""

    status: int
    passive: str
    seconds: float  # from sending the request until the whole response was read
    error: str = ""

    @property
    def success(self) -> bool:
        """``success``: received, the answer comes through the customer-service API."""
        return self.status == 200 and not self.passive and not self.error


class WeChatClient:
    """Posts callbacks to our webhook the way WeChat's server does (thread-safe)."""

    def __init__(
        self,
        url: str,
        token: str = TOKEN,
        app_id: str = APP_ID,
        aes_key: Optional[str] = AES_KEY,
        account: str = ACCOUNT,
    ) -> None:
        self.url, self.token, self.account = url, token, account
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    def signed(self) -> dict[str, str]:
        return signed(self.token)

    def wrap(self, xml: str, args: dict[str, str]) -> tuple[dict[str, str], bytes]:
        """The query arguments and body WeChat posts for ``xml`` (encrypted in safe mode)."""
        args = dict(args)
        if self.crypto is not None:
            envelope = xmltodict.parse(
                self.crypto.encrypt_message(xml, args["nonce"], args["timestamp"])
            )["xml"]
            # WeChat posts <ToUserName> + <Encrypt>; the signatures are in the query string.
            xml = (
                f"<xml><ToUserName><![CDATA[{self.account}]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
            )
            args.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
        return args, xml.encode("utf-8")

    def callback(self, openid: str, text: str, msg_id: int) -> tuple[dict[str, str], bytes]:
        """The query arguments and body WeChat's server posts for a text message."""
        return self.wrap(text_xml(openid, text, msg_id, account=self.account), self.signed())

    def raw(self, body: bytes, args: dict[str, str], timeout: float = 30) -> tuple[int, str, float]:
        """Post ``body`` as it is: (status, response text, seconds until it was read)."""
        req = urllib.request.Request(f"{self.url}?{urlencode(args)}", data=body, method="POST")
        req.add_header("Content-Type", "text/xml")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, text = resp.status, resp.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read().decode("utf-8", "replace")
        return status, text, time.perf_counter() - started

    def post(
        self, xml: str, args: Optional[dict[str, str]] = None, timeout: float = 30
    ) -> tuple[int, str, float]:
        """Post a callback: (status, the reply's XML decrypted, or `success`, seconds)."""
        args, body = self.wrap(xml, args or self.signed())
        status, reply, took = self.raw(body, args, timeout)
        if self.crypto is not None and status == 200 and reply.strip() not in ("", SUCCESS):
            reply = self._decrypt(reply)
        return status, reply, took

    def send_text(self, openid: str, text: str, msg_id: int, timeout: float = 30) -> Ack:
        """Post one text message; the clock runs from sending to the last byte of the reply."""
        args, body = self.callback(openid, text, msg_id)
        started = time.perf_counter()
        try:
            status, reply, seconds = self.raw(body, args, timeout)
        except OSError as exc:
            return Ack(0, "", time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        if status != 200:
            return Ack(status, "", seconds, f"HTTP {status}")
        try:
            return Ack(status, self.reply_text(reply), seconds)
        except Exception as exc:  # noqa: BLE001 - a reply WeChat could not read is reported
            return Ack(status, "", seconds, f"unreadable reply: {type(exc).__name__}: {exc}")

    def reply_text(self, body: str) -> str:
        """The text of a passive reply ("" for `success`), decrypted in safe mode."""
        if body.strip() in ("", SUCCESS):
            return ""
        reply = xmltodict.parse(self._decrypt(body) if self.crypto is not None else body)["xml"]
        if reply.get("MsgType") != "text" or not reply.get("Content"):
            raise ValueError(f"not a text reply: {reply.get('MsgType')!r}")
        return str(reply["Content"])

    def _decrypt(self, body: str) -> str:
        assert self.crypto is not None
        doc = xmltodict.parse(body)["xml"]
        return str(
            self.crypto.decrypt_message(doc, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"])
        )
