"""Moving a booking by what people say: find it, find its new place, read back, move."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.bookings import ActionFindCancel
from actions.moves import ActionFindMove, ActionMoveConfirmed
from care.audit import Actor
from care.senders import sender_id
from tests.care.helpers import elder, load_small, slot_id


def tracker(text: str, slots: dict[str, Any] | None = None, intent: str = "inform") -> Tracker:
    user = {"event": "user", "text": text, "input_channel": "wechat", "parse_data": {}}
    latest = {"entities": [], "message_id": f"m-{text}", "text": text, "intent": {"name": intent}}
    conversation = sender_id("wechat", "oWx-1")  # Rasa's sender id
    return Tracker(conversation, dict(slots or {}), latest, [user], False, None, {}, "")


def booked(care, *codes: str):
    load_small(care)
    grandma = elder(care)
    care.people.add_identity(grandma.id, "wechat", "oWx-1")
    for code in codes:
        care.bookings.book(grandma.id, slot_id(care, code), Actor.person(grandma.id), "wechat")
    return grandma


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def test_move_tomorrows_lunch_to_the_day_after(care):
    grandma = booked(care, "meal:2026-11-26:lunch:dine_in")
    d = CollectingDispatcher()
    found = slots_of(await ActionFindMove(care).run(d, tracker("把明天的午饭改到后天"), {}))
    assert d.messages[0]["response"] == "utter_ask_move_confirm"
    assert "11月27号，星期五" in d.messages[0]["new"], d.messages[0]
    assert found["move_to"] == "meal:2026-11-27:lunch:dine_in"
    d = CollectingDispatcher()
    await ActionMoveConfirmed(care).run(d, tracker("对", found, "affirm"), {})
    assert d.messages[0]["response"] == "utter_moved"
    [now] = care.bookings.upcoming(grandma.id)
    assert now.slot.code == "meal:2026-11-27:lunch:dine_in" and now.rescheduled_from_id


async def test_which_one_then_which_day_then_another_time(care):
    booked(care, "meal:2026-11-26:lunch:dine_in", "day_care:2026-11-26:afternoon")
    d = CollectingDispatcher()
    ask = tracker("换个时间", intent="reschedule_booking")
    listed = slots_of(await ActionFindMove(care).run(d, ask, {}))
    assert d.messages[0]["response"] == "utter_move_which" and len(listed["booking_choices"]) == 2
    d = CollectingDispatcher()
    chosen = slots_of(await ActionFindMove(care).run(d, tracker("2", listed), {}))
    assert d.messages[0]["response"] == "utter_ask_move_day"
    assert "日托" in d.messages[0]["line"] and chosen["booking_choices"] is None
    d = CollectingDispatcher()
    # the small catalogue has day care only on the 26th: nothing on Friday
    await ActionFindMove(care).run(d, tracker("后天", chosen), {})
    assert d.messages[0]["response"] == "utter_move_no_place"


async def test_a_clinic_visit_moves_to_another_time_the_same_day(care):
    booked(care, "clinic:2026-11-26:rehabilitation:dr-li-jianguo:1400:1400")
    d = CollectingDispatcher()
    t = tracker("门诊换到下午两点四十")
    found = slots_of(await ActionFindMove(care).run(d, t, {}))
    assert found["move_to"].endswith(":1440"), found


async def test_cancel_picks_by_number_from_the_list_read_out(care):
    booked(care, "meal:2026-11-26:lunch:dine_in", "meal:2026-11-27:lunch:dine_in")
    d = CollectingDispatcher()
    ask = tracker("取消午饭", intent="cancel_booking")
    listed = slots_of(await ActionFindCancel(care).run(d, ask, {}))
    assert d.messages[0]["response"] == "utter_cancel_which"
    assert [b["payload"] for b in d.messages[0]["buttons"]] == ["1", "2"]
    d = CollectingDispatcher()
    chosen = slots_of(await ActionFindCancel(care).run(d, tracker("第二个", listed), {}))
    assert d.messages[0]["response"] == "utter_ask_cancel_confirm"
    assert "11月27号" in d.messages[0]["line"] and chosen["pending_cancel"]
