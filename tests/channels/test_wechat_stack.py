"""WeChat against the real stack: `anxin run` with ANXIN_WECHAT_* set, Rasa and actions real.

The tests are WeChat's server (signed, and in safe mode encrypted, XML) and serve its API
on loopback (ANXIN_WECHAT_API_BASE). One stack serves every test here; the hung action
server is last because it stops the action server for a while.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest
import xmltodict

from care.config import CareSettings
from care.services import CareServices, build
from tests.channels.wechat_fakes import (
    AES_KEY,
    APP_ID,
    SECRET,
    TOKEN,
    FakeWeChatAPI,
    WeChatServer,
    event_xml,
    signed,
    text_xml,
)
from tests.integration.test_stack import (
    Output,
    next_weekday_after_tomorrow_or_so,
    rasa_ready,
    start,
)


class Stack:
    def __init__(self, port: int, care: CareServices, fake: FakeWeChatAPI, out: Output) -> None:
        self.port, self.care, self.fake, self.out = port, care, fake, out
        self.url = f"http://127.0.0.1:{port}/webhooks/wechat/webhook"
        self.wechat = WeChatServer(self.url)

    def user_turns(self, sender: str) -> int:
        url = f"http://127.0.0.1:{self.port}/conversations/{sender}/tracker"
        with urllib.request.urlopen(url, timeout=30) as resp:
            events = json.loads(resp.read())["events"]
        return sum(1 for e in events if e["event"] == "user")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("wechat-stack")
    with FakeWeChatAPI() as fake:
        proc, env, out = start(
            tmp,
            ANXIN_WECHAT_TOKEN=TOKEN,
            ANXIN_WECHAT_APPID=APP_ID,
            ANXIN_WECHAT_SECRET=SECRET,
            ANXIN_WECHAT_AES_KEY=AES_KEY,
            ANXIN_WECHAT_API_BASE=fake.base,
            ANXIN_WECHAT_POLL_S="0.5",
        )
        try:
            rasa_ready(int(env["ANXIN_RASA_PORT"]), proc)
            care = build(CareSettings(db_url=f"sqlite:///{tmp / 'var' / 'anxin.db'}"))
            yield Stack(int(env["ANXIN_RASA_PORT"]), care, fake, out)
            care.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
            out.close()


def content(body: str) -> str:
    return str(xmltodict.parse(body)["xml"]["Content"])


class Elder:
    """One WeChat user talking to the account; every reply must come within 5 s."""

    def __init__(self, stack: Stack, openid: str, safe: bool = False) -> None:
        self.stack, self.openid = stack, openid
        self.wechat = WeChatServer(stack.url, safe=safe)
        self.msg_id = zlib.crc32(openid.encode()) * 1000

    def says(self, text: str, msg_id: int | None = None) -> str:
        if msg_id is None:
            self.msg_id += 1
            msg_id = self.msg_id
        status, body, took = self.wechat.post(text_xml(self.openid, text, msg_id))
        assert status == 200 and took < 5, (status, took)
        return "" if body == "success" else content(body)


def test_url_verification_and_bad_requests_never_reach_rasa(stack):
    args = {**signed(), "echostr": "4827195"}
    url = f"{stack.url}?{'&'.join(f'{k}={v}' for k, v in args.items())}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.read() == b"4827195"

    xml = text_xml("oIntruder", "我摔倒了", 1)
    assert stack.wechat.post(xml, {**signed(), "signature": "0" * 40})[0] == 403
    assert stack.wechat.post(xml, {"timestamp": "1", "nonce": "2"})[0] == 403
    assert stack.wechat.raw(b"<xml><FromUserName>oIntruder", signed())[:2] == (400, "")
    assert stack.wechat.raw(b"x" * 1_000_001, signed())[0] == 413
    status, body, _ = stack.wechat.raw(b"\x00\xff<xml>", signed())
    assert status == 400 and "Traceback" not in body
    assert stack.user_turns("oIntruder") == 0


def test_subscribe_then_book_lunch_by_text_and_number_and_a_retried_yes(stack):
    elder = Elder(stack, "oLiXiulan")
    status, body, took = elder.wechat.post(event_xml(elder.openid, "subscribe", 1_700_000_000))
    assert status == 200 and took < 5
    assert "欢迎关注安心" in content(body) and "订餐" in content(body)

    day = next_weekday_after_tomorrow_or_so()
    ask = elder.says(f"俺想订{day.month}月{day.day}号的午饭")
    assert "送到家" in ask and "1. " in ask and "2. 送到家" in ask, ask  # numbered choices
    assert "称呼" in elder.says("2")  # answered by number: delivery
    readback = elder.says("李秀兰")
    assert "午饭" in readback and "送到家" in readback and "对吗" in readback, readback

    # WeChat retries the "对" three times at once (our answer was slow to reach it).
    elder.msg_id += 1
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: elder.says("对", elder.msg_id), range(3)))
    assert all("订好了" in a for a in answers) and len(set(answers)) == 1, answers
    assert "订好了" in elder.says("对", elder.msg_id)  # and once more, later

    person = stack.care.people.find_by_identity("wechat", elder.openid)
    assert person is not None and person.name == "李秀兰"
    [booking] = stack.care.bookings.upcoming(person.id)
    assert (booking.slot.code, booking.status) == (f"meal:{day}:lunch:delivery", "confirmed")
    assert booking.channel == "wechat"
    assert stack.user_turns(elder.openid) == 4  # one turn per message, not per retry
    assert stack.fake.texts_to(elder.openid) == []  # everything was answered passively

    # The menu's 我的预约 is an intent message; it lists the lunch.
    status, body, _ = elder.wechat.post(
        event_xml(elder.openid, "CLICK", 1_700_000_500, "MY_BOOKINGS")
    )
    assert status == 200 and "午饭" in content(body), body


def test_safe_mode_round_trip(stack):
    elder = Elder(stack, "oSafeMode", safe=True)
    hello = elder.says("你们都有啥服务")  # a custom action reading the catalogue
    assert "午饭还有" in hello, hello


def test_a_hung_action_server_gets_success_a_kind_word_and_the_answer_when_back(stack):
    actions_pid = int(stack.out.wait_for(r"\bactions started \(pid=(\d+)\)", 5).group(1))
    elder = Elder(stack, "oWaiting")
    os.kill(actions_pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert elder.says("你们都有啥服务") == ""  # `success` within 5 s: WeChat stops retrying
        later = stack.fake.wait_for_texts(elder.openid, 1, timeout=20)
        assert "稍后" in later[0], later  # still hung: told we will answer shortly
        assert time.monotonic() - started < 15
    finally:
        os.kill(actions_pid, signal.SIGCONT)
    texts = stack.fake.wait_for_texts(elder.openid, 2, timeout=30)
    assert "午饭还有" in texts[1], texts  # the real answer, through the customer-service API
    assert stack.user_turns(elder.openid) == 1
