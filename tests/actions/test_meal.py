"""The meal form's validation, read-back and booking, against a real database."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.meal import ActionAskMealConfirmed, ActionBookMeal, ValidateMealForm
from care.audit import Actor
from care.senders import sender_id
from tests.care.helpers import elder, load_small, slot_id


def tracker(slots: dict[str, Any], entities: list[dict[str, Any]] = (), sender: str = "oWx-1"):
    user = {"event": "user", "text": "…", "input_channel": "wechat", "parse_data": {}}
    latest = {"entities": list(entities), "message_id": "m-1", "text": "…"}
    conversation = sender_id("wechat", sender)  # Rasa's sender id
    return Tracker(conversation, slots, latest, [user], False, None, {"name": "meal_form"}, "")


def known(care):
    load_small(care)
    grandma = elder(care)
    care.people.add_identity(grandma.id, "wechat", "oWx-1")
    return grandma


async def test_dates_are_checked_before_they_are_accepted(care):
    known(care)
    form, d = ValidateMealForm(care), CollectingDispatcher()
    ok = await form.validate_meal_date("2026-11-26", d, tracker({}), {})
    assert ok == {"meal_date": "2026-11-26"}
    past = await form.validate_meal_date("2026-11-20", d, tracker({}), {})
    sunday = await form.validate_meal_date("2026-11-29", d, tracker({}), {})
    vague = await form.validate_meal_date(
        None, d, tracker({}, [{"entity": "when_ambiguous", "value": "week_without_day"}]), {}
    )
    assert past == sunday == vague == {"meal_date": None}
    assert [m["response"] for m in d.messages] == [
        "utter_date_past_date",
        "utter_no_meals_that_day",
        "utter_date_week_without_day",
    ]


async def test_only_strangers_are_asked_their_name(care):
    known(care)
    slots = ["meal_date", "meal", "dining", "elder_name", "meal_confirmed"]
    form, d = ValidateMealForm(care), CollectingDispatcher()
    assert "elder_name" not in await form.required_slots(slots, d, tracker({}), {})
    assert "elder_name" in await form.required_slots(slots, d, tracker({}, sender="new"), {})
    noon = tracker({}, [{"entity": "part_of_day", "value": "noon"}])
    assert await form.extract_meal(d, noon, {}) == {"meal": "lunch"}


async def test_no_starts_again_but_a_correction_is_kept(care):
    known(care)
    form, d = ValidateMealForm(care), CollectingDispatcher()
    again = await form.validate_meal_confirmed(False, d, tracker({}), {})
    assert again == {"meal_date": None, "meal": None, "dining": None, "meal_confirmed": None}
    fixed = tracker({}, [{"entity": "date", "value": "2026-11-27"}])
    assert await form.validate_meal_confirmed(False, d, fixed, {}) == {"meal_confirmed": None}


async def test_read_back_then_book_once(care):
    grandma = known(care)
    slots = {"meal_date": "2026-11-26", "meal": "lunch", "dining": "dine_in", "language": "zh"}
    d = CollectingDispatcher()
    await ActionAskMealConfirmed(care).run(d, tracker(slots), {})
    [readback] = d.messages
    assert readback["response"] == "utter_readback_lunch_dine_in"
    assert (readback["day"], readback["time"], readback["quantity"]) == (
        "明天（11月26号，星期四）",
        "11:30",
        1,
    )
    confirmed = tracker({**slots, "meal_confirmed": True})
    for _ in range(2):  # a retried action books nothing twice
        events = await ActionBookMeal(care).run(CollectingDispatcher(), confirmed, {})
    assert {"event": "slot", "name": "meal_date", "value": None} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]
    [booking] = care.bookings.upcoming(grandma.id)
    assert booking.slot.code == "meal:2026-11-26:lunch:dine_in" and booking.channel == "wechat"


async def test_full_meal_offers_another_day(care):
    known(care)
    for name in ("甲", "乙"):
        other = elder(care, name)
        sid = slot_id(care, "meal:2026-11-26:lunch:dine_in")
        care.bookings.book(other.id, sid, Actor.person(other.id), "rest")
    slots = {
        "meal_date": "2026-11-26",
        "meal": "lunch",
        "dining": "dine_in",
        "meal_confirmed": True,
    }
    d = CollectingDispatcher()
    await ActionBookMeal(care).run(d, tracker(slots), {})
    assert d.messages[0]["response"] == "utter_meal_full_alternative"


async def test_a_stranger_is_registered_on_first_booking(care):
    load_small(care)
    slots = {
        "meal_date": "2026-11-27",
        "meal": "lunch",
        "dining": "delivery",
        "meal_confirmed": True,
        "elder_name": "王大爷",
        "language": "en",
    }
    d = CollectingDispatcher()
    await ActionBookMeal(care).run(d, tracker(slots, sender="new-person"), {})
    assert d.messages[0]["response"] == "utter_meal_booked"
    person = care.people.find_by_identity("wechat", "new-person")
    assert person.name == "王大爷" and person.preferred_language == "en"
    assert [b.slot.code for b in care.bookings.upcoming(person.id)] == [
        "meal:2026-11-27:lunch:delivery"
    ]


async def test_a_meal_the_canteen_does_not_serve_that_day_is_asked_again(care):
    known(care)  # the small catalogue: lunch on the 25th-27th only, dinners on weekdays
    form, d = ValidateMealForm(care), CollectingDispatcher()
    friday = tracker({"meal_date": "2026-11-27"})
    assert await form.validate_meal("dinner", d, friday, {}) == {"meal": "dinner"}
    saturday = tracker({"meal_date": "2026-11-28"})
    assert await form.validate_meal("lunch", d, saturday, {}) == {"meal": None}
    assert d.messages[0]["response"] == "utter_no_lunch_that_day"


async def test_buttons_answered_by_number_and_the_menu_in_the_read_back(care):
    known(care)
    form, d = ValidateMealForm(care), CollectingDispatcher()
    asked = {"requested_slot": "dining"}
    conversation = sender_id("wechat", "oWx-1")  # Rasa's sender id
    one = Tracker(conversation, asked, {"text": "2", "entities": []}, [], False, None, {}, "")
    assert await form.extract_dining(d, one, {}) == {"dining": "delivery"}
    slots = {"meal_date": "2026-11-26", "meal": "lunch", "dining": "dine_in", "language": "zh"}
    await ActionAskMealConfirmed(care).run(d, tracker(slots), {})
    assert d.messages[-1]["dishes"] == "清蒸鲈鱼（软烂、控糖）、白菜豆腐汤（少盐）"


async def test_every_refusal_is_explained_kindly(care):
    from care.errors import AlreadyBooked, BookingClosed, InvalidRequest, NotPermitted

    d = CollectingDispatcher()
    action = ActionBookMeal(care)
    for error in (BookingClosed("x"), AlreadyBooked("x"), NotPermitted("x"), InvalidRequest("x")):
        action.explain_refusal(d, error, "meal")
    assert [m["response"] for m in d.messages] == [
        "utter_meal_closed",
        "utter_meal_already_booked",
        "utter_family_not_linked",
        "utter_not_yet",
    ]
    assert d.messages[-1]["centre_hotline"] == "12349"
