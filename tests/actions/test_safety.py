"""Safety actions reply first, then alert staff and family through care/."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import ActionCrisis, ActionEmergency, ActionHandoff
from care.config import CareSettings
from care.senders import sender_id
from care.services import build
from tests.care.helpers import child_linked, elder


def tracker(sender: str, text: str, channel: str = "wechat") -> Tracker:
    user = {"event": "user", "text": text, "input_channel": channel, "parse_data": {}}
    conversation = sender_id(channel, sender)  # Rasa's sender id
    return Tracker(conversation, {}, {"text": text}, [user], False, None, {"name": "my_form"}, "")


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages]


async def test_emergency_says_call_120_first_and_tells_family(care):
    mum = elder(care)
    care.people.add_identity(mum.id, "wechat", "oWx-mum")
    son = child_linked(care, mum)
    dispatcher = CollectingDispatcher()
    events = await ActionEmergency(care).run(dispatcher, tracker("oWx-mum", "我摔倒了"), {})
    assert responses(dispatcher) == [
        "utter_emergency_call_now",
        "utter_emergency_staff_told_family",
    ]
    assert dispatcher.messages[0]["ambulance"] == "120"
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]
    assert care.alerts.open_alerts()[0].kind == "emergency"
    assert care.safety.pending_notifications(son.id)


async def test_emergency_from_a_stranger_alerts_staff_only(care):
    dispatcher = CollectingDispatcher()
    await ActionEmergency(care).run(dispatcher, tracker("new-person", "chest pain", "rest"), {})
    assert responses(dispatcher) == ["utter_emergency_call_now", "utter_emergency_staff_told"]


async def test_emergency_reply_survives_a_dead_database():
    down = build(CareSettings(db_url="postgresql://nobody@127.0.0.1:1/anxin"), check=False)
    dispatcher = CollectingDispatcher()
    await ActionEmergency(down).run(dispatcher, tracker("x", "救命"), {})
    assert responses(dispatcher) == ["utter_emergency_call_now", "utter_emergency_alert_failed"]
    down.close()


async def test_crisis_gives_the_hotline_and_offers_a_person(care):
    dispatcher = CollectingDispatcher()
    await ActionCrisis(care).run(dispatcher, tracker("u1", "活着没意思"), {})
    assert responses(dispatcher) == ["utter_crisis", "utter_crisis_offer_person"]
    assert dispatcher.messages[0]["crisis_hotline"] == "12356"
    assert care.alerts.open_alerts()[0].kind == "crisis"


async def test_handoff_marks_the_conversation(care):
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(care).run(dispatcher, tracker("u2", "转人工"), {})
    assert responses(dispatcher) == ["utter_handoff"]
    assert {"event": "slot", "name": "handed_off", "value": True} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]
    assert care.alerts.open_alerts()[0].kind == "handoff"


def unsure(ranking: list[tuple[str, float]]) -> Tracker:
    latest = {
        "text": "我这胸口",
        "intent": {"name": "nlu_fallback", "confidence": 0.35},
        "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.35}]
        + [{"name": n, "confidence": c} for n, c in ranking],
    }
    user = {"event": "user", "text": "我这胸口", "input_channel": "rest", "parse_data": {}}
    return Tracker(sender_id("rest", "unsure"), {}, latest, [user], False, None, {}, "")


async def test_an_unsure_emergency_guess_raises_no_alarm(care):
    """Unsure guesses alarmed people for answers inside a booking (issue 15): danger words
    are read by the NLU now (anxin/nlu_safety.py), and an unsure guess is asked again."""
    from actions.safety import ActionSafeFallback

    for ranking in ([("emergency", 0.3), ("greet", 0.2)], [("crisis", 0.28)]):
        dispatcher = CollectingDispatcher()
        await ActionSafeFallback(care).run(dispatcher, unsure(ranking), {})
        assert responses(dispatcher)[0] == "utter_please_rephrase"
    assert care.alerts.open_alerts() == []


async def test_an_unsure_ordinary_message_is_asked_again(care):
    from actions.safety import ActionSafeFallback

    dispatcher = CollectingDispatcher()
    await ActionSafeFallback(care).run(dispatcher, unsure([("greet", 0.3), ("emergency", 0.2)]), {})
    assert responses(dispatcher) == ["utter_please_rephrase"]
    assert care.alerts.open_alerts() == []


async def test_after_hours_a_hand_off_says_when_someone_will_call(care, clock):
    clock.advance(hours=12)  # Wednesday 20:00 in Harbin: the centre is closed
    dispatcher = CollectingDispatcher()
    await ActionHandoff(care).run(dispatcher, tracker("u3", "转人工"), {})
    [message] = dispatcher.messages
    assert message["response"] == "utter_handoff_after_hours"
    assert message["when"] == "明天（11月26号，星期四） 08:00"
    assert message["when_en"] == "tomorrow at 08:00"
    assert care.alerts.open_alerts()[0].kind == "handoff"


async def test_a_menu_when_unsure_and_a_person_after_two_misses(care):
    from actions.safety import ActionSafeFallback, misses_in_a_row

    dispatcher = CollectingDispatcher()
    await ActionSafeFallback(care).run(dispatcher, unsure([("greet", 0.3)]), {})
    assert "/request_human" in [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    missed = {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    understood = {"event": "user", "parse_data": {"intent": {"name": "greet"}}}
    assert misses_in_a_row([understood, missed, {"event": "bot"}, missed]) == 2
    twice = unsure([("greet", 0.3)])
    twice.events = [missed, {"event": "action"}, missed]
    dispatcher = CollectingDispatcher()
    await ActionSafeFallback(care).run(dispatcher, twice, {})
    assert responses(dispatcher) == ["utter_offer_person"]
