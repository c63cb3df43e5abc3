"""Family links in dialogue: the elder's code, the relative's redeem, consent, proxy booking."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, Mapping

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.family import ActionLinkAnswer, ActionLinkFamily, ValidateLinkForm
from actions.meal import ActionBookMeal, ValidateMealForm
from care.senders import sender_id
from tests.care.helpers import elder, load_small


def tracker(
    sender: str,
    slots: Mapping[str, Any] = MappingProxyType({}),
    text: str = "…",
    intent: str = "inform",
    entities: list[dict[str, Any]] = (),
) -> Tracker:
    user = {"event": "user", "text": text, "input_channel": "wechat", "parse_data": {}}
    latest = {"entities": list(entities), "message_id": f"m-{text}", "text": text,
              "intent": {"name": intent}}  # fmt: skip
    return Tracker(sender_id("wechat", sender), dict(slots), latest, [user], False, None, {}, "")


def grandma(care):
    load_small(care)
    mum = elder(care, "王秀英")
    care.people.add_identity(mum.id, "wechat", "mum")
    return mum


async def code_for(care) -> str:
    d = CollectingDispatcher()
    await ActionLinkFamily(care).run(d, tracker("mum", intent="link_family"), {})
    [message] = d.messages
    assert message["response"] == "utter_link_code"
    return message["code"]


async def test_the_elder_gets_a_code_and_a_relative_is_asked_only_what_is_missing(care):
    grandma(care)
    form, d = ValidateLinkForm(care), CollectingDispatcher()
    assert await form.required_slots([], d, tracker("mum"), {}) == []
    assert await form.required_slots([], d, tracker("son"), {}) == [
        "invite_code", "family_name", "family_relation"]  # fmt: skip
    code = await code_for(care)
    assert len(code) == 6 and code.isdigit()
    asked = {"requested_slot": "family_relation"}
    for said, relation in (("我是她闺女", "daughter"), ("外孙女", "granddaughter"), ("1", "son"),
                           ("I'm her son-in-law", "son_in_law")):  # fmt: skip
        got = await form.extract_family_relation(d, tracker("son", asked, said), {})
        assert got == {"family_relation": relation}, said
    assert await form.validate_invite_code("12 34", d, tracker("son"), {}) == {"invite_code": None}
    assert await form.validate_invite_code("123 456", d, tracker("son"), {}) == {
        "invite_code": "123456"
    }


async def test_redeem_consent_then_book_for_mum_and_she_is_told(care):
    mum = grandma(care)
    code = await code_for(care)
    slots = {"invite_code": code, "family_name": "王强", "family_relation": "son"}
    d = CollectingDispatcher()
    await ActionLinkFamily(care).run(d, tracker("son", slots, entities=[
        {"entity": "relation", "value": "mother"}]), {})  # fmt: skip
    assert [m["response"] for m in d.messages] == ["utter_link_requested"]
    assert d.messages[0]["elder"] == "王秀英"

    booking = {"meal_date": "2026-11-27", "meal": "lunch", "dining": "delivery",
               "meal_confirmed": True, "booking_for": "mother"}  # fmt: skip
    d = CollectingDispatcher()
    await ActionBookMeal(care).run(d, tracker("son", booking, "对", "affirm"), {})
    assert [m["response"] for m in d.messages] == ["utter_family_not_linked"]  # not yet agreed
    assert care.bookings.upcoming(mum.id) == []

    d = CollectingDispatcher()
    events = await ActionLinkFamily(care).run(d, tracker("mum", intent="link_family"), {})
    assert d.messages[0]["response"] == "utter_link_consent_ask" and d.messages[0]["name"] == "王强"
    pending = next(e["value"] for e in events if e["name"] == "pending_link")
    d = CollectingDispatcher()
    await ActionLinkAnswer(care).run(
        d, tracker("mum", {"pending_link": pending}, "同意", "affirm"), {}
    )
    assert d.messages[0]["response"] == "utter_link_agreed"

    form = ValidateMealForm(care)
    asked = await form.required_slots(
        ["meal_date", "elder_name"], CollectingDispatcher(), tracker("son", booking), {}
    )
    assert "elder_name" not in asked
    d = CollectingDispatcher()
    await ActionBookMeal(care).run(d, tracker("son", booking, "对!", "affirm"), {})
    assert [m["response"] for m in d.messages] == ["utter_meal_booked"]
    [made] = care.bookings.upcoming(mum.id)
    son = care.people.find_by_identity("wechat", "son")
    assert made.booked_by == f"person:{son.id}"
    told = care.safety.pending_notifications(mum.id)
    assert any("王强" in m and "午饭" in m for m in told), told


async def test_a_stranger_booking_for_mum_is_told_how_to_link(care):
    grandma(care)
    form, d = ValidateMealForm(care), CollectingDispatcher()
    stranger = tracker("who", {"booking_for": "mother"})
    assert await form.required_slots(["meal_date"], d, stranger, {}) == []
    await ActionBookMeal(care).run(d, stranger, {})
    assert [m["response"] for m in d.messages] == ["utter_family_not_linked"]


async def test_wrong_codes_are_answered_kindly(care):
    grandma(care)
    d = CollectingDispatcher()
    slots = {"invite_code": "000000", "family_name": "王强", "family_relation": "son"}
    for _ in range(6):
        await ActionLinkFamily(care).run(d, tracker("son", slots), {})
    assert [m["response"] for m in d.messages] == ["utter_link_code_unknown"] * 5 + [
        "utter_link_too_many_tries"
    ]


async def test_yes_as_the_first_words_answers_the_question_the_channel_delivered(care):
    grandma(care)
    code = await code_for(care)
    slots = {"invite_code": code, "family_name": "王强", "family_relation": "son"}
    await ActionLinkFamily(care).run(CollectingDispatcher(), tracker("son", slots), {})
    d = CollectingDispatcher()
    await ActionLinkAnswer(care).run(d, tracker("mum", {}, "同意", "affirm"), {})
    assert d.messages[0]["response"] == "utter_link_agreed"
    son = care.people.find_by_identity("wechat", "son")
    assert [e.name for _, e in care.family.elders_of(son.id)] == ["王秀英"]
