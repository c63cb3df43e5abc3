"""Rasa's API as Anxin serves it: five routes, each taking exactly what Anxin sends it."""

from __future__ import annotations

import json

import pytest

from anxin.rasa_api import problem

STAFF_REPLY = json.dumps(
    {"event": "bot", "text": "王阿姨，护士马上到。", "metadata": {"staff": "li"}}
).encode()


@pytest.mark.parametrize(
    ("method", "path", "query", "body"),
    [
        ("GET", "/", "", b""),
        ("GET", "/version", "", b""),
        ("GET", "/status", "token=t", b""),
        ("GET", "/conversations/telegram:42/tracker", "token=t", b""),
        ("GET", "/conversations/rest:a/b/tracker", "include_events=applied&until=1764000000", b""),
        ("POST", "/conversations/wechat:o-X/tracker/events", "token=t", STAFF_REPLY),
        ("POST", "/conversations/rest:a/tracker/events", "", b"[" + STAFF_REPLY + b"]"),
        ("POST", "/model/parse", "token=t", b'{"text": "hello"}'),
        ("POST", "/model/parse", "emulation_mode=wit", b'{"text": "", "message_id": "m1"}'),
        ("POST", "/model/parse/", "", '{"text": "我想订午饭"}'.encode()),
        ("POST", "/webhooks/rest/webhook", "", b"[]"),  # the channel checks its own
        ("OPTIONS", "/model/parse", "", b""),
    ],
)
def test_what_anxin_sends_is_let_through(method, path, query, body):
    assert problem(method, path, query, body) is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/model"),
        ("DELETE", "/model"),
        ("POST", "/model/train"),
        ("POST", "/model/test/stories"),
        ("POST", "/model/test/intents"),
        ("POST", "/model/predict"),
        ("GET", "/domain"),
        ("GET", "/conversations/a/story"),
        ("POST", "/conversations/a/execute"),
        ("POST", "/conversations/a/trigger_intent"),
        ("POST", "/conversations/a/predict"),
        ("POST", "/conversations/a/messages"),
        ("GET", "/conversations"),
    ],
)
def test_admin_powers_anxin_does_not_use_are_not_served(method, path):
    refusal = problem(method, path, "token=t", b"{}")
    assert refusal is not None and refusal.status == 404
    assert refusal.body()["message"] == "not served by Anxin"


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "status", "why"),
    [
        ("PUT", "/conversations/a/tracker/events", "", STAFF_REPLY, 405, "POST only"),
        ("POST", "/status", "", b"", 405, "GET only"),
        ("GET", "/conversations/a/tracker", "include_events=SOME", b"", 400, "include_events"),
        ("GET", "/conversations/a/tracker", "until=nan", b"", 400, "until"),
        ("GET", "/conversations/a/tracker", "until=1e308", b"", 400, "until"),
        ("GET", "/conversations/a/tracker", "until=x", b"", 400, "until"),
        ("GET", "/conversations/a/tracker", "token=a&token=b", b"", 400, "twice"),
        ("GET", "/conversations/a/tracker", "sender=x", b"", 400, "sender"),
        ("GET", "/conversations/a/tracker", "%ff=1", b"", 400, "well formed"),
        ("GET", "/conversations/" + "x" * 201 + "/tracker", "", b"", 400, "conversation id"),
        ("GET", "/conversations/a\x00b/tracker", "", b"", 400, "conversation id"),
        ("POST", "/model/parse", "", b"", 400, "object"),
        ("POST", "/model/parse", "", b"[]", 400, "object"),
        ("POST", "/model/parse", "", b'"hello"', 400, "object"),
        ("POST", "/model/parse", "", b"\xff{}", 400, "UTF-8"),
        ("POST", "/model/parse", "", b"{", 400, "JSON"),
        ("POST", "/model/parse", "", b"[" * 50_000, 400, "deep"),
        ("POST", "/model/parse", "", b'{"text": true}', 400, "string"),
        ("POST", "/model/parse", "", b'{"message_id": "m"}', 400, "required"),
        ("POST", "/model/parse", "", b'{"text": "a", "sender": "b"}', 400, "sender"),
        ("POST", "/model/parse", "", b'{"text": "a", "message_id": 5}', 400, "message_id"),
        ("POST", "/model/parse", "emulation_mode=x", b'{"text": "a"}', 400, "emulation"),
        ("POST", "/model/parse", "", json.dumps({"text": "我" * 2001}).encode(), 400, "2000"),
        ("POST", "/conversations/a/tracker/events", "", b"[]", 400, "1 to 20"),
        ("POST", "/conversations/a/tracker/events", "", b"[" + b"{}," * 20 + b"{}]", 400,
         "1 to 20"),
        ("POST", "/conversations/a/tracker/events", "", b"[1]", 400, "JSON object"),
        ("POST", "/conversations/a/tracker/events", "", b'{"event": "user", "text": "hi"}',
         400, "bot events only"),
        ("POST", "/conversations/a/tracker/events", "", b'{"event": "reminder"}', 400, "bot"),
        ("POST", "/conversations/a/tracker/events", "", b'{"event": "bot", "text": 3}', 400,
         "string"),
        ("POST", "/conversations/a/tracker/events", "",
         b'{"event": "bot", "text": "a", "metadata": []}', 400, "metadata"),
        ("POST", "/conversations/a/tracker/events", "",
         b'{"event": "bot", "text": "a", "timestamp": 1e300}', 400, "timestamp"),
        ("POST", "/conversations/a/tracker/events", "",
         b'{"event": "bot", "text": "a", "policy": "x"}', 400, "policy"),
        ("POST", "/conversations/a/tracker/events", "output_channel=latest", STAFF_REPLY, 400,
         "output_channel"),
        ("POST", "/conversations/a/tracker/events", "execute_side_effects=maybe", STAFF_REPLY,
         400, "true or false"),
    ],
)  # fmt: skip
def test_anything_else_is_refused_with_a_reason(method, path, query, body, status, why):
    refusal = problem(method, path, query, body)
    assert refusal is not None, (method, path, query, body[:40])
    assert refusal.status == status
    assert why in refusal.message, refusal.message
