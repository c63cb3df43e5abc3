"""A handed-off conversation: quiet while staff have it, back to the bot once they release it.

anxin.policy_handoff sends every message here while ``handed_off`` is set
(emergencies excepted). Staff release a conversation by resolving its hand-off
alert (the console's "release"); until then the person's messages are kept in
the conversation for staff, and the bot says nothing over them.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.runtime import CareMixin

log = logging.getLogger(__name__)


class ActionHandedOff(CareMixin, Action):
    def name(self) -> str:
        return "action_handed_off"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            with_staff = self.care.alerts.handoff_open(tracker.sender_id, self.channel(tracker))
        except Exception:
            # Unsure whether staff are there: staying quiet is safer than talking over them.
            log.exception("could not check the hand-off")
            return []
        if with_staff:
            return []
        dispatcher.utter_message(response="utter_handoff_released")
        return [SlotSet("handed_off", False)]
