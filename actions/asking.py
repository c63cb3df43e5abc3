"""When the answer to a form's question is not an answer: ask again kindly, do not give up.

Returning ``{slot: None}`` keeps the form running (it asks again); returning
``{}`` lets the message go to its own rule (the menu, "算了", an emergency).
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.parsed import answers_question, entity, intent_of
from care.names import name_in

# Whatever they look like, these go to their own rules.
NOT_A_NAME = ("emergency", "crisis", "request_human", "stop")


def date_not_understood(
    dispatcher: CollectingDispatcher, tracker: Tracker, slot: str
) -> dict[str, Any]:
    """Asked "which day?" and heard no day: say how to answer instead of giving up."""
    if tracker.get_slot("requested_slot") != slot or not answers_question(tracker):
        return {}
    if entity(tracker, "date") or entity(tracker, "when_ambiguous"):
        return {}
    if intent_of(tracker) == "deny":
        return {}  # "算了": the form's stop rule takes it
    dispatcher.utter_message(response="utter_ask_date_again")
    return {slot: None}


def name_answer(tracker: Tracker, slot: str) -> dict[str, Any]:
    """Asked someone's name: take it when it looks like one, whatever the intent.

    "Dorothy Clarke" may read as affirm and "张桂芬" as inform; "yes" or "谢谢" is
    asked again; "我都约了啥" or "算了" goes to its own rule.
    """
    if tracker.get_slot("requested_slot") != slot:
        return {}
    name = name_in(str(tracker.latest_message.get("text") or ""))
    if name is not None and intent_of(tracker) not in NOT_A_NAME:
        return {slot: name}
    if answers_question(tracker) and intent_of(tracker) != "deny":
        return {slot: None}
    return {}


CORRECTIONS = ("date", "time", "part_of_day", "department", "meal", "dining")


def correction_instead_of_no(tracker: Tracker, slot: str) -> dict[str, Any]:
    """At the read-back, "no, 10 am" may read as inform: it is a "no" with a correction."""
    if tracker.get_slot("requested_slot") != slot or intent_of(tracker) in ("affirm", "deny"):
        return {}
    if answers_question(tracker) and any(entity(tracker, name) for name in CORRECTIONS):
        return {slot: False}
    return {}


class AsksName:
    """For a form that asks a first-timer's name (``elder_name``): a mixin, not an Action."""

    async def extract_elder_name(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        return name_answer(tracker, "elder_name")
