"""action_list_bookings: every upcoming booking, with date, weekday and time, in order."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.bookings import ActionListBookings
from care.audit import Actor
from tests.care.helpers import elder, load_small, slot_id


def tracker(sender: str, language: str = "zh") -> Tracker:
    user = {"event": "user", "text": "我都约了啥", "input_channel": "wechat", "parse_data": {}}
    return Tracker(sender, {"language": language}, {"text": "…"}, [user], False, None, {}, "")


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
