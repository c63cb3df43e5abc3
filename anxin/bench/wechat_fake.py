"""WeChat's side, on loopback: its API server, and (re-exported) its server's callbacks.

``FakeWeChatAPI`` is a real HTTP server speaking the API's JSON protocol (access token,
customer-service text and voice messages, menu create, media get, and media upload as
multipart/form-data), recording what it was sent and when. WeChat's server calling our
webhook (``WeChatClient``, the XML builders) is anxin/bench/wechat_callbacks.py, imported
from here too.

One implementation for ``anxin bench channels`` and the tests: product code cannot
import from tests/, so it lives here; tests/channels/wechat_fakes.py only binds the
tests' credentials and fixed timestamps.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from anxin.bench.wechat_callbacks import (
    ACCOUNT,
    AES_KEY,
    APP_ID,
    SECRET,
    SUCCESS,
    TOKEN,
    Ack,
    WeChatClient,
    event_xml,
    signed,
    text_xml,
    voice_xml,
)

__all__ = [
    "ACCOUNT", "AES_KEY", "APP_ID", "SECRET", "SUCCESS", "TOKEN", "Ack", "Delivered",
    "FakeWeChatAPI", "Upload", "WeChatClient", "event_xml", "signed", "text_xml", "voice_xml",
]  # fmt: skip

VOICE_UPLOAD_LIMIT = 2 * 1024 * 1024  # WeChat: voice media ≤ 2 MB, AMR or MP3
TEXT_LIMIT = 2048  # bytes of UTF-8 in one customer-service text


@dataclass(frozen=True)
class Delivered:
    """One customer-service text the channel sent, and when it arrived (monotonic)."""

    openid: str
    at: float
    text: str


@dataclass(frozen=True)
class Upload:
    media_id: str
    type: str
    filename: str
    content_type: str
    data: bytes


class FakeWeChatAPI:
    """WeChat's API on 127.0.0.1 (any free port); WeChat answers errors with an errcode."""

    def __init__(
        self, app_id: str = APP_ID, secret: str = SECRET, media: Optional[dict] = None
    ) -> None:
        self.app_id, self.secret = app_id, secret
        self.sent: list[dict[str, Any]] = []  # customer-service messages, in order
        self.delivered: list[Delivered] = []  # the texts among them, with their arrival
        self.menus: list[dict[str, Any]] = []
        self.token_requests = 0
        self.refused = 0  # calls answered with an errcode (a bad token, a malformed message)
        self.valid_tokens: set[str] = set()
        self.fail_sends = 0  # answer this many text sends with a system error (-1)
        self.fail_uploads = 0  # answer this many media uploads with a system error (-1)
        self.media: dict[str, bytes] = dict(media or {})  # what people sent, by media_id
        self.downloads: list[str] = []  # media_ids fetched through media/get, in order
        self.uploads: dict[str, Upload] = {}  # temporary media uploaded by the channel
        self._media_ids = itertools.count(1)
        self._cond = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, None)

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

    def expire_tokens(self) -> None:
        """WeChat invalidated every token (another client fetched one, or time passed)."""
        with self._cond:
            self.valid_tokens.clear()

    # What was sent ----------------------------------------------------------------------

    def sent_to(self, openid: str) -> list[dict[str, Any]]:
        """The customer-service messages to ``openid`` (text and voice), in the order sent."""
        with self._cond:
            return [m for m in self.sent if m["touser"] == openid]

    def texts_to(self, openid: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent_to(openid) if m["msgtype"] == "text"]

    def voices_to(self, openid: str) -> list[Upload]:
        """The voice messages sent to ``openid``, as the media each one refers to."""
        with self._cond:
            return [
                self.uploads[m["voice"]["media_id"]]
                for m in self.sent
                if m["touser"] == openid and m["msgtype"] == "voice"
            ]

    def wait_for_voices(self, openid: str, count: int = 1, timeout: float = 60) -> list[Upload]:
        if not self._until(lambda: len(self.voices_to(openid)) >= count, timeout):
            raise AssertionError(f"{count} voice messages to {openid} not sent")
        return self.voices_to(openid)

    def wait_for_texts(self, openid: str, count: int = 1, timeout: float = 30) -> list[str]:
        if not self._until(lambda: len(self.texts_to(openid)) >= count, timeout):
            raise AssertionError(f"{count} messages to {openid} not sent: {self.texts_to(openid)}")
        return self.texts_to(openid)

    def count(self, openid: str) -> int:
        """How many texts ``openid`` has received."""
        with self._cond:
            return sum(1 for d in self.delivered if d.openid == openid)

    def wait_for(self, openid: str, count: int, timeout: float) -> bool:
        """Whether ``openid`` has received ``count`` texts within ``timeout`` seconds."""
        return self._until(lambda: self.count(openid) >= count, timeout)

    def quiet_for(self, seconds: float, longest: float) -> None:
        """Wait until no text has arrived for ``seconds`` (at most ``longest`` seconds)."""
        end = time.monotonic() + longest
        while time.monotonic() < end:
            with self._cond:
                last = self.delivered[-1].at if self.delivered else 0.0
            if time.monotonic() - last >= seconds:
                return
            time.sleep(0.1)

    def _until(self, done: Any, timeout: float) -> bool:
        with self._cond:  # an RLock: ``done`` may take it again
            return self._cond.wait_for(done, timeout)

    # The protocol ---------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler, body: Optional[bytes]) -> None:
        url = urlsplit(req.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/cgi-bin/token":
            return self._token(req, query)
        with self._cond:
            token_ok = query.get("access_token") in self.valid_tokens
        if not token_ok:
            return self._refuse(req, 40001, "invalid credential")
        if url.path == "/cgi-bin/message/custom/send" and body is not None:
            return self._send(req, body)
        if url.path == "/cgi-bin/menu/create" and body is not None:
            return self._menu(req, body)
        if url.path == "/cgi-bin/media/upload" and body is not None:
            return self._upload(req, query, body)
        if url.path == "/cgi-bin/media/get":
            return self._download(req, query.get("media_id", ""))
        return self._refuse(req, 48001, "api unauthorized")

    def _token(self, req: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("grant_type") != "client_credential":
            return self._refuse(req, 40002, "invalid grant_type")
        if (query.get("appid"), query.get("secret")) != (self.app_id, self.secret):
            return self._refuse(req, 40125, "invalid appsecret")
        with self._cond:
            self.token_requests += 1
            token = f"ACCESS_TOKEN_{self.token_requests}"
            self.valid_tokens.add(token)
        return _json(req, {"access_token": token, "expires_in": 7200})

    def _send(self, req: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            message = json.loads(body.decode("utf-8"))
            assert isinstance(message, dict) and message.get("touser")
        except (ValueError, AssertionError):
            return self._refuse(req, 47001, "data format error")
        if message.get("msgtype") == "voice":
            media_id = (message.get("voice") or {}).get("media_id", "")
            with self._cond:
                upload = self.uploads.get(media_id)
            if upload is None or upload.type != "voice":
                return self._refuse(req, 40007, "invalid media_id")
            return self._record(req, message)
        content = (message.get("text") or {}).get("content", "")
        if message.get("msgtype") != "text" or not isinstance(content, str) or not content:
            return self._refuse(req, 47001, "data format error")
        if len(content.encode("utf-8")) > TEXT_LIMIT:
            return self._refuse(req, 45002, "content size out of limit")
        with self._cond:
            if self.fail_sends:
                self.fail_sends -= 1
                return _json(req, {"errcode": -1, "errmsg": "system error"})
        return self._record(req, message)

    def _record(self, req: BaseHTTPRequestHandler, message: dict[str, Any]) -> None:
        with self._cond:
            self.sent.append(message)
            if message["msgtype"] == "text":
                openid, text = str(message["touser"]), message["text"]["content"]
                self.delivered.append(Delivered(openid, time.monotonic(), text))
            self._cond.notify_all()
        return _json(req, {"errcode": 0, "errmsg": "ok"})

    def _download(self, req: BaseHTTPRequestHandler, media_id: str) -> None:
        with self._cond:
            self.downloads.append(media_id)
            audio = self.media.get(media_id)
        if audio is None:
            return self._refuse(req, 40007, "invalid media_id")
        req.send_response(200)
        req.send_header("Content-Type", "audio/amr")
        req.send_header("Content-Length", str(len(audio)))
        req.end_headers()
        req.wfile.write(audio)

    def _upload(self, req: BaseHTTPRequestHandler, query: dict[str, str], body: bytes) -> None:
        """media/upload: one multipart/form-data file in the field ``media``."""
        kind = query.get("type", "")
        if kind not in ("image", "voice", "video", "thumb"):
            return self._refuse(req, 40004, "invalid media type")
        header = f"Content-Type: {req.headers.get('Content-Type', '')}\r\n\r\n".encode()
        form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
        files = [
            part
            for part in (form.iter_parts() if form.is_multipart() else [])
            if part.get_param("name", header="content-disposition") == "media"
        ]
        if len(files) != 1 or not files[0].get_filename():
            return self._refuse(req, 41005, "media data missing")
        part = files[0]
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = str(part.get_filename())
        if kind == "voice" and not filename.lower().endswith((".amr", ".mp3")):
            return self._refuse(req, 40005, "invalid file type")
        if not data or (kind == "voice" and len(data) > VOICE_UPLOAD_LIMIT):
            return self._refuse(req, 40006, "invalid meida size")  # sic, WeChat's spelling
        with self._cond:
            if self.fail_uploads:
                self.fail_uploads -= 1
                return _json(req, {"errcode": -1, "errmsg": "system error"})
            media_id = f"uploaded-{kind}-{next(self._media_ids)}"
            content_type = part.get_content_type()
            self.uploads[media_id] = Upload(media_id, kind, filename, content_type, data)
        return _json(req, {"type": kind, "media_id": media_id, "created_at": int(time.time())})

    def _menu(self, req: BaseHTTPRequestHandler, body: bytes) -> None:
        menu = json.loads(body.decode("utf-8"))
        buttons = menu.get("button", [])
        if not 1 <= len(buttons) <= 3:
            return self._refuse(req, 40017, "invalid button size")
        for button in buttons:
            if len(button.get("name", "").encode("utf-8")) > 16:
                return self._refuse(req, 40018, "invalid button name size")
            subs = button.get("sub_button", [])
            if len(subs) > 5 or any(len(s.get("name", "").encode()) > 60 for s in subs):
                return self._refuse(req, 40023, "invalid sub button size")
            for leaf in subs or [button]:
                if leaf.get("type") == "click" and not leaf.get("key"):
                    return self._refuse(req, 40019, "invalid button key size")
        with self._cond:
            self.menus.append(menu)
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
