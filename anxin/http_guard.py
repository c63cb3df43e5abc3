"""A guard in front of Sanic 21.12's HTTP/1.1 parser, for the Rasa and action servers.

Sanic 21.12 (Rasa 3.6's server, and rasa-sdk's) reads the request head in Python
(``sanic.http.Http.http1_request_header``) and trusts it further than HTTP allows:

- ``Content-Length: -1``: its body reader (``Http.read``) then loops without awaiting,
  at 100 % CPU, and the process never answers anyone again;
- a Content-Length ``int()`` refuses (``abc``, ``0x1a``) is a 500; one it takes (``+5``,
  ``1_0``, ``٥``) or two that disagree are read as it pleases; a ``Transfer-Encoding``
  other than ``chunked`` (``gzip``) is a 500, and ``chunked`` beside a Content-Length is
  read as chunked;
- a request target with raw non-ASCII bytes, without a leading ``/`` (``x``, CONNECT's
  ``host:port``) or otherwise refused by httptools' URL parser fails in ``Request()``,
  then again while Sanic builds the request of its error page: the connection is dropped
  with no answer;
- whatever it does refuse (a bad request line or header line, a head over 8 KB, an
  unknown ``Expect``) goes through the app's exception handlers, and rasa-sdk's action
  server turns every exception into a 500.

``GuardedHttp`` checks the complete head first (``check_head``, pure) and answers what
HTTP/1.1 (RFC 9110/9112) refuses itself, with a short JSON body and ``Connection:
close``, before Sanic parses it; the app never sees such a request. 5xx are never used
(a coding we do not know would be 501 by the RFC, and 505 for a version): a client's
mistake is a 4xx. After a refusal the rest of what the client is still sending is read
and dropped for a moment (a lingering close), so that a client still writing a large
head or body reads its answer rather than a connection reset.

Sanic 21.12's WebSocket handshake (``WebSocketProtocol.websocket_handshake``) hands its
own ``Request`` to websockets 10, which records a failed handshake on the request
(``request._exception``); Sanic's request has ``__slots__``, so every malformed upgrade
(no ``Sec-WebSocket-Key``, a short key, version 8, no ``Upgrade``) is a 500. The guarded
handshake runs websockets' own checks on a websockets request first and answers 400
(RFC 6455 §4.2.1), or 426 with ``Sec-WebSocket-Version: 13`` when the version was wrong
(§4.4).

``install()`` puts both in place for the whole process; anxin/rasa_server.py and
anxin/action_server.py call it before their server starts (Sanic forks its workers
after, so they inherit it). Sanic 22.x rewrote this parser; check this again when Rasa
moves to it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Iterable, Optional, Sequence

import pluggy
from httptools import parse_url
from sanic.exceptions import SanicException
from sanic.http import Http, Stage

log = logging.getLogger(__name__)

TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # RFC 9110 §5.6.2
TARGET = re.compile(rb"[\x21-\x7e]+")  # visible ASCII: anything else is %-encoded
CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # in a field value: all but HTAB
DIGITS = re.compile(rb"[0-9]+")
MAX_LENGTH_DIGITS = 18  # more is over any body limit, and int() of it is not free
LINGER_S = 2.0  # how long the rest of a refused request is read and dropped


@dataclass(frozen=True)
class Refusal:
    """The answer to a request refused before any route sees it."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...] = field(default=())

    def response(self, head_only: bool = False) -> bytes:
        body = json.dumps({"error": self.reason}).encode()
        lines = [f"HTTP/1.1 {self.status} {HTTPStatus(self.status).phrase}",
                 "content-type: application/json", f"content-length: {len(body)}",
                 "connection: close", *(f"{k}: {v}" for k, v in self.headers)]  # fmt: skip
        return "\r\n".join(lines).encode() + b"\r\n\r\n" + (b"" if head_only else body)


def _bad(reason: str) -> Refusal:
    return Refusal(400, reason)


def check_head(head: bytes, max_body: int) -> Optional[Refusal]:
    """What a request head (request line and header lines, without the final empty line)
    breaks of HTTP/1.1, or None. ``max_body``: the largest Content-Length taken."""
    lines = head.split(b"\r\n")
    if any(b"\r" in line or b"\n" in line for line in lines):
        return _bad("every line of the request head must end with CRLF")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        return _bad("the request line must be: METHOD /path HTTP/1.1")
    method, target, version = parts
    if version not in (b"HTTP/1.1", b"HTTP/1.0"):
        return _bad("only HTTP/1.1 and HTTP/1.0 are spoken here")
    if not TOKEN.fullmatch(method):
        return _bad("the method is not a token")
    if not TARGET.fullmatch(target):
        return _bad("the request target must be visible ASCII (other bytes %-encoded)")
    lowered = target[:8].lower()
    if not (target.startswith(b"/") or target == b"*" or lowered.startswith(b"http://")
            or lowered == b"https://"):  # fmt: skip
        # CONNECT's host:port is for a proxy; this is none
        return _bad("the request target must start with /")
    try:
        parse_url(target)
    except Exception:
        return _bad("the request target is not a URL")
    lengths: list[bytes] = []
    codings: list[bytes] = []
    hosts = 0
    expect: Optional[bytes] = None
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not TOKEN.fullmatch(name):
            # also a space before the colon, or a folded line (RFC 9112 §5.1, §5.2)
            return _bad("every header line must be Name: value")
        if CONTROL.search(value):
            return _bad("a header value holds a control character")
        name = name.lower()
        value = value.lstrip(b" \t")  # as Sanic reads it
        if name == b"content-length":
            lengths.append(value.rstrip(b" \t"))
        elif name == b"transfer-encoding":
            codings.append(value)
        elif name == b"host":
            hosts += 1
        elif name == b"expect" and expect is None:
            expect = value
    if hosts > 1:
        return _bad("more than one Host header")
    if codings:
        if version == b"HTTP/1.0":
            return _bad("Transfer-Encoding is not HTTP/1.0")
        if codings != [b"chunked"]:
            return _bad("the only Transfer-Encoding understood is chunked")
        if lengths:
            return _bad("Transfer-Encoding and Content-Length together")
    for value in lengths:
        if not DIGITS.fullmatch(value):
            return _bad("Content-Length must be a decimal number")
        if len(value.lstrip(b"0")) > MAX_LENGTH_DIGITS or int(value) > max_body:
            return Refusal(413, f"a body is at most {max_body} bytes")
    if len({int(v) for v in lengths}) > 1:
        return _bad("two different Content-Length headers")
    if (lengths or codings) and expect is not None and expect.lower() != b"100-continue":
        return Refusal(417, "the only Expect understood is 100-continue")
    return None


class HeadRefused(Exception):
    def __init__(self, refusal: Refusal, head_only: bool) -> None:
        super().__init__(refusal.reason)
        self.refusal, self.head_only = refusal, head_only


class GuardedHttp(Http):
    """Sanic's HTTP/1.1 connection, with the head checked before Sanic parses it."""

    __slots__ = ()

    async def http1_request_header(self) -> None:
        buf = self.recv_buffer
        pos = 0
        # Sanic's own wait for the end of the head, and the same limit
        while True:
            pos = buf.find(b"\r\n\r\n", pos)
            if pos != -1:
                break
            if b"\n\n" in buf:  # LF line ends: the CRLF CRLF Sanic waits for never comes
                raise HeadRefused(_bad("every line of the request head must end with CRLF"),
                                  False)  # fmt: skip
            pos = max(0, len(buf) - 3)
            if pos >= self.HEADER_MAX_SIZE:
                break
            await self._receive_more()
        if pos >= self.HEADER_MAX_SIZE:
            raise HeadRefused(Refusal(431, f"the request head is over "
                                           f"{self.HEADER_MAX_SIZE} bytes"), False)  # fmt: skip
        head = bytes(buf[:pos])
        refusal = check_head(head, self.protocol.request_max_size)
        if refusal is not None:
            raise HeadRefused(refusal, head.startswith(b"HEAD "))
        await super().http1_request_header()

    async def error_response(self, exception: Exception) -> None:
        if not isinstance(exception, HeadRefused):
            await super().error_response(exception)
            return
        refusal = exception.refusal
        log.info("http: a request refused before parsing: %d %s", refusal.status, refusal.reason)
        self.keep_alive = False
        await self._send(refusal.response(exception.head_only))
        self.stage = Stage.IDLE
        await self._linger()

    async def _linger(self) -> None:
        """Drop what the client still sends, for a moment, once our answer is out: closing
        with unread bytes would reset the connection, and the answer with it."""
        transport = self.protocol.transport
        if transport is None or transport.is_closing():
            return
        if transport.can_write_eof():
            transport.write_eof()
        loop = asyncio.get_running_loop()
        until = loop.time() + LINGER_S
        while loop.time() < until and not transport.is_closing():
            self.recv_buffer.clear()
            try:
                await asyncio.wait_for(self._receive_more(), until - loop.time())
            except asyncio.TimeoutError:
                break
        self.recv_buffer.clear()


class WebSocketRefused(SanicException):
    """A WebSocket upgrade refused; Sanic's error page carries ``headers``."""

    quiet = True

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason, status_code=refusal.status)
        self.headers = dict(refusal.headers)


def check_upgrade(path: str, headers: Iterable[tuple[str, str]],
                  subprotocols: Optional[Sequence[str]] = None) -> Optional[Refusal]:  # fmt: skip
    """What a WebSocket upgrade request lacks for websockets to accept it, or None: its
    own checks, as Sanic's handshake would run them (with the route's subprotocols)."""
    from websockets.datastructures import Headers
    from websockets.exceptions import InvalidHeader
    from websockets.http11 import Request
    from websockets.server import ServerConnection
    from websockets.typing import Subprotocol

    request = Request(path, Headers(list(headers)))
    try:
        offered = [Subprotocol(p) for p in subprotocols] if subprotocols is not None else None
        ServerConnection(subprotocols=offered).process_request(request)
    except InvalidHeader as exc:  # InvalidUpgrade too: no Upgrade, or no Connection: Upgrade
        if exc.name == "Sec-WebSocket-Version":
            return Refusal(426, "the WebSocket version spoken here is 13",
                           (("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")))  # fmt: skip
        return _bad(f"a WebSocket upgrade needs a valid {exc.name}")
    except Exception:  # a header websockets cannot read: the client's, not ours
        return _bad("a WebSocket upgrade with headers that cannot be read")
    return None


def install() -> None:
    """Every Sanic connection of this process is guarded from now on."""
    from sanic.server.protocols import http_protocol
    from sanic.server.protocols.websocket_protocol import WebSocketProtocol

    # HttpProtocol._setup_connection builds each connection's ``Http(self)`` from its
    # module's globals, at connection time.
    http_protocol.Http = GuardedHttp  # type: ignore[misc]
    handshake = WebSocketProtocol.websocket_handshake
    if getattr(handshake, "guarded", False):
        return

    async def websocket_handshake(self: Any, request: Any,
                                  subprotocols: Optional[Sequence[str]] = None) -> Any:  # fmt: skip
        refusal = check_upgrade(request.path, request.headers.items(), subprotocols)
        if refusal is not None:
            raise WebSocketRefused(refusal)
        return await handshake(self, request, subprotocols)

    websocket_handshake.guarded = True  # type: ignore[attr-defined]
    WebSocketProtocol.websocket_handshake = websocket_handshake  # type: ignore[method-assign]


async def _sanic_refusal(request: Any, exc: SanicException) -> Any:
    from sanic import response

    return response.json({"error": str(exc)}, status=exc.status_code,
                         headers=getattr(exc, "headers", None))  # fmt: skip


class _SdkErrors:
    """rasa-sdk's action server answers every exception with a 500 that echoes the request
    body (its ``@app.exception(Exception)``): a 404, a 405, a body over the limit or a bad
    chunk included. Sanic's own refusals keep their status here (the handler of the most
    specific class wins)."""

    @staticmethod
    @pluggy.HookimplMarker("rasa_sdk")
    def attach_sanic_app_extensions(app: Any) -> None:
        app.exception(SanicException)(_sanic_refusal)


def install_action_server() -> None:
    """The guard, and Sanic's refusals answered as such, for rasa-sdk's server."""
    from rasa_sdk.plugin import plugin_manager

    install()
    manager = plugin_manager()  # rasa-sdk's run() calls its plugins with the app it built
    if not manager.has_plugin("anxin-http-refusals"):
        manager.register(_SdkErrors(), name="anxin-http-refusals")
