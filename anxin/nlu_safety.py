"""A floor under the intent classifier for safety: danger words make it emergency or crisis.

Pipeline entry, after the classifier and before the FallbackClassifier::

    - name: anxin.nlu_safety.SafetyFloor

When care.safety_words finds danger in a message, its intent becomes
``emergency`` or ``crisis`` with confidence 1.0 — also when the classifier
guessed the same but too unsure to pass the fallback threshold, or guessed the
other one ("my wife won't wake up" is an emergency, not a crisis). The
classifier's ranking is kept below, and its guess recorded in ``safety_floor``
for the staff console. Never the other way round: the floor only adds danger.
"""

from __future__ import annotations

from typing import Any, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

from anxin.nlu_base import StatelessExtractor, natural_text
from care.safety_words import danger_in

RANKING = "intent_ranking"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyFloor(StatelessExtractor):
    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            self._process_one(message)
        return messages

    def _process_one(self, message: Message) -> None:
        text = natural_text(message)
        if text is None:
            return
        danger = danger_in(text)
        guessed = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if danger is None:
            return  # the floor only adds danger, it never takes it away
        top: dict[str, Any] = {INTENT_NAME_KEY: danger, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [r for r in message.get(RANKING) or [] if r.get(INTENT_NAME_KEY) != danger]
        message.set(INTENT, top, add_to_output=True)
        message.set(RANKING, [top, *ranking], add_to_output=True)
        message.set("safety_floor", {"classifier_said": guessed}, add_to_output=True)
