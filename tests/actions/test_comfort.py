"""action_comfort: by name when we know the person, a real suggestion, the mood logged."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.comfort import ActionComfort
from care.senders import sender_id
from tests.care.helpers import elder, load_small


def tracker(sender: str, intent: str, language: str = "zh") -> Tracker:
    user = {"event": "user", "text": "…", "input_channel": "wechat", "parse_data": {}}
    latest = {"intent": {"name": intent}, "text": "…"}
    conversation = sender_id("wechat", sender)  # Rasa's sender id
    return Tracker(conversation, {"language": language}, latest, [user], False, None, {}, "")


async def test_lonely_elder_is_named_offered_a_call_and_logged(care):
    load_small(care)
    grandma = elder(care, "李阿姨", interests=["京剧"])
    care.people.add_identity(grandma.id, "wechat", "oWx-li")
    dispatcher = CollectingDispatcher()
    await ActionComfort(care).run(dispatcher, tracker("oWx-li", "feeling_lonely"), {})
    first, call, activity = dispatcher.messages
    assert (first["response"], first["name"]) == ("utter_comfort_lonely_named", "李阿姨")
    assert call["response"] == "utter_suggest_call_interest"
    assert (call["volunteer"], call["interest"], call["day"], call["time"]) == (
        "张敏",
        "京剧",
        "明天",
        "14:00",
    )
    assert activity["response"] == "utter_suggest_activity" and activity["activity"] == "书法班"
    assert care.comfort.record("wechat", "oWx-li", "ok").low_this_week == 1


async def test_unknown_person_sad_in_english(care):
    load_small(care)
    dispatcher = CollectingDispatcher()
    await ActionComfort(care).run(dispatcher, tracker("someone", "feeling_sad", "en"), {})
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_comfort_sad",
        "utter_suggest_call",
        "utter_suggest_activity",
    ]
    assert dispatcher.messages[2]["activity"] == "Calligraphy class"
