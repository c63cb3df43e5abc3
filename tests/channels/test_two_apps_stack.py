"""One person on WeChat and Telegram, against one real stack with both channels on.

Issue 4: "a person links WeChat and Telegram and sees the same bookings on both". The
REST-only version (tests/integration/test_flows.py) books in the database and links two
REST senders; here everything goes through the channels as the platforms deliver it:
WeChat's signed callbacks and Telegram's webhook updates, with both platforms' APIs
faked on loopback, Rasa and the action server real, the bookings in SQLite.
"""

from __future__ import annotations

import re
from typing import Iterator

import pytest

from tests.channels.stacks import ChannelStack, Elder, Person, running
from tests.support.clock import weekday_ahead


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    with running(tmp_path_factory.mktemp("two-apps"), wechat=True, telegram=True) as stack:
        yield stack


def test_a_person_links_wechat_and_telegram_and_sees_the_same_bookings_on_both(stack):
    day = weekday_ahead(stack.care.clock)
    zh = f"{day.month}月{day.day}号"
    on_wechat = Elder(stack, "oZhaoYulan")
    on_telegram = Person(stack, 6001, language_code="en")

    # A lunch booked on WeChat, in Chinese, by a first-timer.
    assert "送到家" in on_wechat.says(f"俺想订{zh}的午饭")
    assert "称呼" in on_wechat.says("在食堂吃")
    readback = on_wechat.says("赵玉兰")
    assert "午饭" in readback and "对吗" in readback, readback
    assert "订好了" in on_wechat.says("对")

    # She asks for a code on WeChat and sends it from Telegram.
    asked = on_wechat.says("我想在Telegram上也用")
    code = re.search(r"(?<!\d)(\d{6})(?!\d)", asked)
    assert code, asked
    linked = on_telegram.say(code.group(1))
    assert "赵玉兰" in linked, linked
    person = stack.care.people.find_by_identity("wechat", on_wechat.openid)
    assert person is not None
    same = stack.care.people.find_by_identity("telegram", str(on_telegram.chat_id))
    assert same is not None and same.id == person.id

    # On Telegram, in English, the WeChat lunch is listed ...
    listed = on_telegram.say("what have I booked")
    assert "lunch" in listed.lower() and f"{day.day} {day:%B}" in listed, listed

    # ... and day care booked there by its buttons (she is known: no name asked) ...
    asked = on_telegram.say(f"I'd like to book day care for {day:%B} {day.day}")
    assert "Day care" in asked, asked
    assert "bus" in on_telegram.tap("Morning")
    readback = on_telegram.tap("myself")
    assert "right?" in readback and "morning" in readback.lower(), readback
    assert "booked" in on_telegram.tap("Yes")

    # ... is listed on WeChat next to the lunch.
    listed = on_wechat.says("我都约了啥")
    assert "午饭" in listed and "日托" in listed, listed

    bookings = stack.care.bookings.upcoming(person.id)
    booked = sorted((b.service, b.slot.date, b.status, b.channel) for b in bookings)
    assert booked == [
        ("day_care", day, "confirmed", "telegram"),
        ("meal", day, "confirmed", "wechat"),
    ], booked
