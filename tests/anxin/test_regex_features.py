"""Our RegexFeaturizer marking gives Rasa's features and token marks, in linear time.

Rasa's own ``_features_for_patterns`` is the reference: for made-up texts, tokens
(overlapping or not, empty or not) and patterns (matching often, never, or empty),
both must produce the same sequence and sentence features and the same ``pattern``
marks on every token.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from anxin.regex_features import features_for_patterns

PATTERNS = ["a", "ab+", "b|ba", r"\d+", "x*", "(?<=a)b", "明天|后天", "[a明]"]


def featurizer(tmp_path_factory, patterns: list[str], case_sensitive: bool) -> RegexFeaturizer:
    config = {**RegexFeaturizer.get_default_config(), "case_sensitive": case_sensitive}
    return RegexFeaturizer(
        config,
        LocalModelStorage(tmp_path_factory.mktemp("regex")),
        Resource("regex"),
        ExecutionContext(GraphSchema({}), "test"),
        known_patterns=[{"name": f"p{i}", "pattern": p} for i, p in enumerate(patterns)],
    )


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    text = draw(st.text(alphabet="abAB1x 明天后", min_size=1, max_size=40))
    spans = []
    for _ in range(draw(st.integers(0, 15))):
        start = draw(st.integers(0, len(text)))
        spans.append((start, draw(st.integers(start, len(text)))))
    return text, sorted(spans)


def message(text: str, spans: list[tuple[int, int]]) -> Message:
    tokens = [Token(text[s:e], s, e) for s, e in spans]
    return Message(data={TEXT: text, TOKENS_NAMES[TEXT]: tokens})


@settings(max_examples=300, deadline=None)
@given(messages(), st.lists(st.sampled_from(PATTERNS), max_size=5), st.booleans())
def test_same_features_and_marks_as_rasas(tmp_path_factory, drawn, patterns, case_sensitive):
    text, spans = drawn
    regex = featurizer(tmp_path_factory, patterns, case_sensitive)
    ours, theirs = message(text, spans), message(text, spans)
    found = features_for_patterns(regex, ours, TEXT)
    expected = regex._features_for_patterns(theirs, TEXT)  # Rasa's, not installed here
    for mine, rasas in zip(found, expected, strict=True):
        if rasas is None:
            assert mine is None
        else:
            assert np.array_equal(mine.toarray(), rasas.toarray())
    for a, b in zip(ours.get(TOKENS_NAMES[TEXT]), theirs.get(TOKENS_NAMES[TEXT]), strict=True):
        assert a.get("pattern") == b.get("pattern")
