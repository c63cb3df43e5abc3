"""WeChat against the real stack: `anxin run` with ANXIN_WECHAT_* set, Rasa and actions real.

The tests are WeChat's server (signed, and in safe mode encrypted, XML) and serve its API
on loopback (ANXIN_WECHAT_API_BASE). One stack serves every test here; the hung action
server is last because it stops the action server for a while.
"""

from __future__ import annotations

import os
import re
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest

from tests.channels.stacks import ChannelStack, Elder, content, running
from tests.channels.wechat_fakes import event_xml, signed, text_xml
from tests.support.clock import weekday_ahead


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    with running(tmp_path_factory.mktemp("wechat-stack"), wechat=True) as stack:
        yield stack


def test_url_verification_and_bad_requests_never_reach_rasa(stack):
    args = {**signed(), "echostr": "4827195"}
    url = f"{stack.wechat_url}?{'&'.join(f'{k}={v}' for k, v in args.items())}"
    with urllib.request.urlopen(url, timeout=30) as resp:
        assert resp.read() == b"4827195"

    xml = text_xml("oIntruder", "我摔倒了", 1)
    assert stack.wechat.post(xml, {**signed(), "signature": "0" * 40})[0] == 403
    assert stack.wechat.post(xml, {"timestamp": "1", "nonce": "2"})[0] == 403
    assert stack.wechat.raw(b"<xml><FromUserName>oIntruder", signed())[:2] == (400, "")
    assert stack.wechat.raw(b"x" * 1_000_001, signed())[0] == 413
    status, body, _ = stack.wechat.raw(b"\x00\xff<xml>", signed())
    assert status == 400 and "Traceback" not in body
    assert stack.user_turns("wechat:oIntruder") == 0


def test_subscribe_then_book_lunch_by_text_and_number_and_a_retried_yes(stack):
    elder = Elder(stack, "oLiXiulan")
    status, body, took = elder.wechat.post(event_xml(elder.openid, "subscribe", 1_700_000_000))
    assert status == 200 and took < 5
    assert "欢迎关注安心" in content(body) and "订餐" in content(body)

    day = weekday_ahead(stack.care.clock, min_days=1)
    ask = elder.says(f"俺想订{day.month}月{day.day}号的午饭")
    assert "送到家" in ask and "1. " in ask and "2. 送到家" in ask, ask  # numbered choices
    assert "称呼" in elder.says("2")  # answered by number: delivery
    readback = elder.says("李秀兰")
    assert "午饭" in readback and "送到家" in readback and "对吗" in readback, readback

    # WeChat retries the "对" three times at once (our answer was slow to reach it), each
    # time with the very same signed query string.
    elder.msg_id += 1
    before = len(stack.wechat_api.texts_to(elder.openid))
    retried = elder.wechat.signed()
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: elder.post("对", elder.msg_id, retried), range(3)))
    answers.append(elder.post("对", elder.msg_id, retried))  # and once more, later
    if answers[0]:  # answered passively: every retry got the very same answer
        assert "订好了" in answers[0] and len(set(answers)) == 1, answers
    else:  # a slow turn (a busy machine): `success` to all, one message through the API
        assert set(answers) == {""}
        time.sleep(2)
        [sent] = stack.wechat_api.wait_for_texts(elder.openid, before + 1)[before:]
        assert "订好了" in sent

    person = stack.care.people.find_by_identity("wechat", elder.openid)
    assert person is not None and person.name == "李秀兰"
    [booking] = stack.care.bookings.upcoming(person.id)
    assert (booking.slot.code, booking.status) == (f"meal:{day}:lunch:delivery", "confirmed")
    assert booking.channel == "wechat"
    assert stack.user_turns(f"wechat:{elder.openid}") == 4  # one turn per message, not per retry

    # The menu's 我的预约 is an intent message; it lists the lunch.
    before = len(stack.wechat_api.texts_to(elder.openid))
    status, body, _ = elder.wechat.post(
        event_xml(elder.openid, "CLICK", 1_700_000_500, "MY_BOOKINGS")
    )
    if body == "success":
        listed = stack.wechat_api.wait_for_texts(elder.openid, before + 1)[-1]
    else:
        listed = content(body)
    assert status == 200 and "午饭" in listed, listed


def test_safe_mode_round_trip(stack):
    elder = Elder(stack, "oSafeMode", safe=True)
    hello = elder.says("你们都有啥服务")  # a custom action reading the catalogue
    assert "午饭还有" in hello, hello


def test_a_son_books_for_his_mother_and_she_is_told_on_wechat(stack):
    day = weekday_ahead(stack.care.clock, min_days=1)
    zh = f"{day.month}月{day.day}号"
    mum, son = Elder(stack, "oLiXiulan"), Elder(stack, "oWangQiang")
    asked = mum.says("我要关联家人")
    code = re.search(r"关联码是 (\d{6})", asked)
    assert code, asked
    assert "称呼" in son.says(f"关联码 {code.group(1)}")
    assert "什么人" in son.says("王强")
    assert "确认" in son.says("我是她儿子")
    assert "同意吗" in mum.says("谁要关联我")
    assert "关联上了" in mum.says("同意")

    assert "送到家" in son.says(f"给我妈订{zh}的晚饭")
    assert "给李秀兰订" in son.says("在食堂吃")
    assert "订好了" in son.says("对")
    # The outbox reaches her through the customer-service API, claimed once.
    deadline = time.monotonic() + 20
    while not any("王强" in t and "晚饭" in t for t in stack.wechat_api.texts_to(mum.openid)):
        assert time.monotonic() < deadline, stack.wechat_api.texts_to(mum.openid)
        time.sleep(0.2)
    assert stack.care.channels.outbox("wechat") == []


def test_a_replayed_signature_is_refused_and_a_real_retry_still_answered(stack):
    elder = Elder(stack, "oReplayed")
    # A query string signed long ago (the review used 2001): 403, whatever it carries.
    for old in ("1000000000", str(int(time.time()) - 301)):
        status, body, _ = stack.wechat.post(text_xml(elder.openid, "你好", 7001),
                                            signed(timestamp=old))  # fmt: skip
        assert (status, body) == (403, "")
    # A fresh one, used once by WeChat for this elder's message ...
    args = signed()
    first = stack.wechat.post(text_xml(elder.openid, "你们都有啥服务", 7002), args)
    assert first[0] == 200 and "午饭还有" in content(first[1]), first
    # ... and again by WeChat, slow answer retried: the very same query and body.
    retry = stack.wechat.post(text_xml(elder.openid, "你们都有啥服务", 7002), args)
    assert retry[:2] == first[:2]
    # The same logged URL with a body of someone else's choosing: as another user, or
    # as this elder with a new message.
    for forged in (text_xml("oAttacker", "你们都有啥服务", 7003),
                   text_xml(elder.openid, "取消我的午饭", 7004)):  # fmt: skip
        assert stack.wechat.post(forged, args)[:2] == (403, "")
    assert stack.user_turns(f"wechat:{elder.openid}") == 1  # the one message, once
    assert stack.user_turns("wechat:oAttacker") == 0


def test_a_hung_action_server_gets_success_a_kind_word_and_the_answer_when_back(stack):
    actions_pid = int(stack.out.wait_for(r"\bactions started \(pid=(\d+)\)", 5).group(1))
    elder = Elder(stack, "oWaiting")
    os.kill(actions_pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert elder.post("你们都有啥服务") == ""  # `success` within 5 s: WeChat stops retrying
        later = stack.wechat_api.wait_for_texts(elder.openid, 1, timeout=20)
        assert "稍后" in later[0], later  # still hung: told we will answer shortly
        assert time.monotonic() - started < 15
    finally:
        os.kill(actions_pid, signal.SIGCONT)
    texts = stack.wechat_api.wait_for_texts(elder.openid, 2, timeout=30)
    assert "午饭还有" in texts[1], texts  # the real answer, through the customer-service API
    assert stack.user_turns(f"wechat:{elder.openid}") == 1
