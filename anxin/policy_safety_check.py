"""After a possible danger was asked about, the next message is its answer.

``action_emergency`` asks one question ("您摔伤了吗？需要人来帮您吗？") and sets the
``safety_check`` slot. The answer ("没事", "起不来了", "yes") is read against that question,
not as a new request: this policy, ranked above the rules and the hand-off, sends it to
``action_safety_check_answer`` — an answer that the NLU would call an emergency too ("摔了
一下 不疼 自己起来了" is an answer that all is well, read against the question), for the
action reads it against the question and escalates what is still danger. Only a crisis
goes to its own rule.
"""

from __future__ import annotations

from typing import Any, Optional

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

ACTION = "action_safety_check_answer"


@DefaultV1Recipe.register(
    [DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT], is_trainable=True
)
class SafetyCheckPolicy(Policy):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # Above HandoffPolicy (7) and RulePolicy (6): a tie at 1.0 goes to the higher.
        return {"priority": 8}

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
        if tracker.latest_action_name == ACTION:
            scores[domain.index_for_action(ACTION_LISTEN_NAME)] = 1.0
            return self._prediction(scores)
        if tracker.get_slot("safety_check") is None:
            return self._prediction(scores)
        if tracker.latest_action_name == ACTION_LISTEN_NAME:
            intent = (tracker.latest_message.intent or {}).get("name")
            if intent != "crisis":
                scores[domain.index_for_action(ACTION)] = 1.0
        return self._prediction(scores)
