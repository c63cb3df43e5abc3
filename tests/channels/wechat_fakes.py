"""WeChat's side, on loopback: its API server, and its server calling our webhook.

``FakeWeChatAPI`` is a real HTTP server speaking the API's JSON protocol (token,
customer-service text and voice messages, menu create, media get, and media upload as
multipart/form-data) and recording what it was sent.
``WeChatServer`` builds callbacks the way WeChat's server does: XML, signed with the
token, and in safe mode encrypted with wechatpy's ``WeChatCrypto``.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlencode, urlsplit

from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

TOKEN = "anxin-test-token"
APP_ID = "wx0123456789abcdef"
SECRET = "s3cret-app-secret"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues
ACCOUNT = "gh_anxin_account"
MEDIA = {"media-voice-1": b"#!AMR\n fake amr bytes"}
VOICE_UPLOAD_LIMIT = 2 * 1024 * 1024  # WeChat: voice media ≤ 2 MB, AMR or MP3


@dataclass(frozen=True)
class Upload:
    media_id: str
    type: str
    filename: str
    content_type: str
    data: bytes


class FakeWeChatAPI:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []  # customer-service messages, in order
        self.menus: list[dict[str, Any]] = []
        self.token_requests = 0
        self.valid_tokens: set[str] = set()
        self.fail_sends = 0  # answer this many sends with a system error (-1)
        self.fail_uploads = 0  # answer this many media uploads with a system error (-1)
        self.media: dict[str, bytes] = dict(MEDIA)  # what people sent, by media_id
        self.downloads: list[str] = []  # media_ids fetched through media/get, in order
        self.uploads: dict[str, Upload] = {}  # temporary media uploaded by the channel
        self._media_ids = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fake._handle(self, self.rfile.read(length))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> FakeWeChatAPI:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def expire_tokens(self) -> None:
        """WeChat invalidated every token (another client fetched one, or time passed)."""
        with self._lock:
            self.valid_tokens.clear()

    def texts_to(self, openid: str) -> list[str]:
        with self._lock:
            return [
                m["text"]["content"]
                for m in self.sent
                if m["touser"] == openid and m["msgtype"] == "text"
            ]

    def voices_to(self, openid: str) -> list[Upload]:
        """The voice messages sent to ``openid``, as the media each one refers to."""
        with self._lock:
            return [
                self.uploads[m["voice"]["media_id"]]
                for m in self.sent
                if m["touser"] == openid and m["msgtype"] == "voice"
            ]

    def wait_for_voices(self, openid: str, count: int = 1, timeout: float = 60) -> list[Upload]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            voices = self.voices_to(openid)
            if len(voices) >= count:
                return voices
            time.sleep(0.1)
        raise AssertionError(f"{count} voice messages to {openid} not sent")

    def wait_for_texts(self, openid: str, count: int = 1, timeout: float = 30) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            texts = self.texts_to(openid)
            if len(texts) >= count:
                return texts
            time.sleep(0.1)
        raise AssertionError(f"{count} messages to {openid} not sent: {self.texts_to(openid)}")

    # The protocol -------------------------------------------------------------------

    def _handle(self, req: BaseHTTPRequestHandler, body: Optional[bytes]) -> None:
        url = urlsplit(req.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/cgi-bin/token":
            return self._token(req, query)
        with self._lock:
            token_ok = query.get("access_token") in self.valid_tokens
        if not token_ok:
            return _json(req, {"errcode": 40001, "errmsg": "invalid credential"})
        if url.path == "/cgi-bin/message/custom/send" and body is not None:
            return self._send(req, body)
        if url.path == "/cgi-bin/menu/create" and body is not None:
            return self._menu(req, body)
        if url.path == "/cgi-bin/media/upload" and body is not None:
            return self._upload(req, query, body)
        if url.path == "/cgi-bin/media/get":
            with self._lock:
                self.downloads.append(query.get("media_id", ""))
                audio = self.media.get(query.get("media_id", ""))
            if audio is None:
                return _json(req, {"errcode": 40007, "errmsg": "invalid media_id"})
            req.send_response(200)
            req.send_header("Content-Type", "audio/amr")
            req.send_header("Content-Length", str(len(audio)))
            req.end_headers()
            req.wfile.write(audio)
            return None
        return _json(req, {"errcode": 48001, "errmsg": "api unauthorized"})

    def _token(self, req: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("grant_type") != "client_credential":
            return _json(req, {"errcode": 40002, "errmsg": "invalid grant_type"})
        if (query.get("appid"), query.get("secret")) != (APP_ID, SECRET):
            return _json(req, {"errcode": 40125, "errmsg": "invalid appsecret"})
        with self._lock:
            self.token_requests += 1
            token = f"ACCESS_TOKEN_{self.token_requests}"
            self.valid_tokens.add(token)
        return _json(req, {"access_token": token, "expires_in": 7200})

    def _send(self, req: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            message = json.loads(body.decode("utf-8"))
        except ValueError:
            return _json(req, {"errcode": 47001, "errmsg": "data format error"})
        if message.get("msgtype") == "voice" and message.get("touser"):
            media_id = (message.get("voice") or {}).get("media_id", "")
            with self._lock:
                upload = self.uploads.get(media_id)
            if upload is None or upload.type != "voice":
                return _json(req, {"errcode": 40007, "errmsg": "invalid media_id"})
            with self._lock:
                self.sent.append(message)
            return _json(req, {"errcode": 0, "errmsg": "ok"})
        content = message.get("text", {}).get("content", "")
        if message.get("msgtype") != "text" or not message.get("touser") or not content:
            return _json(req, {"errcode": 47001, "errmsg": "data format error"})
        if len(content.encode("utf-8")) > 2048:
            return _json(req, {"errcode": 45002, "errmsg": "content size out of limit"})
        with self._lock:
            if self.fail_sends:
                self.fail_sends -= 1
                return _json(req, {"errcode": -1, "errmsg": "system error"})
            self.sent.append(message)
        return _json(req, {"errcode": 0, "errmsg": "ok"})

    def _upload(self, req: BaseHTTPRequestHandler, query: dict[str, str], body: bytes) -> None:
        """media/upload: one multipart/form-data file in the field ``media``."""
        kind = query.get("type", "")
        if kind not in ("image", "voice", "video", "thumb"):
            return _json(req, {"errcode": 40004, "errmsg": "invalid media type"})
        header = f"Content-Type: {req.headers.get('Content-Type', '')}\r\n\r\n".encode()
        form = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(header + body)
        files = [
            part
            for part in (form.iter_parts() if form.is_multipart() else [])
            if part.get_param("name", header="content-disposition") == "media"
        ]
        if len(files) != 1 or not files[0].get_filename():
            return _json(req, {"errcode": 41005, "errmsg": "media data missing"})
        part = files[0]
        data = part.get_payload(decode=True) or b""
        filename = str(part.get_filename())
        if kind == "voice" and not filename.lower().endswith((".amr", ".mp3")):
            return _json(req, {"errcode": 40005, "errmsg": "invalid file type"})
        if not data or (kind == "voice" and len(data) > VOICE_UPLOAD_LIMIT):
            return _json(req, {"errcode": 40006, "errmsg": "invalid meida size"})
        with self._lock:
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
            return _json(req, {"errcode": 40017, "errmsg": "invalid button size"})
        for button in buttons:
            if len(button.get("name", "").encode("utf-8")) > 16:
                return _json(req, {"errcode": 40018, "errmsg": "invalid button name size"})
            subs = button.get("sub_button", [])
            if len(subs) > 5 or any(len(s.get("name", "").encode()) > 60 for s in subs):
                return _json(req, {"errcode": 40023, "errmsg": "invalid sub button size"})
            for leaf in subs or [button]:
                if leaf.get("type") == "click" and not leaf.get("key"):
                    return _json(req, {"errcode": 40019, "errmsg": "invalid button key size"})
        with self._lock:
            self.menus.append(menu)
        return _json(req, {"errcode": 0, "errmsg": "ok"})


def _json(req: BaseHTTPRequestHandler, data: dict[str, Any]) -> None:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    req.send_response(200)  # WeChat answers errors with 200 and an errcode
    req.send_header("Content-Type", "application/json; encoding=utf-8")
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    req.wfile.write(body)


# WeChat's server ---------------------------------------------------------------------


def signed(token: str = TOKEN, timestamp: Optional[str] = None, nonce: str = "n0nce") -> dict:
    timestamp = timestamp or str(int(time.time()))
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}


def text_xml(openid: str, content: str, msg_id: int, create_time: int = 1_700_000_000) -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def event_xml(openid: str, event: str, create_time: int, key: str = "") -> str:
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
        f"<Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )


def voice_xml(
    openid: str,
    media_id: str,
    msg_id: int,
    fmt: str = "amr",
    recognition: str = "",
    create_time: int = 1_700_000_000,
) -> str:
    """A voice message; ``recognition`` is WeChat's own transcript, when the account has it."""
    heard = f"<Recognition><![CDATA[{recognition}]]></Recognition>" if recognition else ""
    return (
        f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{create_time}</CreateTime><MsgType><![CDATA[voice]]></MsgType>"
        f"<MediaId><![CDATA[{media_id}]]></MediaId><Format><![CDATA[{fmt}]]></Format>"
        f"{heard}<MsgId>{msg_id}</MsgId></xml>"
    )


class WeChatServer:
    """Calls our webhook the way WeChat does, plaintext or in safe mode."""

    def __init__(self, url: str, safe: bool = False, app_id: str = APP_ID) -> None:
        self.url = url
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, app_id) if safe else None

    def post(
        self, xml: str, args: Optional[dict[str, str]] = None, timeout: float = 30
    ) -> tuple[int, str, float]:
        """(status, the decrypted reply body, seconds taken)."""
        args = dict(args or signed())
        body = xml
        if self.crypto is not None:
            envelope = self.crypto.encrypt_message(xml, args["nonce"], args["timestamp"])
            # WeChat posts <ToUserName> + <Encrypt>; the signature is in the query string.
            encrypted = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
            msg_signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
            args.update(encrypt_type="aes", msg_signature=msg_signature)
        status, reply, took = self.raw(body.encode("utf-8"), args, timeout)
        if self.crypto is not None and status == 200 and reply not in ("", "success"):
            reply = self.crypto.decrypt_message(reply, *_reply_signature(reply))
        return status, reply, took

    def raw(self, body: bytes, args: dict[str, str], timeout: float = 30) -> tuple[int, str, float]:
        req = urllib.request.Request(f"{self.url}?{urlencode(args)}", data=body, method="POST")
        req.add_header("Content-Type", "text/xml")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, text = resp.status, resp.read().decode("utf-8")
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read().decode("utf-8", "replace")
        return status, text, time.monotonic() - started


def _reply_signature(reply: str) -> tuple[str, str, str]:
    def element(name: str) -> str:
        inner = reply.split(f"<{name}>")[1].split(f"</{name}>")[0]
        return inner.replace("<![CDATA[", "").replace("]]>", "")

    return element("MsgSignature"), element("TimeStamp"), element("Nonce")
