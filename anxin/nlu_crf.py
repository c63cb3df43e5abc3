"""Rasa's CRF entity extractor, stored trained instead of trained again at every start.

Pipeline entry, in place of ``CRFEntityExtractor`` (same options)::

    - name: anxin.nlu_crf.StoredCRFEntityExtractor

Rasa 3.6 persists the CRF's *training set* (31 MB of JSON for our data) and fits the
CRF again each time a model is loaded: about 20 s of CPU before ``rasa run`` answers,
paid by every start of the assistant and by every real-stack test. The fitted
crfsuite model is a few hundred kilobytes, so it is stored instead, and loading is a
read. Training is Rasa's own, so the taggers are the ones Rasa would have fitted
(tests/anxin/test_nlu_crf.py compares both on the same messages).

It tags at most the first ``MAX_TOKENS`` tokens of a message: Rasa builds a few dozen
features for every token in Python, about 60 µs a token on these cores, which made the
CRF most of the NLU's time for a message at the length limit (2,000 emoji are 2,000
tokens: 0.11-0.6 s by the machine's load, docs/benchmarks.md). Every message people
send normally is far shorter and is tagged whole; in a longer one, the words beyond are
still found by the lookup tables (RegexEntityExtractor), which read the whole text.
"""

from __future__ import annotations

import logging
import pickle
from collections import OrderedDict
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor, CRFToken
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.utils.io import dump_obj_as_json_to_file, read_json_file

log = logging.getLogger(__name__)

ORDER_FILE = "crf_order.json"
TAGGERS_FILE = "crf_taggers.pkl"
# Tokens tagged per message; training examples have a few dozen at most.
MAX_TOKENS = 300


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class StoredCRFEntityExtractor(CRFEntityExtractor):
    def extract_entities(self, message: Message) -> List[Dict[str, Any]]:
        """Rasa's extraction, over the message's first ``MAX_TOKENS`` tokens."""
        tokens = message.get(TOKENS_NAMES[TEXT])
        if tokens is not None and len(tokens) > MAX_TOKENS:
            message = Message(
                data={**message.data, TOKENS_NAMES[TEXT]: tokens[:MAX_TOKENS]},
                features=message.features,
            )
        return super().extract_entities(message)

    def persist(self, dataset: List[List[CRFToken]]) -> None:
        with self._model_storage.write_to(self._resource) as model_dir:
            dump_obj_as_json_to_file(model_dir / ORDER_FILE, self.crf_order)
            # sklearn-crfsuite pickles a CRF as the bytes of its crfsuite model file;
            # the pickle is part of our own model archive, as Rasa's other pickles are.
            taggers = [(name, self.entity_taggers[name]) for name in self.crf_order]
            (model_dir / TAGGERS_FILE).write_bytes(pickle.dumps(taggers))

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> CRFEntityExtractor:
        try:
            with model_storage.read_from(resource) as model_dir:
                crf_order = read_json_file(model_dir / ORDER_FILE)
                taggers = pickle.loads((model_dir / TAGGERS_FILE).read_bytes())
        except (ValueError, FileNotFoundError):
            # As Rasa: no entity examples at training time, so nothing was stored.
            log.warning("%s: nothing stored for %s", cls.__name__, resource.name)
            return cls(config, model_storage, resource)
        extractor = cls(config, model_storage, resource, OrderedDict(taggers))
        extractor.crf_order = crf_order
        return extractor
