"""Sanic 21.12 behind anxin/http_guard.py: malformed request heads and WebSocket upgrades
get a short 4xx, the server keeps answering, and what real clients send still passes.

The head check is tested as a pure function; then on a real Sanic server and on
rasa-sdk's real action server, each in a process of its own with the guard installed as
anxin/rasa_server.py and anxin/action_server.py install it. Without the guard the same
requests froze the server (``Content-Length: -1``), got 500s or no answer at all.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anxin.http_guard import check_head, check_upgrade
from tests.support.guarded_sanic import serving
from tests.support.raw_http import MALFORMED, exchange, for_route, head

MAX = 1_000_000
KEY = base64.b64encode(os.urandom(16)).decode()
UPGRADE = ("Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {KEY}",
           "Sec-WebSocket-Version: 13")  # fmt: skip


CASES = [pytest.param(name, raw, status, id=name) for name, raw, status in MALFORMED]


def _head(raw: bytes) -> bytes:
    return for_route(raw, "/x").split(b"\r\n\r\n", 1)[0]


# -- the check itself ------------------------------------------------------------------


@pytest.mark.parametrize("name,raw,status", [c for c in CASES if "LF" not in c.id
                                             and "head " not in c.id])  # fmt: skip
def test_each_malformed_head_is_refused_with_its_status(name, raw, status):
    refusal = check_head(_head(raw), MAX)
    assert refusal is not None and refusal.status == status, name
    assert len(refusal.response()) < 300


GOOD = [
    head("GET /x HTTP/1.1"),
    head("GET /x?sender=a%00b&q=%E4%BD%A0 HTTP/1.1", "Accept: */*", "User-Agent: curl/8"),
    head("POST /x HTTP/1.1", "Content-Type: application/json", "Content-Length: 2"),
    head("POST /x HTTP/1.1", "content-length:2"),  # no space: valid
    head("POST /x HTTP/1.1", "Content-Length:  2 "),  # whitespace around a value is no part of it
    head("POST /x HTTP/1.1", "Content-Length: 2", "Content-Length: 2"),  # the same twice
    head("POST /x HTTP/1.1", "Transfer-Encoding: chunked"),
    head("POST /x HTTP/1.1", "Content-Length: 2", "Expect: 100-continue"),
    head("GET /x HTTP/1.0"),
    head("GET http://127.0.0.1/x HTTP/1.1"),  # absolute form: servers must take it
    head("OPTIONS * HTTP/1.1"),
    head("GET /ws HTTP/1.1", *UPGRADE, "Origin: http://a", "X-Tab:\tvalue\twith tabs"),
    head("GET /x HTTP/1.1", "X-Telegram-Bot-Api-Secret-Token: s3cret-Token_1",
         "Accept-Language: zh-CN,zh;q=0.9", "X-Fuzz: caf\xe9"),  # obs-text is allowed
]  # fmt: skip


@pytest.mark.parametrize("raw", GOOD)
def test_what_clients_send_passes(raw):
    assert check_head(_head(raw), MAX) is None


def test_a_length_over_the_body_limit_is_413_before_any_body_is_read():
    assert check_head(_head(head("POST /x HTTP/1.1", f"Content-Length: {MAX}")), MAX) is None
    refusal = check_head(_head(head("POST /x HTTP/1.1", f"Content-Length: {MAX + 1}")), MAX)
    assert refusal is not None and refusal.status == 413


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"GET", b" ", b"/x", b"x", b"HTTP/1.1", b"\r\n", b":", b"\n",
                                 b"Content-Length", b"Transfer-Encoding", b"chunked", b"-1",
                                 b"\xff", b"\x00", b"\t", b"Host", b"Expect", b"9" * 30]),
                max_size=30).map(b"".join))  # fmt: skip
def test_no_head_makes_the_check_raise(raw):
    refusal = check_head(raw, MAX)
    assert refusal is None or 400 <= refusal.status < 500


def _upgrade(drop: str, replace: str = "") -> list[str]:
    return [h for h in UPGRADE if not h.startswith(drop + ":")] + ([replace] if replace else [])


WS_MALFORMED = [
    (_upgrade("Sec-WebSocket-Key"), 400),
    (_upgrade("Upgrade"), 400),
    (_upgrade("Connection", "Connection: keep-alive"), 400),
    (_upgrade("Sec-WebSocket-Key", "Sec-WebSocket-Key: c2hvcnQ="), 400),  # 5 bytes, not 16
    (_upgrade("Sec-WebSocket-Version", "Sec-WebSocket-Version: 8"), 426),
]


@pytest.mark.parametrize("headers,status", WS_MALFORMED)
def test_malformed_upgrades_are_400_or_426_for_a_version(headers, status):
    refusal = check_upgrade("/ws", [(h.split(": ", 1)[0], h.split(": ", 1)[1]) for h in headers])
    assert refusal is not None and refusal.status == status
    assert dict(refusal.headers).get("Sec-WebSocket-Version") == ("13" if status == 426 else None)


def test_a_good_upgrade_passes():
    assert check_upgrade("/ws", [(h.split(": ")[0], h.split(": ")[1]) for h in UPGRADE]) is None


# -- a real Sanic server, guarded ------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[int]:
    with serving("app") as (port, _):
        yield port


def _alive(port: int) -> None:
    answer = exchange(port, head("POST /x HTTP/1.1", "Content-Length: 2", body=b"{}"),
                      then_wait_s=0)  # fmt: skip
    assert answer.status == 200 and json.loads(answer.body) == {"bytes": 2}


@pytest.mark.parametrize("name,raw,status", CASES)
def test_the_server_answers_each_malformed_head_and_keeps_answering(server, name, raw, status):
    answer = exchange(server, for_route(raw, "/x"))
    assert answer.status == status, (name, answer.how, answer.head[:200])
    assert answer.header("content-type") == "application/json"
    assert "error" in json.loads(answer.body) and len(answer.body) < 120
    assert answer.closed  # a head like that: nothing after it on this connection is trusted
    _alive(server)


def test_a_negative_length_does_not_freeze_the_server(server):
    # Before the guard: no answer, and Sanic's body reader spun for good on the event loop.
    for _ in range(3):
        assert exchange(server, head("POST /x HTTP/1.1", "Content-Length: -1",
                                     body=b"{}")).status == 400  # fmt: skip
    _alive(server)


def test_requests_clients_send_are_served(server):
    chunked = head("POST /x HTTP/1.1", "Transfer-Encoding: chunked",
                   body=b"2\r\n{}\r\n1\r\n \r\n0\r\n\r\n")  # fmt: skip
    assert json.loads(exchange(server, chunked).body) == {"bytes": 3}
    continued = head("POST /x HTTP/1.1", "Content-Length: 2", "Expect: 100-continue",
                     body=b"{}")  # fmt: skip
    assert exchange(server, continued).status in (100, 200)  # 100 Continue, then the answer
    assert exchange(server, head("GET http://127.0.0.1/x HTTP/1.1")).status == 200
    keep_alive = head("GET /x HTTP/1.1") + head("POST /x HTTP/1.1", "Content-Length: 1", body=b"a")
    answer = exchange(server, keep_alive)
    assert answer.status == 200 and not answer.closed


def test_a_good_websocket_upgrade_opens(server):
    answer = exchange(server, head("GET /ws HTTP/1.1", *UPGRADE))
    assert answer.status == 101


@pytest.mark.parametrize("headers,status", WS_MALFORMED)
def test_a_malformed_websocket_upgrade_is_refused(server, headers, status):
    answer = exchange(server, head("GET /ws HTTP/1.1", *headers))
    assert answer.status == status  # was 500 ("'Request' object has no attribute '_exception'")
    if status == 426:
        assert answer.header("sec-websocket-version") == "13"
    _alive(server)


# -- rasa-sdk's action server, guarded -------------------------------------------------


@pytest.fixture(scope="module")
def actions() -> Iterator[int]:
    with serving("sdk") as (port, _):
        yield port


@pytest.mark.parametrize("raw,status", [
    (head("GET /nowhere HTTP/1.1"), 404),  # each was a 500
    (head("PUT /webhook HTTP/1.1", "Content-Length: 2", body=b"{}"), 405),
    (head("POST /webhook HTTP/1.1", "Transfer-Encoding: chunked", body=b"zz\r\n{}\r\n0\r\n\r\n"),
     400),
    (head("POST /webhook HTTP/1.1", "Content-Length: abc", body=b"{}"), 400),
    (head("POST /webhook HTTP/1.1", "Content-Length: -1", body=b"{}"), 400),
    (head("POST /webhook?\xff HTTP/1.1", "Content-Length: 2", body=b"{}"), 400),
])  # fmt: skip
def test_the_action_server_answers_client_errors_as_such(actions, raw, status):
    # rasa-sdk's catch-all handler made each of these a 500 echoing the request body
    answer = exchange(actions, raw)
    assert answer.status == status, answer.head[:200]
    assert "request_body" not in json.loads(answer.body)
    assert exchange(actions, head("GET /health HTTP/1.1"), then_wait_s=0).status == 200
