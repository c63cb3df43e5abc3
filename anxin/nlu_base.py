"""What our rule-based NLU extractors share: no training, no state, built from config."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

# Intent-trigger messages ("/greet", button payloads) are not natural language.
INTENT_PREFIX = "/"


def natural_text(message: Message) -> Optional[str]:
    """The message's text when a person wrote it: not empty, not a "/intent" payload."""
    text = message.get(TEXT)
    if not isinstance(text, str) or not text.strip() or text.lstrip().startswith(INTENT_PREFIX):
        return None
    return text


class StatelessExtractor(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {}

    @staticmethod
    def supported_languages() -> Optional[List[str]]:
        """Reads Chinese and English whatever the pipeline language."""
        return None

    def __init__(self, config: Dict[str, Any]) -> None:
        self._config = {**self.get_default_config(), **(config or {})}

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> StatelessExtractor:
        """Creates the component (see parent class for full docstring)."""
        return cls(config)

    @property
    def name(self) -> str:
        """The extractor name written into each entity."""
        return type(self).__name__
