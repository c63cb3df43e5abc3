"""While staff have a conversation, the bot keeps quiet — except for an emergency.

``action_handoff`` sets the ``handed_off`` slot. From then on this policy, ranked
above the rules, sends every message to ``action_handed_off``, which stays silent
while the hand-off alert is open in care/ and gives the conversation back once
staff resolve it. Emergency and crisis messages are let through to their rules:
safety never waits for a person to pick up.
"""

from __future__ import annotations

from typing import Any, Optional

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

ACTION = "action_handed_off"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=True
)
class HandoffPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Above RulePolicy (6): a tie at confidence 1.0 goes to the higher priority.
        return {"priority": 7, "let_through": ["emergency", "crisis"]}

    @staticmethod
    def supported_data() -> SupportedData:
        return SupportedData.ML_AND_RULE_DATA

    def train(self, training_trackers: list[Any], domain: Domain, **kwargs: Any) -> Resource:
        return self._resource  # nothing to learn

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[dict[str, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        scores = self._default_predictions(domain)
        last = tracker.latest_action_name
        if last == ACTION:
            # Quiet, or just handed back (the slot is now false): either way, listen.
            # Anything else here would be a core fallback that rewinds the release.
            scores[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            return self._prediction(scores)
        if tracker.get_slot("handed_off") is not True:
            return self._prediction(scores)
        if last == ACTION_LISTEN_NAME:
            intent = (tracker.latest_message.intent or {}).get("name")
            if intent not in self.config["let_through"]:
                scores[domain.index_for_action(ACTION)] = 1.0
        return self._prediction(scores)
