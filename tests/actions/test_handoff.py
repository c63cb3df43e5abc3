"""A handed-off conversation stays quiet until staff resolve the hand-off alert."""

from __future__ import annotations

from rasa.engine.graph import ExecutionContext
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionHandedOff
from anxin.policy_handoff import HandoffPolicy
from care.senders import sender_id

DOMAIN = Domain.from_dict(
    {
        "intents": ["greet", "emergency"],
        "slots": {"handed_off": {"type": "bool", "mappings": [{"type": "custom"}]}},
        "actions": ["action_handed_off", "action_emergency"],
    }
)


def policy(tmp_path) -> HandoffPolicy:
    storage = LocalModelStorage(tmp_path)
    config = HandoffPolicy.get_default_config()
    return HandoffPolicy(config, storage, Resource("handoff"), ExecutionContext(None))


def best(tmp_path, *events) -> str | None:
    tracker = DialogueStateTracker.from_events("elder", list(events), DOMAIN.slots)
    scores = policy(tmp_path).predict_action_probabilities(tracker, DOMAIN).probabilities
    if max(scores) == 0:
        return None
    return DOMAIN.action_names_or_texts[scores.index(max(scores))]


def said(intent: str) -> list:
    return [ActionExecuted("action_listen"), UserUttered("…", {"name": intent})]


def test_quiet_while_handed_off_but_emergencies_pass(tmp_path):
    handed = SlotSet("handed_off", True)
    assert best(tmp_path, *said("greet")) is None  # not handed off: the rules decide
    assert best(tmp_path, handed, *said("greet")) == "action_handed_off"
    assert best(tmp_path, handed, *said("greet"), ActionExecuted("action_handed_off")) == (
        "action_listen"
    )
    assert best(tmp_path, handed, *said("emergency")) is None
    released = [handed, *said("greet"), ActionExecuted("action_handed_off")]
    assert best(tmp_path, *released, SlotSet("handed_off", False)) == "action_listen"


def tracker() -> Tracker:
    user = {"event": "user", "text": "在吗", "input_channel": "wechat", "parse_data": {}}
    rasa_id = sender_id("wechat", "oWx-9")
    return Tracker(rasa_id, {"handed_off": True}, {"text": "在吗"}, [user], False, None, {}, "")


async def test_released_when_staff_resolve_the_alert(care):
    alert = care.safety.handoff("wechat", "oWx-9", "转人工").alert
    d = CollectingDispatcher()
    assert await ActionHandedOff(care).run(d, tracker(), {}) == []
    assert d.messages == []
    care.alerts.resolve(alert.id, "wang.staff", "called her back")
    events = await ActionHandedOff(care).run(d, tracker(), {})
    assert events == [{"event": "slot", "timestamp": None, "name": "handed_off", "value": False}]
    assert d.messages[0]["response"] == "utter_handoff_released"
