"""The stored CRF loads to the taggers Rasa fits again at load: same entities, no refit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import ENTITIES, FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from anxin.nlu_crf import TAGGERS_FILE, StoredCRFEntityExtractor

MEALS = ["lunch", "dinner", "breakfast", "supper"]
PLACES = ["canteen", "home", "centre"]


def example(meal: str, place: str, k: int) -> Message:
    lead = ["book", "i want", "please order", "get me"][k % 4]
    text = f"{lead} {meal} at the {place}"
    start = text.index(meal)
    where = text.index(place)
    entities = [
        {"start": start, "end": start + len(meal), "value": meal, "entity": "meal"},
        {"start": where, "end": where + len(place), "value": place, "entity": "dining"},
    ]
    return Message(data={TEXT: text, "intent": "book_meal", ENTITIES: entities})


def tokenized(
    messages: list[Message], context: ExecutionContext, storage, training: bool = True
) -> list[Message]:
    tokenizer = WhitespaceTokenizer.create(
        WhitespaceTokenizer.get_default_config(), storage, Resource("tok"), context
    )
    if training:
        tokenizer.process_training_data(TrainingData(messages))
    else:
        tokenizer.process(messages)
    for m in messages:
        # Rasa's CRF trains only on messages that carry some featurizer's features
        # (its own features come from the tokens): a placeholder passes that gate.
        placeholder = scipy.sparse.coo_matrix(np.ones((1, 1)))
        m.add_features(Features(placeholder, FEATURE_TYPE_SENTENCE, TEXT, "placeholder"))
    return messages


def trained(cls, tmp: Path, data: TrainingData, context: ExecutionContext):
    tmp.mkdir()
    storage = LocalModelStorage(tmp)
    resource = Resource(cls.__name__)
    extractor = cls.create(cls.get_default_config(), storage, resource, context)
    extractor.train(data)
    return cls.load(cls.get_default_config(), storage, resource, context)


@pytest.fixture
def context() -> ExecutionContext:
    return ExecutionContext(GraphSchema({}), "test")


def test_stored_crf_finds_the_same_entities_as_rasas_refit(tmp_path, context):
    storage = LocalModelStorage(tmp_path / "tok")
    examples = [example(m, p, k) for k, (m, p) in enumerate((m, p) for m in MEALS for p in PLACES)]
    data = TrainingData(tokenized(examples * 2, context, storage))

    rasa = trained(CRFEntityExtractor, tmp_path / "rasa", data, context)
    ours = trained(StoredCRFEntityExtractor, tmp_path / "ours", data, context)
    assert list(ours.entity_taggers) == list(rasa.entity_taggers) == ["entity"]

    probes = ["book dinner at the canteen", "i want supper at home", "lunch", "the centre"]
    for text in probes:
        mine, theirs = Message(data={TEXT: text}), Message(data={TEXT: text})
        tokenized([mine, theirs], context, storage, training=False)
        ours.process([mine])
        rasa.process([theirs])
        found = [
            (e["entity"], e["value"], round(e["confidence_entity"], 6)) for e in mine.get(ENTITIES)
        ]
        expected = [
            (e["entity"], e["value"], round(e["confidence_entity"], 6))
            for e in theirs.get(ENTITIES)
        ]
        assert found == expected
    found = _entities(ours, "book dinner at the canteen", context, storage)
    assert [(e["entity"], e["value"]) for e in found] == [("meal", "dinner"), ("dining", "canteen")]


def _entities(extractor, text: str, context, storage) -> list[dict]:
    m = Message(data={TEXT: text})
    tokenized([m], context, storage, training=False)
    extractor.process([m])
    return m.get(ENTITIES)


def test_loading_reads_the_stored_taggers_instead_of_training(tmp_path, context):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("crf")
    data = TrainingData(
        tokenized([example("lunch", "canteen", k) for k in range(4)], context, storage)
    )
    extractor = StoredCRFEntityExtractor.create(
        StoredCRFEntityExtractor.get_default_config(), storage, resource, context
    )
    extractor.train(data)
    with storage.read_from(resource) as model_dir:
        stored = sorted(p.name for p in model_dir.iterdir())
    # Rasa's 31 MB training set is not kept: the fitted model is.
    assert stored == ["crf_order.json", TAGGERS_FILE]
    loaded = StoredCRFEntityExtractor.load(
        StoredCRFEntityExtractor.get_default_config(), storage, resource, context
    )
    assert [
        e["value"] for e in _entities(loaded, "book lunch at the canteen", context, storage)
    ] == [
        "lunch",
        "canteen",
    ]


def test_nothing_stored_loads_an_extractor_that_finds_nothing(tmp_path, context):
    storage = LocalModelStorage(tmp_path)
    extractor = StoredCRFEntityExtractor.load(
        StoredCRFEntityExtractor.get_default_config(), storage, Resource("never"), context
    )
    assert _entities(extractor, "book lunch", context, storage) == []


def test_a_message_is_tagged_over_its_first_max_tokens_only(tmp_path, context):
    from anxin.nlu_crf import MAX_TOKENS

    storage = LocalModelStorage(tmp_path / "tok")
    examples = [example(m, p, k) for k, (m, p) in enumerate((m, p) for m in MEALS for p in PLACES)]
    data = TrainingData(tokenized(examples * 2, context, storage))
    rasa = trained(CRFEntityExtractor, tmp_path / "rasa", data, context)
    ours = trained(StoredCRFEntityExtractor, tmp_path / "ours", data, context)

    def both(text: str) -> tuple[list, list]:
        found = [
            [(e["entity"], e["value"], e["start"]) for e in _entities(x, text, context, storage)]
            for x in (ours, rasa)
        ]
        return found[0], found[1]

    five = "book dinner at the canteen"  # five tokens
    exactly = " ".join([five] * (MAX_TOKENS // 5))
    mine, theirs = both(exactly)
    assert mine == theirs and len(mine) == 2 * MAX_TOKENS // 5  # up to the bound: Rasa's own
    longer = " ".join([five] * (MAX_TOKENS // 5 * 3))
    mine, theirs = both(longer)
    assert len(theirs) == 3 * len(mine)
    assert mine == theirs[: len(mine)]  # the beginning, as Rasa tags it
    assert max(start for _, _, start in mine) < len(exactly)  # nothing beyond the bound
