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


def test_a_released_lease_lets_another_process_try_again(care, clock):
    held = care.channels.hold("telegram", "42", "hello")
    assert care.channels.lease(held, timedelta(seconds=30)) is True
    care.channels.release(held)  # the assistant was down: its attempt ended
    assert care.channels.lease(held) is True
    assert care.channels.held("telegram")[0].attempts == 2
    care.channels.answered(held)
    clock.advance(minutes=5)
    assert care.channels.lease(held) is False


# Quarantine: a message whose process died while it was handled ---------------------------


def test_a_message_whose_process_died_mid_work_is_set_aside_once_with_an_alert(care, clock):
    store = care.channels
    elder = care.people.create("elder", "李秀兰")
    care.people.add_identity(elder.id, "wechat", "oLI")
    crashed = store.take_in("wechat", "msg:1", "oLI", "俺想订明天的午饭", {"message_id": "msg:1"},
                            lease=timedelta(seconds=20))  # fmt: skip
    assert crashed is not None
    clock.advance(seconds=10)
    assert store.set_aside_crashed("wechat") == []  # its lease still runs: it may be alive
    assert store.lease(crashed) is False
    clock.advance(seconds=11)  # the lease lapsed with the attempt still marked: it died

    assert store.lease(crashed) is False  # never processed again, by any path
    [aside] = store.set_aside_crashed("wechat")
    assert (aside.id, aside.sender_id, aside.quarantined_at) == (crashed, "oLI", clock())
    assert store.set_aside_crashed("wechat") == []  # once
    assert store.waiting("wechat") == [] and store.held("wechat") == []
    assert [h.id for h in store.set_aside("wechat")] == [crashed]  # kept, marked

    [alert] = care.alerts.open_alerts()
    assert (alert.kind, alert.person_id, alert.conversation_id, alert.channel) == (
        "message_failed", elder.id, "wechat:oLI", "wechat"
    )
    assert "WeChat message" in alert.summary and "俺想订明天的午饭" in alert.summary
    assert "set aside" in alert.summary


def test_a_message_that_only_waited_its_turn_is_replayed_not_set_aside(care, clock):
    store = care.channels
    waiting = store.take_in("telegram", "update:1", "42", "hello", lease=timedelta(seconds=20),
                            working=False)  # fmt: skip
    assert waiting is not None
    clock.advance(seconds=21)  # its process died before its work began
    assert store.set_aside_crashed("telegram") == []
    assert [h.id for h in store.waiting("telegram")] == [waiting]
    assert store.lease(waiting) is True  # a replay: its work begins, marked
    clock.advance(minutes=3)  # and this time the process died while it was handled
    assert [h.id for h in store.set_aside_crashed("telegram")] == [waiting]
    [alert] = care.alerts.open_alerts()
    assert alert.person_id is None and alert.conversation_id == "telegram:42"


def test_begin_marks_the_work_and_release_ends_it(care, clock):
    store = care.channels
    taken = store.take_in("telegram", "update:2", "42", "hi", lease=timedelta(seconds=20),
                          working=False)  # fmt: skip
    assert taken is not None
    assert store.begin(taken) is True
    store.release(taken)  # a handler failed, or the server stopped: not a crash
    clock.advance(minutes=1)
    assert store.set_aside_crashed("telegram") == []
    assert store.lease(taken) is True
    assert store.answered(taken) is True
    assert store.begin(taken) is False  # answered: nothing more to do
    clock.advance(minutes=5)
    assert store.set_aside_crashed("telegram") == []


def test_a_voice_message_is_named_so_for_staff_and_a_long_one_is_quoted_briefly(care, clock):
    store = care.channels
    voice = {"update": {"update_id": 9, "message": {"voice": {"file_id": "f"}}}}
    store.take_in("telegram", "update:9", "43", "", voice, lease=timedelta(0))
    store.take_in("wechat", "msg:9", "oLong", "饭" * 5000, lease=timedelta(0))
    assert len(store.set_aside_crashed("telegram") + store.set_aside_crashed("wechat")) == 2
    summaries = {a.channel: a.summary for a in care.alerts.open_alerts()}
    assert summaries["telegram"].startswith("A Telegram voice message") and "said" not in (
        summaries["telegram"]
    )
    assert "饭" * 200 + "…" in summaries["wechat"] and "饭" * 201 not in summaries["wechat"]


def test_processes_setting_aside_at_once_raise_one_alert_each(care, clock):
    for n in range(5):
        care.channels.take_in("wechat", f"msg:{n}", f"o{n}", "hi", lease=timedelta(0))
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(lambda _: care.channels.set_aside_crashed("wechat"), range(4)))
    assert sorted(h.sender_id for batch in found for h in batch) == [f"o{n}" for n in range(5)]
    assert len(care.alerts.open_alerts()) == 5


def test_messages_set_aside_are_dropped_a_month_later_their_alerts_kept(care, clock):
    care.channels.take_in("wechat", "msg:1", "oOld", "hi", lease=timedelta(0))
    care.channels.set_aside_crashed("wechat")
    clock.advance(days=29)
    assert care.channels.forget_set_aside("wechat", timedelta(days=30)) == 0
    clock.advance(days=2)
    assert care.channels.forget_set_aside("telegram", timedelta(days=30)) == 0
    assert care.channels.forget_set_aside("wechat", timedelta(days=30)) == 1
    assert care.channels.set_aside() == [] and len(care.alerts.open_alerts()) == 1


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
