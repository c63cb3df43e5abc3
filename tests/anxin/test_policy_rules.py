"""ShortRulePolicy keeps exactly the rules Rasa's RulePolicy keeps."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.core.policies.rule_policy import RulePolicy

from anxin.policy_rules import ShortRulePolicy

INTENTS = st.sampled_from(["greet", "affirm", "deny", "book_meal", "crisis"])
ACTIONS = st.sampled_from(["action_listen", "utter_greet", "meal_form", "action_crisis"])
LOOPS = st.sampled_from(["meal_form", "should_not_be_set"])
# What a rule may say of the previous action: Rasa's values, and ones it never writes.
RULE_ACTIONS = st.one_of(ACTIONS, st.sampled_from(["should_not_be_set", ""]))


@st.composite
def state(draw: st.DrawFn, conversation: bool) -> dict:
    s: dict = {}
    if draw(st.booleans()) or conversation:
        s["prev_action"] = {"action_name": draw(ACTIONS if conversation else RULE_ACTIONS)}
    elif draw(st.booleans()):
        s["prev_action"] = {"action_text": "hello"}  # an end-to-end rule
    if draw(st.booleans()):
        s["user"] = {"intent": draw(INTENTS)}
    if draw(st.booleans()):
        s["active_loop"] = {"name": draw(LOOPS)}
    if draw(st.booleans()):
        s["slots"] = {"meal": draw(st.sampled_from([(1.0,), (0.0,)]))}
    if conversation and not draw(st.integers(0, 9)):
        del s["prev_action"]  # a conversation-start state
    return s


RULE = st.lists(state(conversation=False), min_size=1, max_size=4).map(json.dumps)
CONVERSATION = st.lists(state(conversation=True), min_size=0, max_size=12)


@settings(max_examples=400, deadline=None)
@given(st.lists(RULE, min_size=0, max_size=25, unique=True), CONVERSATION)
def test_the_same_rules_remain(rules, states):
    lookup = {key: "some_action" for key in rules}
    rasas = RulePolicy._get_possible_keys(RulePolicy.__new__(RulePolicy), lookup, states)
    ours = ShortRulePolicy.__new__(ShortRulePolicy)._get_possible_keys(lookup, states)
    assert ours == rasas


def test_a_long_conversation_stops_at_the_longest_rule():
    calls = []

    class Counting(ShortRulePolicy):
        def _is_rule_applicable(self, rule_key, turn_index, conversation_state):
            calls.append(turn_index)
            return super()._is_rule_applicable(rule_key, turn_index, conversation_state)

    rule = json.dumps(
        [
            {"prev_action": {"action_name": "utter_greet"}},
            {"user": {"intent": "affirm"}, "prev_action": {"action_name": "action_listen"}},
        ]
    )  # noqa: E501
    history = [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}] * 40
    history += [{"prev_action": {"action_name": "utter_greet"}}]
    history += [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "affirm"}}]
    policy = Counting.__new__(Counting)
    assert policy._get_possible_keys({rule: "action_list_services"}, history) == {rule}
    assert max(calls) == 1  # Rasa's own walks all 42 turns


def test_states_are_rasas_for_both_looks_at_every_step_of_a_conversation(tmp_path):
    from rasa.engine.graph import ExecutionContext, GraphSchema
    from rasa.engine.storage.local_model_storage import LocalModelStorage
    from rasa.engine.storage.resource import Resource
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    domain = Domain.load("bot/domain")
    storage, context = LocalModelStorage(tmp_path), ExecutionContext(GraphSchema({}), "t")
    config = RulePolicy.get_default_config()
    rasa = RulePolicy.create(config, storage, Resource("rasa"), context)
    ours = ShortRulePolicy.create(config, storage, Resource("ours"), context)

    def said(text: str, intent: str, **entities: str) -> UserUttered:
        found = [{"entity": k, "value": v, "start": 0, "end": 1} for k, v in entities.items()]
        return UserUttered(text, {"name": intent, "confidence": 0.9}, found)

    events = [
        ActionExecuted("action_session_start"),
        ActionExecuted("action_listen"),
        said("你好", "greet"),
        ActionExecuted("utter_greet"),
        ActionExecuted("action_listen"),
        said("帮我订明天的午饭在食堂吃", "book_meal", meal="lunch", dining="dine_in"),
        ActionExecuted("meal_form"),
        ActiveLoop("meal_form"),
        SlotSet("meal", "lunch"),
        ActionExecuted("action_listen"),
        said("对", "affirm"),
        ActionExecuted("meal_form"),
        ActiveLoop(None),
        ActionExecuted("action_listen"),
        said("I want to talk to a person", "request_human"),
    ]
    tracker = DialogueStateTracker.from_events("someone", [], domain.slots)
    for event in events:
        tracker.update(event, domain)
        for use_text in (True, False, True, False):  # the second pair from the replay kept
            mine = ours._prediction_states(tracker, domain, use_text)
            theirs = rasa._prediction_states(tracker, domain, use_text)
            assert mine == theirs, (event, use_text)
