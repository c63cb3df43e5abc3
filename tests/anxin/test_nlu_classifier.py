"""Our classifier input is exactly Rasa's: same matrix, same dtype, same column order."""

from __future__ import annotations

import numpy as np
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message

from anxin.nlu_classifier import SentenceLogisticRegression

ORIGINS = ["RegexFeaturizer", "CountVectorsFeaturizer", "CountVectorsFeaturizer2"]


def sparse(rows: int, cols: int, seed: int, dtype: type) -> scipy.sparse.coo_matrix:
    m = scipy.sparse.random(rows, cols, density=0.3, random_state=seed, format="coo")
    return (m * 5).astype(dtype)


def message(tokens: int, widths: list[int], seed: int, dtype: type) -> Message:
    m = Message(data={TEXT: "x " * tokens})
    for i, width in enumerate(widths):
        seq = sparse(tokens, width, seed + i, dtype)
        m.add_features(Features(seq, FEATURE_TYPE_SEQUENCE, TEXT, ORIGINS[i]))
        sentence = sparse(1, width, seed + 10 + i, dtype)
        m.add_features(Features(sentence, FEATURE_TYPE_SENTENCE, TEXT, ORIGINS[i]))
    other = sparse(1, 4, seed, dtype)  # another attribute's features must not leak in
    m.add_features(Features(other, FEATURE_TYPE_SENTENCE, "intent", ORIGINS[1]))
    return m


def rasas(messages: list[Message]) -> scipy.sparse.spmatrix:
    return LogisticRegressionClassifier._create_X(None, messages)  # type: ignore[arg-type]


def ours(messages: list[Message]) -> scipy.sparse.spmatrix:
    return SentenceLogisticRegression._create_X(
        SentenceLogisticRegression.__new__(SentenceLogisticRegression), messages
    )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.integers(1, 6), min_size=1, max_size=3),
    st.integers(1, 3),
    st.integers(0, 1000),
    st.sampled_from([np.int64, np.float64]),
)
def test_same_matrix_as_rasa(token_counts, featurizers, seed, dtype):
    widths = [7, 30, 55][:featurizers]
    messages = [message(n, widths, seed + k, dtype) for k, n in enumerate(token_counts)]
    theirs, mine = rasas(messages), ours(messages)
    assert mine.shape == theirs.shape == (len(messages), sum(widths))
    assert mine.dtype == theirs.dtype
    assert np.array_equal(mine.toarray(), theirs.toarray())


def test_dense_sentence_features_fall_back_to_rasas_way():
    m = message(3, [5], 1, np.float64)
    m.add_features(Features(np.ones((1, 4)), FEATURE_TYPE_SENTENCE, TEXT, "Dense"))
    assert np.array_equal(ours([m]).toarray(), rasas([m]).toarray())
    assert ours([m]).shape == (1, 9)
