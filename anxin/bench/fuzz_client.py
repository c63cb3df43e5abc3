"""The raw clients of ``anxin bench fuzz``: HTTP/1.1, WebSocket and AudioSocket over asyncio
streams, so a request can be anything (an HTTP library would refuse to send most of ours).

Each send ends in an ``Ending``: what came back (an HTTP status, how a WebSocket or an
AudioSocket call ended) and, when the server did wrong, the failure — ``5xx``, ``drop``
(the connection closed or was reset with no answer, where one was due), ``timeout``
(no answer within the time allowed), ``refused`` (nothing listening), ``ws-1011`` (the
WebSocket closed for an internal error), ``dropped-call`` (a call the protocol allowed
was ended by the server), ``accepted`` (a 2xx to what must be refused). Bodies are read
up to a cap and only searched for a leaked traceback, never kept.
"""

from __future__ import annotations

import asyncio
import random
import struct
from dataclasses import dataclass
from typing import Optional

from anxin.bench.fuzz_wire import (
    CLOSE,
    NONE,
    OPTIONAL,
    REQUIRED,
    HttpRequest,
    TcpRequest,
    WsRequest,
    mask,
    ws_frame,
)

READ_CAP = 256 * 1024  # enough to see an error page; the rest is drained, not kept
CONNECT_TIMEOUT_S = 5.0
OPTIONAL_WAIT_S = 3.0
TRACEBACK = b"Traceback (most recent call last)"


@dataclass
class Ending:
    status: str  # "200", "101→ws-1002", "as-hangup", "drop", "timeout", ...
    failure: Optional[str] = None
    note: str = ""


class _Closed(Exception):
    pass


async def _connect(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(
        asyncio.open_connection(host, port, limit=2 * 1024 * 1024), CONNECT_TIMEOUT_S
    )


def _close(writer: asyncio.StreamWriter) -> None:
    try:
        writer.close()
    except (OSError, RuntimeError):
        pass


async def _write_all(writer: asyncio.StreamWriter, data: bytes) -> bool:
    """Write in pieces; False when the server closed or reset the connection meanwhile."""
    try:
        for i in range(0, len(data), 256 * 1024):
            writer.write(data[i : i + 256 * 1024])
            await writer.drain()
    except (ConnectionError, OSError):
        return False
    return True


async def _head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """The status and headers of the next final response (1xx other than 101 skipped)."""
    while True:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise _Closed(len(exc.partial)) from None
        except asyncio.LimitOverrunError:
            raise _Closed(-1) from None
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            raise _Closed(-1)
        status = int(parts[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if 100 <= status < 200 and status != 101:
            continue
        return status, headers


async def _body(reader: asyncio.StreamReader, headers: dict[str, str], head_only: bool) -> bytes:
    if head_only:
        return b""
    length = headers.get("content-length")
    if length is not None and length.isdigit():
        data = await reader.read(min(int(length), READ_CAP)) if int(length) else b""
        return data
    if "chunked" in headers.get("transfer-encoding", "").lower():
        out = b""
        while len(out) < READ_CAP:
            size_line = await reader.readline()
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                break
            out += await reader.readexactly(size)
            await reader.readexactly(2)
        return out
    return await reader.read(READ_CAP)


async def send_http(host: str, port: int, req: HttpRequest, timeout: float) -> Ending:
    try:
        reader, writer = await _connect(host, port)
    except (ConnectionRefusedError, asyncio.TimeoutError, OSError):
        return Ending("refused", "refused")
    data = req.wire(f"{host}:{port}")
    if req.send_only is not None:
        data = data[: req.send_only]
    try:
        writing = asyncio.ensure_future(_write_all(writer, data))
        if req.answer == NONE:
            await writing
            await asyncio.sleep(0.05)
            return Ending("closed by us")
        # A request that lies about its length may rightly be waited on: not for long.
        wait = min(timeout, OPTIONAL_WAIT_S) if req.answer == OPTIONAL else timeout
        try:
            status, headers = await asyncio.wait_for(_head(reader), wait)
        except asyncio.TimeoutError:
            if req.answer == OPTIONAL:
                return Ending("no answer (waiting)")
            return Ending("timeout", "timeout")
        except _Closed as exc:
            if req.answer == OPTIONAL:
                return Ending("closed")
            garbled = exc.args and exc.args[0]
            if not await writing:
                return Ending("reset while sending", "drop", "the server closed mid-request")
            return Ending("drop", "drop", "garbled answer" if garbled else "")
        except (ConnectionError, OSError):
            if req.answer == OPTIONAL:
                return Ending("reset")
            return Ending("drop", "drop", "reset")
        note = ""
        try:
            body = await asyncio.wait_for(_body(reader, headers, req.method == "HEAD"), timeout)
            if TRACEBACK in body:
                note = "a traceback in the answer"
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError,
                ValueError):  # fmt: skip
            pass
        failure = None
        if status >= 500:
            failure = "5xx"
        elif req.refuse and (200 <= status < 300 or status == 101):
            failure = "accepted"  # 101: a WebSocket call opened
        elif note:
            failure = "traceback"
        return Ending(str(status), failure, note)
    finally:
        _close(writer)
        writing.cancel()


# -- WebSocket ------------------------------------------------------------------------


async def _ws_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    b1, b2 = await reader.readexactly(2)
    n = b2 & 0x7F
    if n == 126:
        n = struct.unpack(">H", await reader.readexactly(2))[0]
    elif n == 127:
        n = struct.unpack(">Q", await reader.readexactly(8))[0]
    key = await reader.readexactly(4) if b2 & 0x80 else b""
    payload = await reader.readexactly(n)
    if key:
        payload = mask(payload, key)
    return b1 & 0x0F, payload


async def _listen_ws(reader: asyncio.StreamReader, seconds: float) -> tuple[str, int]:
    """Read the server's frames for ``seconds``: ("open" | "close" | "eof" | "reset", code)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while True:
        left = end - loop.time()
        if left <= 0:
            return "open", 0
        try:
            opcode, payload = await asyncio.wait_for(_ws_frame(reader), left)
        except asyncio.TimeoutError:
            return "open", 0
        except asyncio.IncompleteReadError:
            return "eof", 0
        except (ConnectionError, OSError):
            return "reset", 0
        if opcode == CLOSE:
            code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else 1005
            return "close", code


async def send_ws(host: str, port: int, req: WsRequest, timeout: float,
                  rng: random.Random) -> Ending:  # fmt: skip
    try:
        reader, writer = await _connect(host, port)
    except (ConnectionRefusedError, asyncio.TimeoutError, OSError):
        return Ending("refused", "refused")
    try:
        if not await _write_all(writer, req.wire(f"{host}:{port}")):
            return Ending("drop", "drop", "reset during the handshake")
        try:
            status, headers = await asyncio.wait_for(_head(reader), timeout)
        except asyncio.TimeoutError:
            return Ending("timeout", "timeout")
        except (_Closed, ConnectionError, OSError):
            return Ending("drop", "drop")
        if status != 101:
            try:
                await asyncio.wait_for(_body(reader, headers, False), 2)
            except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError,
                    ValueError):  # fmt: skip
                pass
            failure = "5xx" if status >= 500 else None
            return Ending(str(status), failure)
        accepted = "accepted" if req.refuse else None
        sent_ok = True
        for frame in req.frames:
            sent_ok = sent_ok and await _write_all(writer, frame)
        how, code = await _listen_ws(reader, req.listen_s)
        if how == "open":
            if req.finish == "close":
                await _write_all(writer, ws_frame(CLOSE, struct.pack(">H", 1000), rng))
                how2, code2 = await _listen_ws(reader, 2.0)
                ending = "101→closed" if how2 == "close" else f"101→{how2} after our close"
                return Ending(ending, accepted)
            return Ending("101→open, we left", accepted)
        status_text = f"101→ws-{code}" if how == "close" else f"101→{how}"
        if how == "close" and code == 1011:
            return Ending(status_text, "ws-1011")
        if req.keeps:
            return Ending(status_text, "dropped-call", "the server ended a valid call")
        if how in ("eof", "reset") and sent_ok and not req.frames:
            return Ending(status_text, "drop", "closed with no close frame")
        return Ending(status_text, accepted)
    finally:
        _close(writer)


# -- AudioSocket ----------------------------------------------------------------------


async def _listen_as(reader: asyncio.StreamReader, seconds: float) -> tuple[str, int]:
    """Read AudioSocket messages for ``seconds``: (how it ended, audio messages heard)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    audio = 0
    while True:
        left = end - loop.time()
        if left <= 0:
            return "open", audio
        try:
            head = await asyncio.wait_for(reader.readexactly(3), left)
            kind, n = head[0], struct.unpack(">H", head[1:])[0]
            await asyncio.wait_for(reader.readexactly(n), max(0.1, end - loop.time()))
        except asyncio.TimeoutError:
            return "open", audio
        except asyncio.IncompleteReadError:
            return "closed", audio
        except (ConnectionError, OSError):
            return "reset", audio
        if kind == 0x00:
            return "hangup", audio
        if kind == 0xFF:
            return "error", audio
        audio += 1


async def send_tcp(host: str, port: int, req: TcpRequest, timeout: float) -> Ending:
    try:
        reader, writer = await _connect(host, port)
    except (ConnectionRefusedError, asyncio.TimeoutError, OSError):
        return Ending("refused", "refused")
    try:
        for chunk in req.chunks:
            if not await _write_all(writer, chunk):
                break
        # Listened to before we leave: how the server treated what it was sent.
        how, audio = await _listen_as(reader, min(req.listen_s, timeout))
        status = f"as-{how}" + (" (speech heard)" if audio else "")
        if req.keeps and how in ("closed", "reset", "hangup", "error"):
            return Ending(status, "dropped-call", "the server ended a valid call")
        if req.finish == "half-close" and how == "open":
            try:
                writer.write_eof()  # we hang up by closing our side; the server follows
            except (OSError, RuntimeError):
                pass
            after, _ = await _listen_as(reader, 2.0)
            status += f", {after} after our hang-up"
        return Ending(status)
    finally:
        _close(writer)


async def send(host: str, port: int, req: object, timeout: float, rng: random.Random) -> Ending:
    if isinstance(req, HttpRequest):
        return await send_http(host, port, req, timeout)
    if isinstance(req, WsRequest):
        return await send_ws(host, port, req, timeout, rng)
    if isinstance(req, TcpRequest):
        return await send_tcp(host, port, req, timeout)
    raise TypeError(type(req).__name__)


__all__ = ["Ending", "REQUIRED", "send", "send_http", "send_tcp", "send_ws"]
