"""The real stack on PostgreSQL (`anxin run`: Rasa, the action server, Telegram against its
fake Bot API) against what went wrong below our handlers, each a 4xx or an acknowledged
200 now, with Rasa answering people afterwards:

- malformed request heads on Rasa's routes and the action server's (anxin/http_guard.py):
  ``Content-Length: -1`` froze Rasa for good; others were 500s or dropped connections;
- malformed WebSocket upgrades to ``/webhooks/voice/stream``: 500s;
- Telegram updates with numbers that are not finite (503: redelivered for ever) or ids
  that are no ids (``sendMessage`` to chat ``False``) (channels/telegram_update.py);
- a NUL in a REST poll's sender (a 500: PostgreSQL refuses it) (channels/limits.py).
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

from tests.channels.stacks import ChannelStack, Person, running
from tests.conftest import fresh_pg
from tests.integration.test_stack import post
from tests.support.raw_http import MALFORMED, exchange, for_route, head
from tests.support.telegram_updates import unusable_bodies

RASA_ROUTES = [
    "/webhooks/rest/webhook", "/webhooks/telegram/webhook", "/webhooks/voice/turn",
    "/webhooks/rest/notifications", "/model/parse", "/webhooks/voice/stream",
]  # fmt: skip
KEY = base64.b64encode(os.urandom(16)).decode()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, pg_schema_url: str) -> Iterator[ChannelStack]:
    fresh_pg(pg_schema_url)
    tmp: Path = tmp_path_factory.mktemp("http-hardening")
    with running(tmp, telegram=True, ANXIN_DB_URL=pg_schema_url) as s:
        yield s


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_malformed_heads_get_a_4xx_on_every_route_and_rasa_answers_after(stack):
    for path in RASA_ROUTES:
        for name, raw, status in MALFORMED:
            answer = exchange(stack.port, for_route(raw, path))
            assert answer.status == status, (path, name, answer.how, answer.head[:200])
            assert "error" in json.loads(answer.body)
    assert post(stack.port, "http-after-heads", "hello")  # the same Rasa process, answering


def test_the_action_server_refuses_them_too_and_keeps_serving(stack):
    port = int(stack.env["ANXIN_ACTIONS_PORT"])
    for name, raw, status in MALFORMED:
        answer = exchange(port, for_route(raw, "/webhook"))
        assert answer.status == status, (name, answer.how, answer.head[:200])
    token = f"Authorization: Bearer {stack.env['ANXIN_ACTION_TOKEN']}"
    assert exchange(port, head("GET /nowhere HTTP/1.1", token)).status == 404  # was a 500
    assert exchange(port, head("GET /health HTTP/1.1"), then_wait_s=0).status == 200
    assert post(stack.port, "http-after-actions", "what can you do")  # Rasa still reaches it


def test_malformed_websocket_upgrades_are_refused(stack):
    good = ["Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {KEY}",
            "Sec-WebSocket-Version: 13"]  # fmt: skip
    cases = [
        ([h for h in good if not h.startswith("Sec-WebSocket-Key")], 400),
        ([h for h in good if not h.startswith("Upgrade")], 400),
        (["Connection: keep-alive" if h.startswith("Connection") else h for h in good], 400),
        (["Sec-WebSocket-Key: c2hvcnQ=" if h.startswith("Sec-WebSocket-Key") else h
          for h in good], 400),
        (["Sec-WebSocket-Version: 8" if h.startswith("Sec-WebSocket-Version") else h
          for h in good], 426),
    ]  # fmt: skip
    for headers, status in cases:
        raw = head("GET /webhooks/voice/stream?sender=ws-caller HTTP/1.1", *headers)
        answer = exchange(stack.port, raw)
        assert answer.status == status, (headers, answer.head[:200])  # each was a 500
    assert answer.header("sec-websocket-version") == "13"


def test_unusable_telegram_updates_are_acknowledged_and_never_answered(stack):
    bodies = unusable_bodies(9_100_000)
    for body in bodies:
        assert stack.post_telegram(body) == 200  # NaN and the like: 503 on PostgreSQL before
    status, health = _get(f"http://127.0.0.1:{stack.port}/webhooks/telegram")
    assert status == 200 and json.loads(health)["unusable"] == len(bodies)
    # nothing was sent to anyone (before, chat False and 1.5 were answered)
    assert [c for c in stack.telegram_api.calls if c.method == "sendMessage"] == []
    ann = Person(stack, 8201, language_code="en")
    assert ann.say("hello")  # a person is answered as before


def test_a_rest_poll_sender_with_a_nul_is_400(stack):
    base = f"http://127.0.0.1:{stack.port}/webhooks/rest"
    for route in ("notifications", "staff_replies"):
        for sender in ("%00", "a%00b", "%1b%5b31m", "x" * 201):
            status, body = _get(f"{base}/{route}?sender={sender}")
            assert status == 400, (route, sender, body[:200])  # %00 was a 500 on PostgreSQL
        assert _get(f"{base}/{route}?sender=app-li")[0] == 200
