"""Rasa NLU component that tags each message with the language it is written in.

Pipeline entry (``bot/config.yml``, repo root on ``PYTHONPATH``)::

    - name: anxin.nlu_language.LanguageDetector

For every message it calls :func:`care.language.detect_language` and, when the
answer is ``"zh"`` or ``"en"``, adds the entity::

    {"entity": "language", "value": "zh", "start": 0, "end": 0,
     "extractor": "LanguageDetector"}

The ``language`` slot is mapped ``from_entity`` on it, and responses carry
conditional variations on that slot. An ambiguous message ("ok", "👍", "11/28")
adds nothing, so the slot keeps the language the conversation already has.
When an earlier extractor already produced a ``language`` entity (an explicit
"请说英语" / "speak Chinese" request) that one wins and nothing is added.

The component is not trainable and keeps no state: Rasa builds it with
``create`` for the prediction graph only.
"""

from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES
from rasa.shared.nlu.training_data.message import Message

from anxin.nlu_base import StatelessExtractor, natural_text
from care.language import detect_language

LANGUAGE_ENTITY = "language"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageDetector(StatelessExtractor):
    """Adds a ``language`` entity ("zh" / "en") to each message when it is clear."""

    def process(self, messages: List[Message]) -> List[Message]:
        """Adds the language entity to each message that has a clear language."""
        for message in messages:
            self._process_one(message)
        return messages

    def _process_one(self, message: Message) -> None:
        text = natural_text(message)
        if text is None:
            return
        entities = list(message.get(ENTITIES) or [])
        if any(e.get("entity") == LANGUAGE_ENTITY for e in entities):
            return
        language = detect_language(text)
        if language is None:
            return
        entities.append(
            {
                "entity": LANGUAGE_ENTITY,
                "value": language,
                "start": 0,
                "end": 0,
                "extractor": self.name,
            }
        )
        message.set(ENTITIES, entities, add_to_output=True)
