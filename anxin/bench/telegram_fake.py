"""A fake Telegram Bot API on 127.0.0.1: the real protocol's JSON, every request recorded.

python-telegram-bot is pointed at it with ``base_url`` (``ANXIN_TELEGRAM_API_BASE``):
``http://127.0.0.1:<port>/bot`` + token + ``/<method>``. It answers getMe, sendMessage,
sendVoice (multipart upload: the file's bytes are recorded), answerCallbackQuery,
editMessageReplyMarkup, deleteWebhook, setWebhook, getUpdates (long polling over updates
queued with ``push``) and getFile, and serves the files added with ``add_file`` where the
Bot API does, ``/file/bot<token>/<file_path>`` (a file over 20 MB: getFile refuses it,
"file is too big"). It can refuse the next call of a method once with
``429 Too Many Requests`` and a ``retry_after``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, unquote

BOT_ID = 7000001
MAX_DOWNLOAD = 20 * 1024 * 1024  # the Bot API's getFile limit


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 200

    @property
    def chat_id(self) -> Optional[int]:
        value = self.params.get("chat_id")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None  # not a chat Telegram knows (the request was refused)

    @property
    def text(self) -> str:
        return str(self.params.get("text") or "")

    @property
    def voice(self) -> bytes:
        """A sendVoice's uploaded file (multipart), as it was sent."""
        value = self.params.get("voice")
        return value if isinstance(value, bytes) else b""

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        return [b for row in (markup or {}).get("inline_keyboard", []) for b in row]


class FakeTelegram:
    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self._updates: list[dict[str, Any]] = []
        self._fail: dict[str, float] = {}
        self._lock = threading.Condition()
        self._message_id = 100
        self._files: dict[str, tuple[bytes, int]] = {}  # file_id → (bytes, declared size)
        self.downloads: list[str] = []  # file paths fetched from the file route
        self.asked: list[str] = []  # file paths asked for, held ones too, when first asked
        self._held: dict[str, threading.Event] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- test side ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    def start(self) -> FakeTelegram:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def push(self, update: dict[str, Any]) -> None:
        """An update for getUpdates (polling)."""
        with self._lock:
            self._updates.append(update)
            self._lock.notify_all()

    def add_file(self, file_id: str, data: bytes, file_size: Optional[int] = None) -> None:
        """A file people sent (a voice note), for getFile and the download route;
        ``file_size`` overrides its size (a note too big to be worth 20 MB of test data)."""
        with self._lock:
            self._files[file_id] = (data, len(data) if file_size is None else file_size)

    def hold(self, file_id: str) -> threading.Event:
        """Keep the download of ``file_id`` waiting (a slow network) until the event is
        set, at most two minutes: the channel is then mid-way through the update."""
        gate = self._held[f"voice/{file_id}.oga"] = threading.Event()
        return gate

    def fail_once(self, method: str, retry_after: float = 1) -> None:
        with self._lock:
            self._fail[method] = retry_after

    def sent(self, method: str = "sendMessage", chat_id: Optional[int] = None) -> list[Call]:
        with self._lock:
            return [
                c
                for c in self.calls
                if c.method == method
                and c.status == 200
                and (chat_id is None or c.chat_id == chat_id)
            ]

    def wait_for(
        self,
        check: Callable[[list[Call]], Any],
        timeout: float = 30,
        method: str = "sendMessage",
        chat_id: Optional[int] = None,
    ) -> Any:
        """Wait until ``check`` of the recorded calls is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            found = check(self.sent(method, chat_id))
            if found:
                return found
            if time.monotonic() > deadline:
                texts = [c.text for c in self.sent(method, chat_id)]
                raise AssertionError(f"timed out; {method} to {chat_id}: {texts}")
            time.sleep(0.1)

    # -- server side -------------------------------------------------------------------

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            retry_after = self._fail.pop(method, None)
        if retry_after is not None:
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {retry_after}",
                "parameters": {"retry_after": retry_after},
            }
        if method == "getMe":
            return 200, {"ok": True, "result": {"id": BOT_ID, "is_bot": True,
                         "first_name": "Anxin", "username": "anxin_test_bot",
                         "can_join_groups": False, "can_read_all_group_messages": False,
                         "supports_inline_queries": False}}  # fmt: skip
        if method in ("sendMessage", "sendVoice", "editMessageReplyMarkup"):
            if not re.fullmatch(r"-?\d+", str(params.get("chat_id"))):
                return 400, {"ok": False, "error_code": 400,
                             "description": "Bad Request: chat not found"}  # fmt: skip
            return 200, {"ok": True, "result": self._message(params)}
        if method in ("answerCallbackQuery", "deleteWebhook", "setWebhook"):
            return 200, {"ok": True, "result": True}
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        if method == "getFile":
            return self._get_file(str(params.get("file_id") or ""))
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._message_id += 1
            message_id = self._message_id
        chat_id = int(params.get("chat_id") or 0)
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "Anxin"},
        }
        if "text" in params:
            message["text"] = params["text"]
        if isinstance(params.get("voice"), bytes):
            message["voice"] = {"file_id": f"sent-{message_id}", "file_unique_id": f"u{message_id}",
                                "duration": int(params.get("duration") or 1),
                                "mime_type": "audio/ogg",
                                "file_size": len(params["voice"])}  # fmt: skip
        return message

    def _get_file(self, file_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            known = self._files.get(file_id)
        if known is None:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: invalid file_id"}  # fmt: skip
        if known[1] > MAX_DOWNLOAD:
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: file is too big"}  # fmt: skip
        return 200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": f"u-{file_id}",
                     "file_size": known[1], "file_path": f"voice/{file_id}.oga"}}  # fmt: skip

    def _download(self, file_path: str) -> Optional[bytes]:
        with self._lock:
            self.downloads.append(file_path)
            for file_id, (data, _size) in self._files.items():
                if file_path == f"voice/{file_id}.oga":
                    return data
        return None

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 5.0)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
                if self._updates or time.monotonic() >= deadline:
                    return list(self._updates)
                self._lock.wait(max(0.0, deadline - time.monotonic()))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                files = f"/file/bot{fake.token}/"
                path = unquote(self.path)  # httpx sends the token's ":" as %3A
                if not path.startswith(files):
                    self.do_POST()
                    return
                file_path = path[len(files) :]
                fake.asked.append(file_path)
                gate = fake._held.get(file_path)
                if gate is not None:
                    gate.wait(120)
                data = fake._download(file_path)
                if data is None:
                    self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the asker is gone (its process was killed while it waited)

            def do_POST(self) -> None:
                prefix = f"/bot{fake.token}/"
                if not self.path.startswith(prefix):
                    self._send(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                    return
                method = self.path[len(prefix) :].split("?")[0]
                length = int(self.headers.get("content-length") or 0)
                params = _params(self.headers.get("content-type") or "", self.rfile.read(length))
                status, body = fake._answer(method, params)
                with fake._lock:
                    fake.calls.append(Call(method, params, status=status))
                self._send(status, body)

            def _send(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    """The Bot API accepts JSON, url-encoded forms and multipart forms (files)."""
    if not body:
        return {}
    if content_type.startswith("application/json"):
        return dict(json.loads(body))
    if content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        parsed = BytesParser(policy=HTTP).parsebytes(head + body)
        params: dict[str, Any] = {}
        for part in parsed.iter_parts():
            name = part.get_param("name", header="content-disposition")
            raw = part.get_payload(decode=True)
            payload = raw if isinstance(raw, bytes) else b""
            params[str(name)] = payload if part.get_filename() else payload.decode()
        return params
    return dict(parse_qsl(body.decode(), keep_blank_values=True))
