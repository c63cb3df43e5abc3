"""What ``anxin bench fuzz`` sends, as bytes: HTTP requests, WebSocket frames, AudioSocket
messages, and WeChat's signing and AES envelope (pure: no sockets here).

A request is kept as parts so that any part can lie: the Content-Length header can be
left out or say anything, a header value can hold any byte, and ``raw`` replaces the
whole request when even the request line is the attack. WeChat's safe-mode envelope is
built here rather than by wechatpy so that its random prefix comes from the seed and its
padding, length and AppID can be wrong on purpose.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import struct
from dataclasses import dataclass, field
from typing import Any, Optional, Union

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

# How the server is expected to end a request (see fuzz.py for what counts as a failure):
REQUIRED = "required"  # an HTTP answer must come, and not a 5xx
OPTIONAL = "optional"  # the server may answer, wait for more or close (not HTTP, a lie)
NONE = "none"  # we close first (an abrupt client): only the server's survival counts


@dataclass
class HttpRequest:
    method: str
    target: str  # path and query as they go on the wire (already percent-encoded)
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    body: bytes = b""
    # "auto": Content-Length from the body when there is one (or the method is POST/PUT);
    # None: no Content-Length at all; any other text: sent as it is.
    length: Optional[str] = "auto"
    raw: Optional[bytes] = None  # the whole request, sent as it is (Host and all)
    answer: str = REQUIRED
    send_only: Optional[int] = None  # abrupt: this many bytes, then the connection closes
    refuse: bool = False  # the right answer is a refusal: a 2xx is reported as accepted

    def wire(self, host: str) -> bytes:
        if self.raw is not None:
            return self.raw
        names = {k.lower() for k, _ in self.headers}
        lines = [f"{self.method} {self.target} HTTP/1.1".encode("latin-1", "replace")]
        if "host" not in names:
            lines.append(f"Host: {host}".encode())
        if "connection" not in names:
            lines.append(b"Connection: close")
        if self.length == "auto":
            if self.body or self.method in ("POST", "PUT", "PATCH"):
                lines.append(b"Content-Length: " + str(len(self.body)).encode())
        elif self.length is not None:
            lines.append(b"Content-Length: " + self.length.encode("latin-1", "replace"))
        lines += [k.encode("latin-1", "replace") + b": " + v for k, v in self.headers]
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


@dataclass
class WsRequest:
    """A WebSocket call: the upgrade request, then frames, then how we leave."""

    target: str
    headers: list[tuple[str, bytes]]
    frames: list[bytes] = field(default_factory=list)
    finish: str = "close"  # "close" (a close frame), "abort" (TCP closed), "silent" (wait)
    keeps: bool = False  # nothing sent breaks the protocol: the server must not close first
    listen_s: float = 1.0
    refuse: bool = False

    def wire(self, host: str) -> bytes:
        lines = [f"GET {self.target} HTTP/1.1".encode("latin-1", "replace")]
        names = {k.lower() for k, _ in self.headers}
        if "host" not in names:
            lines.append(f"Host: {host}".encode())
        lines += [k.encode("latin-1", "replace") + b": " + v for k, v in self.headers]
        return b"\r\n".join(lines) + b"\r\n\r\n"


@dataclass
class TcpRequest:
    """An AudioSocket connection: chunks of bytes, then how we leave."""

    chunks: list[bytes]
    finish: str = "abort"  # "abort" (TCP closed), "half-close" (we stop writing), "wait"
    keeps: bool = False  # a well-formed call: the server must not hang up first
    listen_s: float = 1.0


Request = Union[HttpRequest, WsRequest, TcpRequest]


# -- WebSocket frames ------------------------------------------------------------------

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0


def ws_frame(
    opcode: int,
    payload: bytes,
    rng: random.Random,
    fin: bool = True,
    masked: bool = True,
    rsv: int = 0,
    length: Optional[int] = None,
) -> bytes:
    """One frame as a client sends it (masked), any field settable; ``length`` may lie."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv & 0x7) << 4 | (opcode & 0xF)])
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack(">H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack(">Q", n & 0xFFFFFFFFFFFFFFFF)
    if not masked:
        return head + payload
    key = rng.randbytes(4)
    return head + key + mask(payload, key)


def mask(payload: bytes, key: bytes) -> bytes:
    """XOR with the 4-byte key, repeated (as one big integer: megabytes in milliseconds)."""
    if not payload:
        return b""
    n = len(payload)
    keys = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")).to_bytes(n, "big")


def ws_key(rng: random.Random) -> str:
    return base64.b64encode(rng.randbytes(16)).decode()


def upgrade_headers(key: str) -> list[tuple[str, bytes]]:
    return [
        ("Upgrade", b"websocket"),
        ("Connection", b"Upgrade"),
        ("Sec-WebSocket-Key", key.encode()),
        ("Sec-WebSocket-Version", b"13"),
    ]


# -- AudioSocket -----------------------------------------------------------------------


def as_message(kind: int, payload: bytes = b"", length: Optional[int] = None) -> bytes:
    """kind (1 byte) + length (2 bytes, big-endian; may lie) + payload."""
    n = len(payload) if length is None else length
    return struct.pack(">BH", kind & 0xFF, n & 0xFFFF) + payload


# -- WeChat ----------------------------------------------------------------------------


def wechat_signature(*parts: str) -> str:
    """WeChat's SHA-1 over the sorted parts (token, timestamp, nonce[, Encrypt])."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def wechat_encrypt(
    xml: bytes,
    aes_key: str,
    app_id: str,
    rng: random.Random,
    declared: Optional[int] = None,
    pad: Optional[int] = None,
) -> str:
    """Safe mode's Encrypt element: AES-CBC over random(16) + length + xml + AppID, padded
    to 32 bytes (PKCS#7 as WeChat does it); ``declared`` and ``pad`` may lie."""
    key = base64.b64decode(aes_key + "=")
    plain = rng.randbytes(16) + struct.pack(">I", len(xml) if declared is None else declared)
    plain += xml + app_id.encode()
    count = 32 - len(plain) % 32
    padding = bytes([count if pad is None else pad]) * count
    enc = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(enc.update(plain + padding) + enc.finalize()).decode()


# -- JSON with values Python's json will not write -------------------------------------


class RawJson:
    """A JSON value written as this text exactly (1e999, -0, a bare NaN, a bad escape)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"RawJson({self.text[:20]!r})"


def dump_json(value: Any, ascii_only: bool = True) -> str:
    """``json.dumps`` with ``RawJson`` values spliced in; lone surrogates stay escapes."""
    raws: list[str] = []

    def swap(v: Any) -> Any:
        if isinstance(v, RawJson):
            raws.append(v.text)
            return f"\x00raw{len(raws) - 1}\x00"
        if isinstance(v, dict):
            return {str(k): swap(x) for k, x in v.items()}
        if isinstance(v, list):
            return [swap(x) for x in v]
        if isinstance(v, bytes):  # a form's raw bytes sent as JSON instead: as text
            return v.decode("latin-1")
        return v

    text = json.dumps(swap(value), ensure_ascii=ascii_only)
    for i, raw in enumerate(raws):
        marker = json.dumps(f"\x00raw{i}\x00", ensure_ascii=ascii_only)
        text = text.replace(marker, raw, 1)
    return text


def utf8(text: str) -> bytes:
    """UTF-8, a lone surrogate written as the 3 bytes it would take (not valid UTF-8)."""
    return text.encode("utf-8", "surrogatepass")
