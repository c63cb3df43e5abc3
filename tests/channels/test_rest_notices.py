"""The care centre's notifications reach people known only on the REST channel.

On the real stack (`anxin run`, Rasa and the care database real): a lunch staff cancel
(care.staff_bookings.cancel_for_elder, as the console does) is told to the elder in her
next REST answer, once, after the bot's own replies; an urgent notice comes first; the
poll route hands out what is waiting without a message. The claim itself is raced on
SQLite and PostgreSQL: many requests at once, each notice handed out exactly once.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest
from sqlalchemy import select

from care import models as m
from care.audit import Actor
from care.config import CareSettings
from care.notices import Notices
from care.services import build
from care.staff_bookings import cancel_for_elder
from tests.channels.stacks import ChannelStack, running
from tests.integration.test_stack import post
from tests.support.clock import weekday_ahead

RACERS = 12


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    with running(tmp_path_factory.mktemp("rest-notices")) as s:
        yield s


def _notify(care: Any, person_id: int, text: str, urgent: bool = False, kind: str = "test") -> int:
    with care.db.write() as s:
        row = m.Notification(person_id=person_id, kind=kind, message=text, urgent=urgent,
                             created_at=care.clock())  # fmt: skip
        s.add(row)
        s.flush()
        return int(row.id)


def _row(care: Any, notification_id: int) -> m.Notification:
    with care.db.read() as s:
        row = s.get(m.Notification, notification_id)
        s.expunge(row)
        return row


def _poll(stack: ChannelStack, query: str) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{stack.port}/webhooks/rest/notifications{query}"
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_cancelled_lunch_is_told_in_the_next_rest_answer_once(stack: ChannelStack):
    care = stack.care
    elder = care.people.create("elder", "周桂芳", preferred_language="zh")
    care.people.add_identity(elder.id, "rest", "app-zhou")
    day = weekday_ahead(care.clock)
    slot = care.bookings.slot_by_code(f"meal:{day}:lunch:delivery")
    booking = care.bookings.book(elder.id, slot.id, Actor.person(elder.id), "rest")
    cancel_for_elder(care.bookings, booking.id, "wang.staff", "厨房检修", "0451-1234567")

    first = post(stack.port, "app-zhou", "你好")
    notices = [r for r in first if (r.get("custom") or {}).get("notification")]
    assert len(notices) == 1, first
    [notice] = notices
    assert notice["custom"]["kind"] == "booking_cancelled"
    assert "厨房检修" in notice["text"] and f"{day.month}月{day.day}号" in notice["text"]
    assert "星期" in notice["text"]  # read back with its weekday
    assert first[-1] is notice and len(first) > 1  # the bot answered her first
    assert notice["recipient_id"] == "app-zhou"
    with care.db.read() as s:
        row = s.scalars(select(m.Notification).where(m.Notification.person_id == elder.id)).one()
        assert row.delivered_at is not None and row.delivered_channel == "rest"
        assert row.attempts == 1

    second = post(stack.port, "app-zhou", "你好")
    assert second and not any((r.get("custom") or {}).get("notification") for r in second)
    assert _poll(stack, "?sender=app-zhou") == (200, [])


def test_an_urgent_notice_comes_first_and_the_poll_hands_out_the_rest(stack: ChannelStack):
    care = stack.care
    elder = care.people.create("elder", "Edith Clark", preferred_language="en")
    care.people.add_identity(elder.id, "rest", "app-edith")
    later = _notify(care, elder.id, "Your day care room changed to Room 2.")
    urgent = _notify(care, elder.id, "Your son is on his way to you.", urgent=True)

    answer = post(stack.port, "app-edith", "hello")
    assert answer[0]["text"] == "Your son is on his way to you.", answer
    assert answer[0]["custom"] == {"notification": True, "kind": "test", "urgent": True}
    assert answer[-1]["text"] == "Your day care room changed to Room 2."
    assert not any((r.get("custom") or {}).get("notification") for r in answer[1:-1])
    assert _row(care, urgent).delivered_channel == "rest" == _row(care, later).delivered_channel

    waiting = _notify(care, elder.id, "Lunch is at 11:30 tomorrow.")
    status, polled = _poll(stack, "?sender=app-edith")
    assert status == 200 and [p["text"] for p in polled] == ["Lunch is at 11:30 tomorrow."]
    assert _poll(stack, "?sender=app-edith") == (200, [])
    assert _row(care, waiting).delivered_at is not None
    # A stranger has nothing, and a poll without a sender is refused.
    assert _poll(stack, "?sender=nobody-here") == (200, [])
    assert _poll(stack, "")[0] == 400
    assert _poll(stack, "?sender=" + "x" * 201)[0] == 400


def test_two_requests_at_once_hand_each_notice_out_once(stack: ChannelStack):
    care = stack.care
    elder = care.people.create("elder", "孙玉兰")
    care.people.add_identity(elder.id, "rest", "app-sun")
    ids = {_notify(care, elder.id, f"第{i}条消息") for i in range(3)}
    gate = threading.Barrier(4)

    def ask(i: int) -> list[dict[str, Any]]:
        gate.wait()
        if i % 2:
            return _poll(stack, "?sender=app-sun")[1]
        return post(stack.port, "app-sun", "你好")

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, range(4)))
    told = [r["text"] for a in answers for r in a if (r.get("custom") or {}).get("notification")]
    assert sorted(told) == ["第0条消息", "第1条消息", "第2条消息"]
    assert all(_row(care, i).attempts == 1 for i in ids)


def test_the_claim_is_the_databases_on_sqlite_and_postgresql(care):
    """Many processes (each its own engine) take one person's notices at the same moment."""
    elder = care.people.create("elder", "赵淑珍")
    care.people.add_identity(elder.id, "rest", "app-zhao")
    other = care.people.create("elder", "钱秀英")
    care.people.add_identity(other.id, "voice", "+8613900000009")
    ids = {_notify(care, elder.id, f"消息{i}", urgent=i == 4) for i in range(5)}
    theirs = _notify(care, other.id, "别人的消息")
    racers = [build(CareSettings(db_url=care.db.url), clock=care.clock, pool_size=1)
              for _ in range(RACERS)]  # fmt: skip
    gate = threading.Barrier(RACERS)

    def take(i: int) -> list[int]:
        gate.wait()
        return [
            n.notification_id for n in Notices(racers[i].db, care.clock).take("rest", "app-zhao")
        ]

    try:
        with ThreadPoolExecutor(RACERS) as pool:
            taken = [n for got in pool.map(take, range(RACERS)) for n in got]
    finally:
        for r in racers:
            r.close()
    assert sorted(taken) == sorted(ids)  # each once, none lost
    assert all(_row(care, i).delivered_channel == "rest" for i in ids)
    assert _row(care, theirs).delivered_at is None  # another person's, on another channel
    assert Notices(care.db, care.clock).take("rest", "app-zhao") == []
    # Given back (a call that dropped): pending again, and taken on the next visit.
    [first] = Notices(care.db, care.clock).take("voice", "+8613900000009")
    assert first.notification_id == theirs
    Notices(care.db, care.clock).give_back([theirs])
    assert _row(care, theirs).delivered_at is None
    assert [n.message for n in Notices(care.db, care.clock).take("voice", "+8613900000009")] == [
        "别人的消息"
    ]
