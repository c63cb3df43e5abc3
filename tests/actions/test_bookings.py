"""action_list_bookings: every upcoming booking, with date, weekday and time, in order."""

from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.bookings import ActionListBookings
from care.audit import Actor
from care.senders import sender_id
from tests.care.helpers import elder, load_small, slot_id


def tracker(sender: str, language: str = "zh") -> Tracker:
    user = {"event": "user", "text": "我都约了啥", "input_channel": "wechat", "parse_data": {}}
    conversation = sender_id("wechat", sender)  # Rasa's sender id
    return Tracker(conversation, {"language": language}, {"text": "…"}, [user], False, None, {}, "")


async def test_lists_what_is_coming_up(care):
    load_small(care)
    grandma = elder(care)
    care.people.add_identity(grandma.id, "wechat", "oWx-1")
    for code in (
        "clinic:2026-11-26:internal-medicine:dr-wang-shufen:0800:0830",
        "meal:2026-11-26:lunch:delivery",
    ):
        care.bookings.book(grandma.id, slot_id(care, code), Actor.person(grandma.id), "wechat")
    d = CollectingDispatcher()
    await ActionListBookings(care).run(d, tracker("oWx-1"), {})
    [message] = d.messages
    assert message["response"] == "utter_your_bookings" and message["count"] == 2
    assert message["lines"].split("\n") == [
        "1. 明天（11月26号，星期四） 08:30：内科，王淑芬医生",
        "2. 明天（11月26号，星期四） 11:30：午饭，送到家",
    ]
    d = CollectingDispatcher()
    await ActionListBookings(care).run(d, tracker("oWx-1", "en"), {})
    assert d.messages[0]["lines"].split("\n")[1] == (
        "2. Thursday 26 November, 11:30: Lunch delivered home"
    )


async def test_nothing_booked(care):
    d = CollectingDispatcher()
    await ActionListBookings(care).run(d, tracker("nobody"), {})
    assert [m["response"] for m in d.messages] == ["utter_no_bookings"]


def test_the_speaker_is_whom_the_sender_id_names_not_the_channel_a_message_claims(care):
    load_small(care)
    grandma = elder(care)
    care.people.add_identity(grandma.id, "telegram", "123")
    code = "meal:2026-11-26:lunch:delivery"
    care.bookings.book(grandma.id, slot_id(care, code), Actor.person(grandma.id), "telegram")
    claims_telegram = {"event": "user", "text": "我都约了啥", "input_channel": "telegram"}

    def listed(conversation: str) -> str:
        d = CollectingDispatcher()
        t = Tracker(conversation, {"language": "zh"}, {"text": "…"}, [claims_telegram], False,
                    None, {}, "")  # fmt: skip
        asyncio.run(ActionListBookings(care).run(d, t, {}))
        return str(d.messages[0]["response"])

    assert listed("telegram:123") == "utter_your_bookings"
    # The same id from the REST channel (or with no channel at all) is somebody else.
    for other in ("rest:123", "rest:telegram:123", "123", "voice:123"):
        assert listed(other) == "utter_no_bookings", other


def asking(sender: str, text: str, entities=(), slots=None) -> Tracker:
    user = {"event": "user", "text": text, "input_channel": "wechat", "parse_data": {}}
    latest = {"text": text, "entities": list(entities)}
    return Tracker(sender_id("wechat", sender), slots or {}, latest, [user], False, None, {}, "")


async def test_cancel_tomorrows_lunch_by_name(care):
    from actions.bookings import ActionCancelConfirmed, ActionCancelKept, ActionFindCancel

    load_small(care)
    grandma = elder(care)
    care.people.add_identity(grandma.id, "wechat", "oWx-1")
    lunch = care.bookings.book(
        grandma.id,
        slot_id(care, "meal:2026-11-26:lunch:delivery"),
        Actor.person(grandma.id),
        "wechat",
    )
    care.bookings.book(
        grandma.id,
        slot_id(care, "day_care:2026-11-26:afternoon"),
        Actor.person(grandma.id),
        "wechat",
    )
    # Two bookings tomorrow: "the one tomorrow" is not enough, "tomorrow's lunch" is.
    d = CollectingDispatcher()
    events = await ActionFindCancel(care).run(
        d, asking("oWx-1", "取消明天的", [{"entity": "date", "value": "2026-11-26"}]), {}
    )
    assert d.messages[0]["response"] == "utter_cancel_which"
    d = CollectingDispatcher()
    events = await ActionFindCancel(care).run(
        d,
        asking("oWx-1", "取消明天的午饭", [
            {"entity": "date", "value": "2026-11-26"}, {"entity": "meal", "value": "lunch"}
        ]),
        {},
    )  # fmt: skip
    assert d.messages[0]["response"] == "utter_ask_cancel_confirm"
    assert "午饭，送到家" in d.messages[0]["line"]
    pending = {e["name"]: e["value"] for e in events}["pending_cancel"]
    assert pending == str(lunch.id)
    # "No" keeps it; "yes" cancels it.
    d = CollectingDispatcher()
    await ActionCancelKept().run(d, asking("oWx-1", "不对"), {})
    assert care.bookings.get(lunch.id).status == "confirmed"
    d = CollectingDispatcher()
    await ActionCancelConfirmed(care).run(
        d, asking("oWx-1", "对", slots={"pending_cancel": pending}), {}
    )
    assert d.messages[0]["response"] == "utter_cancelled"
    assert care.bookings.get(lunch.id).status == "cancelled"


async def test_cancel_day_care_by_word_and_nothing_found(care):
    from actions.bookings import ActionFindCancel

    load_small(care)
    grandma = elder(care)
    care.people.add_identity(grandma.id, "wechat", "oWx-1")
    care.bookings.book(
        grandma.id, slot_id(care, "day_care:2026-11-26:morning"), Actor.person(grandma.id), "wechat"
    )
    d = CollectingDispatcher()
    await ActionFindCancel(care).run(d, asking("oWx-1", "明天不去日托了"), {})
    assert d.messages[0]["response"] == "utter_ask_cancel_confirm"
    d = CollectingDispatcher()
    await ActionFindCancel(care).run(d, asking("oWx-1", "取消看病的预约"), {})
    assert d.messages[0]["response"] == "utter_cancel_nothing_found"
