"""Staff replies reach people on WeChat and Telegram through the channels' own background
rounds (customer-service API, sendMessage), each exactly once, on the real stack with
WeChat's and Telegram's servers faked on loopback (tests/channels/stacks.py).

The reply is queued the way the console queues it (care.staff_replies, after writing it
into Rasa's tracker; that part is proven in test_browser_handoff.py).
"""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from care.staff_replies import StaffReplies
from tests.channels.stacks import ChannelStack, Elder, Person, running

WAIT_S = 60


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    with running(tmp_path_factory.mktemp("handoff-channels"), wechat=True, telegram=True) as s:
        yield s


def _held(stack: ChannelStack, conversation_id: str, channel: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not stack.care.alerts.handoff_open(conversation_id, channel):
        assert time.monotonic() < deadline, f"no hand-off alert for {channel}"
        time.sleep(0.5)


def _delivered(stack: ChannelStack, channel: str) -> None:
    replies = StaffReplies(stack.care.db, stack.care.clock)
    deadline = time.monotonic() + WAIT_S
    while replies.pending(channel):
        assert time.monotonic() < deadline, f"staff reply still waiting on {channel}"
        time.sleep(0.5)


def test_a_staff_reply_reaches_a_wechat_user_once(stack: ChannelStack):
    elder = Elder(stack, "o-handoff-wechat")
    assert "工作人员" in elder.says("我要找人工")
    conversation = f"wechat:{elder.openid}"  # Rasa's id, as the console queues it
    _held(stack, conversation, "wechat")
    before = len(stack.wechat_api.texts_to(elder.openid)) if stack.wechat_api else 0
    StaffReplies(stack.care.db, stack.care.clock).queue(
        "wechat", conversation, "张奶奶您好，我是社工小刘。", "nurse.liu"
    )
    assert stack.wechat_api is not None
    texts = stack.wechat_api.wait_for_texts(elder.openid, before + 1, timeout=WAIT_S)
    assert texts[before:] == ["张奶奶您好，我是社工小刘。"]
    _delivered(stack, "wechat")
    time.sleep(2)  # several background rounds: none sends it again
    assert stack.wechat_api.texts_to(elder.openid)[before:] == ["张奶奶您好，我是社工小刘。"]


def test_a_staff_reply_reaches_a_telegram_user_once(stack: ChannelStack):
    person = Person(stack, 777001, "en")
    assert person.say("I want to talk to a person")
    conversation = f"telegram:{person.chat_id}"
    _held(stack, conversation, "telegram")
    StaffReplies(stack.care.db, stack.care.clock).queue(
        "telegram", conversation, "Hello, this is nurse Liu.", "nurse.liu"
    )
    assert person.replies(timeout=WAIT_S) == "Hello, this is nurse Liu."
    _delivered(stack, "telegram")
    time.sleep(2)
    assert stack.telegram_api is not None
    assert len(stack.telegram_api.sent(chat_id=person.chat_id)) == person.seen
