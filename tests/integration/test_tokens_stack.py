"""`anxin run` beyond this machine (ANXIN_BIND=0.0.0.0) with its tokens: who may call what.

One stack, bound to every address, with ANXIN_REST_TOKEN, ANXIN_ACTION_TOKEN and
ANXIN_RASA_TOKEN set. The REST and voice routes refuse callers without the REST token
(401), the action server refuses anyone but Rasa, Rasa's API refuses calls without its
token even on loopback, and custom actions still run: the action server listens on
loopback where Rasa calls it. No token shows in the logs or on a command line.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import urllib.error
import urllib.request
import wave
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import websockets
from websockets.exceptions import InvalidStatusCode

from tests.integration.test_stack import (
    READY_TIMEOUT_S,
    Output,
    free_port,
    rasa_ready,
    start,
    stop,
)
from tests.support.rasa_api import RASA_TOKEN

REST_TOKEN = "r3st-token-for-integrations"
ACTION_TOKEN = "act10n-token-only-rasa-has"


class Stack:
    def __init__(self, env: dict[str, str], out: Output) -> None:
        self.rasa = f"http://127.0.0.1:{env['ANXIN_RASA_PORT']}"
        self.actions = f"http://127.0.0.1:{env['ANXIN_ACTIONS_PORT']}"
        self.out = out


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("tokens")
    proc, env, out = start(
        tmp, ANXIN_BIND="0.0.0.0", ANXIN_REST_TOKEN=REST_TOKEN, ANXIN_ACTION_TOKEN=ACTION_TOKEN,
        ANXIN_STAFF_SECURE_COOKIES="1", ANXIN_ACTIONS_PORT=str(free_port()),
    )  # fmt: skip
    try:
        try:
            rasa_ready(int(env["ANXIN_RASA_PORT"]), proc)
            out.wait_for(r"Action endpoint is up and running", READY_TIMEOUT_S)
        except AssertionError:
            raise AssertionError(out.text[-4000:]) from None
        yield Stack(env, out)
    finally:
        stop(proc, out)


def call(url: str, body: Optional[bytes] = None, **headers: str) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        raw = err.read()
        assert b"Traceback" not in raw
        return err.code, json.loads(raw) if raw.startswith(b"{") else raw


def rest(stack: Stack, sender: str, text: str, **headers: str) -> tuple[int, Any]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    return call(f"{stack.rasa}/webhooks/rest/webhook", body,
                **{"Content-Type": "application/json", **headers})  # fmt: skip


BEARER = {"Authorization": f"Bearer {REST_TOKEN}"}


def silence_wav(seconds: float = 1.0) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\0\0" * int(16000 * seconds))
    return buf.getvalue()


def test_the_rest_channel_answers_only_holders_of_the_rest_token(stack: Stack):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": REST_TOKEN},
                    {"Authorization": f"Bearer {RASA_TOKEN}"}):  # fmt: skip
        status, body = rest(stack, "tok-elder", "你们都有啥服务", **headers)
        assert status == 401 and "Bearer" in body["error"], (headers, body)
    polled = call(f"{stack.rasa}/webhooks/rest/staff_replies?sender=tok-elder")
    assert polled[0] == 401
    assert call(f"{stack.rasa}/webhooks/rest/notifications?sender=tok-elder")[0] == 401
    assert call(f"{stack.rasa}/webhooks/rest/") == (200, {"status": "ok"})  # health: open
    # With it: answered, and the custom action ran (it reads the catalogue), so Rasa
    # reaches the action server on loopback although ANXIN_BIND is 0.0.0.0.
    status, answer = rest(stack, "tok-elder", "你们都有啥服务", **BEARER)
    assert status == 200 and "午饭还有" in answer[0]["text"], answer
    assert answer[0]["recipient_id"] == "tok-elder"
    assert call(f"{stack.rasa}/webhooks/rest/staff_replies?sender=tok-elder", **BEARER) == (
        200, [],
    )  # fmt: skip


def test_the_voice_routes_answer_only_holders_of_the_rest_token(stack: Stack):
    turn = f"{stack.rasa}/webhooks/voice/turn?sender=tok-caller&language=en"
    wav = {"Content-Type": "audio/wav"}
    assert call(turn, silence_wav(), **wav)[0] == 401
    assert call(f"{turn}&token={REST_TOKEN}", silence_wav(), **wav)[0] == 401  # not in a URL
    status, answer = call(turn, silence_wav(), **wav, **BEARER)
    assert status == 200 and answer["no_speech"] is True, answer
    assert call(f"{stack.rasa}/webhooks/voice/")[0] == 200  # health: open

    ws = stack.rasa.replace("http://", "ws://") + "/webhooks/voice/stream?sender=tok-caller"

    async def refused(url: str, **headers: str) -> int:
        with pytest.raises(InvalidStatusCode) as err:
            async with websockets.connect(url, extra_headers=headers):
                pass
        return int(err.value.status_code)

    async def ready(url: str, **headers: str) -> dict[str, Any]:
        async with websockets.connect(url, extra_headers=headers, max_size=None) as sock:
            first = json.loads(await asyncio.wait_for(sock.recv(), 30))
            await sock.send(json.dumps({"hangup": True}))
            return dict(first)

    assert asyncio.run(refused(ws)) == 401
    assert asyncio.run(refused(f"{ws}&token=wrong")) == 401
    # A browser cannot set headers on a WebSocket: the token may come in the query.
    assert asyncio.run(ready(f"{ws}&token={REST_TOKEN}"))["event"] == "ready"
    assert asyncio.run(ready(ws, **BEARER))["event"] == "ready"


def test_the_action_server_answers_only_rasa(stack: Stack):
    assert call(f"{stack.actions}/health") == (200, {"status": "ok"})  # the channels ask it
    action = json.dumps({"next_action": "action_list_bookings", "sender_id": "rest:anyone",
                         "tracker": {"sender_id": "rest:anyone", "slots": {},
                                     "latest_message": {}, "events": []},
                         "domain": {}, "version": "3.6.21"}).encode()  # fmt: skip
    for headers in ({}, {"Authorization": "Bearer wrong"}, BEARER):
        status, body = call(f"{stack.actions}/webhook", action,
                            **{"Content-Type": "application/json", **headers})  # fmt: skip
        assert status == 401 and "ANXIN_ACTION_TOKEN" in body["error"], (headers, body)
        assert call(f"{stack.actions}/actions", **headers)[0] == 401
    status, listed = call(f"{stack.actions}/actions", Authorization=f"Bearer {ACTION_TOKEN}")
    assert status == 200 and {"name": "action_list_bookings"} in listed


def test_rasas_api_needs_its_token_even_on_loopback(stack: Stack):
    for url in (f"{stack.rasa}/status", f"{stack.rasa}/conversations/rest:tok-elder/tracker",
                f"{stack.rasa}/status?token=wrong", f"{stack.rasa}/status?token={REST_TOKEN}"):
        assert call(url)[0] == 401, url
    status, events = call(f"{stack.rasa}/conversations/rest:tok-elder/tracker?token={RASA_TOKEN}")
    assert status == 200 and any(e["event"] == "user" for e in events["events"])


def test_no_token_in_the_logs_or_on_a_command_line(stack: Stack):
    # Runs last: what the stack printed so far, and its processes' command lines.
    pids = [int(p) for p in re.findall(r"\b(?:rasa|actions|staff) started \(pid=(\d+)\)",
                                       stack.out.text)]  # fmt: skip
    assert len(pids) == 3
    for pid in pids:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        assert all(token not in argv for token in (REST_TOKEN, ACTION_TOKEN, RASA_TOKEN)), argv
    assert re.findall(r"r3st-token|act10n-token|anxin-tests-rasa", stack.out.text) == []
