"""WeChat's side of ``anxin bench channels``, on loopback: its API and its server.

``FakeWeChatAPI`` serves the two calls the channel makes while answering messages
(``/cgi-bin/token`` and ``/cgi-bin/message/custom/send``) and records when each
customer-service message arrived. ``WeChatClient`` posts a text message to our
webhook as WeChat's server does: XML signed with the token and, in safe mode,
encrypted with wechatpy's ``WeChatCrypto``; it decrypts the passive reply.

The tests have a fuller fake (tests/channels/wechat_fakes.py: menus, media, failures);
product code cannot import from tests/, so the bench keeps this minimal one.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlencode, urlsplit

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

TOKEN = "anxin-bench-token"
APP_ID = "wx00bench00anxin0"
SECRET = "anxin-bench-secret"
AES_KEY = "AnxinBenchAesKey0123456789abcdefghijklmnopq"  # 43 characters, as WeChat issues
ACCOUNT = "gh_anxin_bench"
SUCCESS = "success"


@dataclass(frozen=True)
class Delivered:
    """One customer-service message the channel sent, and when it arrived (monotonic)."""

    openid: str
    at: float
    text: str


class FakeWeChatAPI:
    """WeChat's access-token and customer-service endpoints on 127.0.0.1 (any free port)."""

    def __init__(self, app_id: str = APP_ID, secret: str = SECRET) -> None:
        self.app_id, self.secret = app_id, secret
        self.delivered: list[Delivered] = []
        self.token_requests = 0
        self.refused = 0  # calls answered with an errcode (a bad token, a malformed message)
        self._tokens: set[str] = set()
        self._cond = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, b"")

            def do_POST(self) -> None:
                fake._handle(self, self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeWeChatAPI:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def count(self, openid: str) -> int:
        with self._cond:
            return sum(1 for d in self.delivered if d.openid == openid)

    def wait_for(self, openid: str, count: int, timeout: float) -> bool:
        """Whether ``openid`` has received ``count`` messages within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while sum(1 for d in self.delivered if d.openid == openid) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def quiet_for(self, seconds: float, longest: float) -> None:
        """Wait until no message has arrived for ``seconds`` (at most ``longest`` seconds)."""
        end = time.monotonic() + longest
        while time.monotonic() < end:
            with self._cond:
                last = self.delivered[-1].at if self.delivered else 0.0
            if time.monotonic() - last >= seconds:
                return
            time.sleep(0.1)

    def _handle(self, req: BaseHTTPRequestHandler, body: bytes) -> None:
        url = urlsplit(req.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/cgi-bin/token":
            if (query.get("appid"), query.get("secret")) != (self.app_id, self.secret):
                return self._refuse(req, 40125, "invalid appsecret")
            with self._cond:
                self.token_requests += 1
                token = f"BENCH_TOKEN_{self.token_requests}"
                self._tokens.add(token)
            return _json(req, {"access_token": token, "expires_in": 7200})
        with self._cond:
            token_ok = query.get("access_token") in self._tokens
        if not token_ok:
            return self._refuse(req, 40001, "invalid credential")
        if url.path != "/cgi-bin/message/custom/send" or req.command != "POST":
            return self._refuse(req, 48001, "api unauthorized")
        try:
            message = json.loads(body.decode("utf-8"))
            openid, text = message["touser"], message["text"]["content"]
        except (ValueError, KeyError, TypeError):
            return self._refuse(req, 47001, "data format error")
        with self._cond:
            self.delivered.append(Delivered(str(openid), time.monotonic(), str(text)))
            self._cond.notify_all()
        return _json(req, {"errcode": 0, "errmsg": "ok"})

    def _refuse(self, req: BaseHTTPRequestHandler, errcode: int, errmsg: str) -> None:
        with self._cond:
            self.refused += 1
        _json(req, {"errcode": errcode, "errmsg": errmsg})


def _json(req: BaseHTTPRequestHandler, data: dict[str, Any]) -> None:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    req.send_response(200)  # WeChat answers errors with 200 and an errcode
    req.send_header("Content-Type", "application/json; encoding=utf-8")
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    req.wfile.write(body)


# WeChat's server ---------------------------------------------------------------------


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


def text_xml(openid: str, content: str, msg_id: int, account: str = ACCOUNT) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{account}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


class WeChatClient:
    """Posts messages to our webhook the way WeChat's server does (thread-safe)."""

    def __init__(
        self, url: str, token: str = TOKEN, app_id: str = APP_ID, aes_key: Optional[str] = AES_KEY
    ) -> None:
        self.url, self.token = url, token
        self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None

    def signed(self) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce)
        return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}

    def callback(self, openid: str, text: str, msg_id: int) -> tuple[dict[str, str], bytes]:
        """The query arguments and body WeChat's server posts for a text message."""
        args = self.signed()
        xml = text_xml(openid, text, msg_id)
        if self.crypto is not None:
            envelope = xmltodict.parse(
                self.crypto.encrypt_message(xml, args["nonce"], args["timestamp"])
            )["xml"]
            # WeChat posts <ToUserName> + <Encrypt>; the signatures are in the query string.
            xml = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
            )
            args.update(encrypt_type="aes", msg_signature=envelope["MsgSignature"])
        return args, xml.encode("utf-8")

    def send_text(self, openid: str, text: str, msg_id: int, timeout: float = 30) -> Ack:
        """Post one text message; the clock runs from sending to the last byte of the reply."""
        args, body = self.callback(openid, text, msg_id)
        req = urllib.request.Request(f"{self.url}?{urlencode(args)}", data=body, method="POST")
        req.add_header("Content-Type", "text/xml")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, reply = resp.status, resp.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            return Ack(err.code, "", time.perf_counter() - started, f"HTTP {err.code}")
        except OSError as exc:
            return Ack(0, "", time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
        seconds = time.perf_counter() - started
        try:
            return Ack(status, self.reply_text(reply), seconds)
        except Exception as exc:  # noqa: BLE001 - a reply WeChat could not read is reported
            return Ack(status, "", seconds, f"unreadable reply: {type(exc).__name__}: {exc}")

    def reply_text(self, body: str) -> str:
        """The text of a passive reply ("" for `success`), decrypted in safe mode."""
        if body.strip() in ("", SUCCESS):
            return ""
        if self.crypto is not None:
            doc = xmltodict.parse(body)["xml"]
            body = self.crypto.decrypt_message(
                doc, doc["MsgSignature"], doc["TimeStamp"], doc["Nonce"]
            )
        reply = xmltodict.parse(body)["xml"]
        if reply.get("MsgType") != "text" or not reply.get("Content"):
            raise ValueError(f"not a text reply: {reply.get('MsgType')!r}")
        return str(reply["Content"])
