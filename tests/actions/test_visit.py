"""Day care, clinic and companion-call bookings through the visit form, on a real database."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.start import ActionStartBooking
from actions.visit import (
    ActionAskVisitConfirmed,
    ActionAskVisitPickup,
    ActionAskVisitSlot,
    ActionBookVisit,
    ValidateVisitForm,
)
from care.audit import Actor
from care.senders import sender_id
from tests.care.helpers import elder, load_small, slot_id

DAY = "2026-11-26"  # a Thursday; the clock says Wednesday 25th, 08:00 in Harbin


def tracker(
    slots: dict[str, Any],
    text: str = "…",
    entities: list[dict[str, Any]] = (),
    sender: str = "oWx-1",
    intent: str = "inform",
    events: list[dict[str, Any]] = (),
) -> Tracker:
    user = {"event": "user", "text": text, "input_channel": "wechat", "parse_data": {}}
    latest = {"entities": list(entities), "message_id": "m-9", "text": text,
              "intent": {"name": intent}}  # fmt: skip
    conversation = sender_id("wechat", sender)  # Rasa's sender id
    form = {"name": "visit_form"}
    return Tracker(conversation, slots, latest, [user, *events], False, None, form, "")


def known(care, language: str = "zh"):
    load_small(care)
    grandma = elder(care, preferred_language=language)
    care.people.add_identity(grandma.id, "wechat", "oWx-1")
    return grandma


async def offered(care, slots: dict[str, Any], text: str = "…", entities=()) -> tuple:
    d = CollectingDispatcher()
    events = await ActionAskVisitSlot(care).run(d, tracker(slots, text, entities), {})
    return d.messages, events


async def test_each_service_asks_only_what_it_needs(care):
    known(care)
    form, d = ValidateVisitForm(care), CollectingDispatcher()
    day_care = await form.required_slots([], d, tracker({"visit_service": "day_care"}), {})
    clinic = await form.required_slots([], d, tracker({"visit_service": "clinic"}), {})
    stranger = await form.required_slots(
        [], d, tracker({"visit_service": "clinic"}, sender="new"), {}
    )
    assert day_care == ["visit_date", "visit_slot", "visit_pickup", "visit_confirmed"]
    assert clinic == ["visit_date", "visit_slot", "visit_confirmed"]
    assert stranger == ["visit_date", "visit_slot", "elder_name", "visit_confirmed"]


async def test_a_day_without_the_service_is_asked_again(care):
    known(care)
    form, d = ValidateVisitForm(care), CollectingDispatcher()
    ok = await form.validate_visit_date(DAY, d, tracker({"visit_service": "day_care"}), {})
    friday = await form.validate_visit_date(
        "2026-11-27", d, tracker({"visit_service": "day_care"}), {}
    )
    assert ok == {"visit_date": DAY}
    assert friday == {"visit_date": None, "visit_slot": None}
    assert d.messages[0]["response"] == "utter_no_day_care_that_day"
    assert d.messages[0]["day"] == "后天"


async def test_day_care_choices_then_pickup_then_read_back_then_book(care):
    grandma = known(care)
    slots = {"visit_service": "day_care", "visit_date": DAY, "requested_slot": "visit_slot"}
    [ask], [options] = await offered(care, slots)
    assert ask["response"] == "utter_ask_visit_slot_day_care"
    assert [b["title"] for b in ask["buttons"]] == ["1. 上午 08:30-11:30", "2. 下午 13:30-16:30"]
    assert ask["buttons"][1]["payload"] == f'/inform{{"choice":"day_care:{DAY}:afternoon"}}'
    form, d = ValidateVisitForm(care), CollectingDispatcher()
    slots["visit_options"] = options["value"]
    chosen = await form.extract_visit_slot(d, tracker(slots, "上午的吧"), {})
    assert chosen == {"visit_slot": f"day_care:{DAY}:morning", "visit_waitlist": False}
    unclear = await form.extract_visit_slot(d, tracker(slots, "嗯那个啥"), {})
    assert unclear == {"visit_slot": None}
    assert d.messages[-1]["response"] == "utter_visit_pick_again"

    slots |= {"visit_slot": f"day_care:{DAY}:morning", "requested_slot": "visit_pickup"}
    d = CollectingDispatcher()
    [pickup_options] = await ActionAskVisitPickup(care).run(d, tracker(slots), {})
    assert [b["title"] for b in d.messages[0]["buttons"]] == [
        "1. 08:00 花园小区东门", "2. 不用接，自己来"]  # fmt: skip
    slots["visit_options"] = pickup_options["value"]
    assert await form.extract_visit_pickup(d, tracker(slots, "东门"), {}) == {
        "visit_pickup": "pickup:0"
    }
    assert await form.extract_visit_pickup(d, tracker(slots, "我自己去"), {}) == {
        "visit_pickup": "pickup:none"
    }

    slots |= {"visit_pickup": "pickup:0", "language": "zh"}
    d = CollectingDispatcher()
    await ActionAskVisitConfirmed(care).run(d, tracker(slots), {})
    assert d.messages[0]["line"] == (
        "明天（11月26号，星期四） 08:30：日托（上午），日间照料室，08:00在花园小区东门接您"
    )
    slots["visit_confirmed"] = True
    for _ in range(2):  # a retried action books nothing twice
        d = CollectingDispatcher()
        await ActionBookVisit(care).run(d, tracker(slots), {})
    assert d.messages[0]["response"] == "utter_visit_booked"
    [booking] = care.bookings.upcoming(grandma.id)
    assert booking.slot.code == f"day_care:{DAY}:morning"
    assert booking.details["pickup"]["name"] == "花园小区东门"


async def test_a_full_clinic_offers_the_waiting_list(care):
    grandma = known(care)
    wang = f"clinic:{DAY}:internal-medicine:dr-wang-shufen:0800"
    for i, code in enumerate((f"{wang}:0800", f"{wang}:0830")):
        other = elder(care, f"病人{i}")
        care.bookings.book(other.id, slot_id(care, code), Actor.person(other.id), "rest")
    slots = {"visit_service": "clinic", "visit_date": DAY, "visit_department": "内科",
             "requested_slot": "visit_slot"}  # fmt: skip
    [ask], [options] = await offered(care, slots)
    assert ask["response"] == "utter_visit_full_offer"
    assert ask["buttons"][-1]["title"].startswith("1. 排队等 08:00 内科 王淑芬医生")
    slots["visit_options"] = options["value"]
    form, d = ValidateVisitForm(care), CollectingDispatcher()
    chosen = await form.extract_visit_slot(d, tracker(slots, "1"), {})
    assert chosen["visit_waitlist"] is True
    slots |= chosen | {"visit_confirmed": True}
    d = CollectingDispatcher()
    await ActionBookVisit(care).run(d, tracker(slots), {})
    assert d.messages[0]["response"] == "utter_visit_waitlisted"
    [booking] = care.bookings.upcoming(grandma.id)
    assert booking.status == "waitlisted"


async def test_clinic_times_near_the_one_asked_for(care):
    known(care)
    slots = {"visit_service": "clinic", "visit_date": DAY, "requested_slot": "visit_slot"}
    [ask], _ = await offered(care, slots, "下午两点", [{"entity": "time", "value": "14:00"}])
    assert ask["buttons"][0]["title"] == "1. 14:00 康复科 李建国医生"


async def test_english_speakers_are_offered_volunteers_who_speak_english(care):
    known(care, "en")
    slots = {"visit_service": "companion_call", "visit_date": DAY, "language": "en",
             "requested_slot": "visit_slot"}  # fmt: skip
    [ask], _ = await offered(care, slots)
    zhang = "Zhang Min (likes Peking opera)"
    assert [b["title"] for b in ask["buttons"]] == [f"1. 14:00 {zhang}", f"2. 14:30 {zhang}"]
    friday = {**slots, "visit_date": "2026-11-27"}
    [ask], _ = await offered(care, friday)
    assert ask["buttons"][0]["title"].startswith("1. 10:00 Emily Carter")


async def test_no_means_start_again_but_a_new_time_is_kept(care):
    known(care)
    form, d = ValidateVisitForm(care), CollectingDispatcher()
    again = await form.validate_visit_confirmed(False, d, tracker({}), {})
    assert again["visit_date"] is None and again["visit_slot"] is None
    later = tracker({}, "不对 要下午的", [{"entity": "part_of_day", "value": "afternoon"}])
    assert await form.validate_visit_confirmed(False, d, later, {}) == {
        "visit_confirmed": None, "visit_slot": None, "visit_pickup": None}  # fmt: skip


async def test_a_new_booking_forgets_answers_from_earlier_messages():
    said = [{"event": "slot", "name": "visit_date", "value": DAY}]
    t = tracker({"visit_date": DAY, "meal": "lunch", "visit_slot": "x"}, events=said)
    events = await ActionStartBooking().run(CollectingDispatcher(), t, {})
    assert {e["name"] for e in events} == {"meal", "visit_slot"}


async def test_a_time_that_was_not_listed_is_taken_when_free(care):
    known(care)
    slots = {"visit_service": "clinic", "visit_date": DAY, "requested_slot": "visit_slot",
             "visit_options": []}  # fmt: skip
    form, d = ValidateVisitForm(care), CollectingDispatcher()
    twenty = tracker(slots, "两点二十的", [{"entity": "time", "value": "14:20"}])
    chosen = await form.extract_visit_slot(d, twenty, {})
    assert chosen["visit_slot"].endswith(":1420") and d.messages == []


async def test_yes_is_not_a_name_and_no_stops_the_form(care):
    known(care)
    form, d = ValidateVisitForm(care), CollectingDispatcher()
    asked = {"requested_slot": "elder_name"}
    assert await form.extract_elder_name(d, tracker(asked, "yes", intent="affirm"), {}) == {
        "elder_name": None
    }
    assert await form.extract_elder_name(d, tracker(asked, "算了", intent="deny"), {}) == {}
    dated = {"requested_slot": "visit_date"}
    assert await form.extract_visit_date(d, tracker(dated, "东门", intent="inform"), {}) == {
        "visit_date": None
    }
    assert d.messages[-1]["response"] == "utter_ask_date_again"
    assert await form.extract_visit_date(d, tracker(dated, "中午吃啥", intent="ask_menu"), {}) == {}


async def test_a_name_is_taken_whatever_the_classifier_made_of_it(care):
    known(care)
    form, d = ValidateVisitForm(care), CollectingDispatcher()
    asked = {"requested_slot": "elder_name"}
    dorothy = tracker(asked, "Dorothy Clarke", intent="affirm")
    assert await form.extract_elder_name(d, dorothy, {}) == {"elder_name": "Dorothy Clarke"}
    listing = tracker(asked, "what have I booked", intent="list_bookings")
    assert await form.extract_elder_name(d, listing, {}) == {}  # its own rule answers first
