"""The channels' shared state: one receipt per platform message, tokens, the inbox."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta


def test_a_platform_message_is_taken_in_once(care):
    store = care.channels
    assert store.first_delivery("wechat", "msg:6054768590064713728") is True
    assert store.first_delivery("wechat", "msg:6054768590064713728") is False
    # The same key on another channel is another message.
    assert store.first_delivery("telegram", "msg:6054768590064713728") is True


def test_concurrent_retries_have_one_winner(care):
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: care.channels.first_delivery("wechat", "k"), range(16)))
    assert results.count(True) == 1


def test_old_receipts_are_forgotten(care, clock):
    care.channels.first_delivery("telegram", "update:1")
    clock.advance(days=3)
    care.channels.first_delivery("telegram", "update:2")
    assert care.channels.forget_receipts(timedelta(days=2)) == 1
    assert care.channels.first_delivery("telegram", "update:1") is True
    assert care.channels.first_delivery("telegram", "update:2") is False


def test_a_token_is_served_until_shortly_before_it_expires(care, clock):
    assert care.channels.token("wechat:wx123") is None
    care.channels.save_token("wechat:wx123", "AT-1", clock() + timedelta(seconds=7200))
    assert care.channels.token("wechat:wx123") == "AT-1"
    clock.advance(seconds=7200 - 299)
    assert care.channels.token("wechat:wx123") is None  # inside the 5-minute margin
    care.channels.save_token("wechat:wx123", "AT-2", clock() + timedelta(seconds=7200))
    assert care.channels.token("wechat:wx123") == "AT-2"


def test_an_expired_lease_lets_another_process_try_again(care, clock):
    held = care.channels.hold("telegram", "42", "hello")
    assert care.channels.lease(held, timedelta(seconds=30)) is True
    clock.advance(seconds=31)  # the first process died mid-turn
    assert care.channels.lease(held) is True
    assert care.channels.held("telegram")[0].attempts == 2
    care.channels.answered(held)
    clock.advance(minutes=5)
    assert care.channels.lease(held) is False


def test_held_messages_wait_until_answered(care):
    first = care.channels.hold("wechat", "oABC", "俺想订明天的午饭", {"msg_id": "1"})
    care.channels.hold("telegram", "42", "hello")
    held = care.channels.held("wechat")
    assert [(h.id, h.text, h.meta) for h in held] == [(first, "俺想订明天的午饭", {"msg_id": "1"})]
    assert care.channels.lease(first) is True
    assert care.channels.lease(first) is False  # another worker is answering it
    care.channels.release(first)  # its turn failed: the next round may try again
    assert care.channels.lease(first) is True
    assert care.channels.held("wechat")[0].attempts == 2
    assert care.channels.answered(first) is True
    assert care.channels.answered(first) is False  # another process got there first
    assert care.channels.held("wechat") == []


def _notify(care, person_id: int, message: str, urgent: bool = False) -> None:
    from care import models as m

    with care.db.write() as s:
        s.add(
            m.Notification(
                person_id=person_id, kind="test", message=message, urgent=urgent,
                created_at=care.clock(),
            )
        )  # fmt: skip


def test_the_outbox_is_delivered_once_on_one_channel(care):
    elder = care.people.create("elder", "李秀兰")
    care.people.add_identity(elder.id, "wechat", "oLI")
    care.people.add_identity(elder.id, "telegram", "777")
    stranger = care.people.create("elder", "王大爷")
    _notify(care, elder.id, "您的儿子替您订了午饭")
    _notify(care, elder.id, "urgent", urgent=True)
    _notify(care, stranger.id, "no channel: stays queued")

    wechat = care.channels.outbox("wechat")
    assert [(o.external_id, o.message) for o in wechat] == [
        ("oLI", "urgent"),
        ("oLI", "您的儿子替您订了午饭"),
    ]
    assert care.channels.claim(wechat[0].notification_id, "wechat") is True
    assert care.channels.claim(wechat[0].notification_id, "telegram") is False
    assert [o.message for o in care.channels.outbox("telegram")] == ["您的儿子替您订了午饭"]

    care.channels.unclaim(wechat[0].notification_id)  # sending failed: back in the outbox
    assert [o.message for o in care.channels.outbox("telegram")][0] == "urgent"
