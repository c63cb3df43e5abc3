"""The last word on safety in the NLU: danger words read in their sentence, and the
classifier's own safety guesses graded.

Pipeline entry, after the classifier and before the FallbackClassifier::

    - name: anxin.nlu_safety.SafetyFloor

care/safety_reading.py reads every danger word in its sentence (who, what, when, idioms,
questions about safety). What it finds decides:

- ``emergency`` or ``crisis``: that intent, with confidence 1.0, whatever the classifier
  guessed ("my wife won't wake up" is an emergency even when it guessed crisis);
- ``possible`` (a fall with nothing said about injury, "胸口有点闷"): the ``emergency``
  intent, marked ``safety.level = possible``: action_emergency asks one question instead
  of raising the alarm, and escalates if help is needed or nobody answers;
- nothing: the classifier's emergency or crisis guess stands only when it is sure
  (``SURE``); half sure, an emergency guess becomes a question (``possible``); less sure,
  or when the danger words were explained away (a broken bowl, "笑死我了"), the guess gives
  way to the classifier's next intent — an unsure guess never raises an alarm.

What was read goes into the parse data (``safety``) for the actions and the staff
console, with the classifier's guess.
"""

from __future__ import annotations

import re
from typing import Any, List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY
from rasa.shared.nlu.training_data.message import Message

from anxin.nlu_base import StatelessExtractor, natural_text
from care.safety_reading import CRISIS, EMERGENCY, POSSIBLE, Reading, read

RANKING = "intent_ranking"
SAFETY_INTENTS = (EMERGENCY, CRISIS)
# How sure the classifier must be, with no danger words to back it, for its guess to stand.
# Since it learns everyday words that sound like danger as an intent of their own
# (not_safety), its safety guesses are worth believing lower down: on two development sets
# (anxin/bench/cases/safety_dev*.yml) 0.5 caught 13 more of 252 emergencies and 16 more of
# 113 crises than 0.8 / 0.9, for 6 more false alarms among 325 everyday messages.
SURE = {EMERGENCY: 0.5, CRISIS: 0.5}
HALF_SURE = 0.4  # an emergency guess from here to SURE: one question, not the alarm
# A short message has too few words for counts to be believed that low: "好的，我等着" was a
# crisis at 0.67 (from "他在那边等着我"). Real short cries ("救命", "胸口疼", "help") are
# the reading's, not the classifier's.
SHORT = 8  # Chinese characters plus Latin words
SHORT_SURE = {EMERGENCY: 0.8, CRISIS: 0.9}
SHORT_HALF_SURE = 0.7
BELOW = 0.5  # the most any other guess keeps beside a safety decision (1.0)


def is_short(text: str) -> bool:
    return len(re.findall(r"[\u4e00-\u9fff]|[A-Za-z]+", text)) < SHORT


def decide(
    reading: Reading, guessed: Optional[str], confidence: float, short: bool = False
) -> Optional[str]:
    """The safety level a message gets (None: none): the reading's, else the classifier's
    guess graded by how sure it is (see the module's docstring); ``short``: a message of
    fewer than SHORT words, whose guess must be surer."""
    bar, half = (SHORT_SURE, SHORT_HALF_SURE) if short else (SURE, HALF_SURE)
    sure = guessed in SAFETY_INTENTS and confidence >= bar[guessed]
    if reading.level == POSSIBLE and reading.why == "unwell" and sure and guessed == EMERGENCY:
        # The words alone ("头晕", "vomiting") sound mild; the whole sentence, to a sure
        # classifier, may not ("vomiting blood, lots of it"). A fall with nothing said about
        # injury stays a question, however sure the classifier, which learnt falls as alarms.
        return EMERGENCY
    if reading.level is not None:
        return reading.level
    if guessed not in SAFETY_INTENTS or reading.words:  # words were read and explained away
        return None
    if confidence >= bar[guessed]:
        return guessed
    if guessed == EMERGENCY and confidence >= half:
        return POSSIBLE
    return None


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
        intent = message.get(INTENT) or {}
        guessed = intent.get(INTENT_NAME_KEY)
        confidence = float(intent.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        reading = read(text)
        level = decide(reading, guessed, confidence, short=is_short(text))
        ranking = [r for r in message.get(RANKING) or []]
        others = [r for r in ranking if r.get(INTENT_NAME_KEY) not in SAFETY_INTENTS]
        safety: dict[str, Any] = {"level": level, "why": reading.why, "words": reading.words,
                                  "classifier_said": guessed,
                                  "classifier_confidence": round(confidence, 3)}  # fmt: skip
        message.set("safety", safety, add_to_output=True)
        if level is None:
            if guessed in SAFETY_INTENTS and others:
                # Explained away, or too unsure to alarm anyone: the next guess answers.
                message.set(INTENT, dict(others[0]), add_to_output=True)
                message.set(RANKING, others, add_to_output=True)
            return
        name = CRISIS if level == CRISIS else EMERGENCY
        top: dict[str, Any] = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: 1.0}
        # The classifier's guesses stay below, capped: a guess as sure as the decision
        # would make the FallbackClassifier call the message ambiguous and ask again.
        rest = [
            {**r, PREDICTED_CONFIDENCE_KEY: min(float(r.get(PREDICTED_CONFIDENCE_KEY) or 0.0),
                                                 BELOW)}
            for r in ranking
            if r.get(INTENT_NAME_KEY) != name
        ]  # fmt: skip
        message.set(INTENT, top, add_to_output=True)
        message.set(RANKING, [top, *rest], add_to_output=True)
