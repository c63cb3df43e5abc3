"""HTTP spoken by hand, for heads no HTTP client library would send; and the malformed
heads that Sanic 21.12 mishandled (anxin/http_guard.py), with the answer each must get.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Optional


@dataclass
class Answer:
    status: Optional[int]  # None: no answer (see ``how``)
    head: bytes = b""
    body: bytes = b""
    how: str = "answered"  # answered, closed (no answer), reset, timeout
    closed: bool = False  # the server closed the connection after its answer

    def header(self, name: str) -> Optional[str]:
        for line in self.head.split(b"\r\n")[1:]:
            key, _, value = line.partition(b":")
            if key.strip().lower() == name.lower().encode():
                return value.strip().decode("latin-1")
        return None


def exchange(port: int, raw: bytes, timeout: float = 10.0, then_wait_s: float = 1.0) -> Answer:
    """Send ``raw`` and read one answer: its status, head and body (by Content-Length), and
    whether the server then closed the connection (waiting ``then_wait_s`` for it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(raw)
        except OSError:
            pass  # refused while still sending: its answer may be waiting all the same
        data = b""
        deadline = time.monotonic() + timeout
        try:
            while b"\r\n\r\n" not in data:
                sock.settimeout(max(0.01, deadline - time.monotonic()))
                chunk = sock.recv(65536)
                if not chunk:
                    return Answer(None, data, how="closed", closed=True)
                data += chunk
        except TimeoutError:
            return Answer(None, data, how="timeout")
        except ConnectionResetError:
            return Answer(None, data, how="reset")
        head, _, body = data.partition(b"\r\n\r\n")
        answer = Answer(int(head.split(b" ", 2)[1]), head)
        length = int(answer.header("content-length") or 0)
        closed = False
        try:
            while len(body) < length:
                chunk = sock.recv(65536)
                if not chunk:
                    closed = True
                    break
                body += chunk
            if not closed and then_wait_s > 0:
                sock.settimeout(then_wait_s)
                closed = sock.recv(1) == b""
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed = True
        answer.body, answer.closed = body[:length], closed
        return answer


def head(request_line: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [request_line, "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


# (name, request to any route ({path} is the route's path), the status it must get)
MALFORMED: list[tuple[str, bytes, int]] = [
    ("negative length", head("POST {path} HTTP/1.1", "Content-Length: -1", body=b"{}"), 400),
    ("length abc", head("POST {path} HTTP/1.1", "Content-Length: abc", body=b"{}"), 400),
    ("length in hex", head("POST {path} HTTP/1.1", "Content-Length: 0x2", body=b"{}"), 400),
    ("length with a plus", head("POST {path} HTTP/1.1", "Content-Length: +2", body=b"{}"), 400),
    ("length with _", head("POST {path} HTTP/1.1", "Content-Length: 0_2", body=b"{}"), 400),
    ("lengths that disagree",
     head("POST {path} HTTP/1.1", "Content-Length: 2", "Content-Length: 7", body=b"{}"), 400),
    ("length 2^64", head("POST {path} HTTP/1.1", f"Content-Length: {2**64}", body=b"{}"), 413),
    ("gzip coding", head("POST {path} HTTP/1.1", "Transfer-Encoding: gzip", body=b"{}"), 400),
    ("gzip coding on a GET", head("GET {path} HTTP/1.1", "Transfer-Encoding: gzip"), 400),
    ("chunked and a length",
     head("POST {path} HTTP/1.1", "Content-Length: 2", "Transfer-Encoding: chunked",
          body=b"2\r\n{}\r\n0\r\n\r\n"), 400),
    ("raw bytes in the query", head("GET {path}?q=\xff\xfe HTTP/1.1"), 400),
    ("raw UTF-8 in the path", head("GET {path}/\xe2\x98\x83 HTTP/1.1"), 400),
    ("no leading slash", head("GET {bare} HTTP/1.1"), 400),
    ("CONNECT", head("CONNECT 127.0.0.1:22 HTTP/1.1"), 400),
    ("space before the colon", head("POST {path} HTTP/1.1", "Content-Length : 2"), 400),
    ("a folded header", head("GET {path} HTTP/1.1", "X-A: a", "  folded"), 400),
    ("two hosts", head("GET {path} HTTP/1.1", "Host: evil.example"), 400),
    ("NUL in a header", head("GET {path} HTTP/1.1", "X-A: a\x00b"), 400),
    ("HTTP/2.0 over HTTP/1", head("GET {path} HTTP/2.0"), 400),
    ("unknown Expect", head("POST {path} HTTP/1.1", "Content-Length: 2", "Expect: soon",
                            body=b"{}"), 417),
    ("LF line ends", b"GET {path} HTTP/1.1\nHost: 127.0.0.1\n\n", 400),
    ("head over 8 KB", head("GET {path} HTTP/1.1", "X-A: " + "a" * 9000), 431),
    ("head of 1 MB", head("GET {path} HTTP/1.1", "X-A: " + "a" * 1_000_000), 431),
]  # fmt: skip


def for_route(raw: bytes, path: str) -> bytes:
    return raw.replace(b"{path}", path.encode()).replace(b"{bare}", path.lstrip("/").encode())
