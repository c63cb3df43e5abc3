"""Rasa's logistic-regression intent classifier, with a cheaper way to build its input.

Pipeline entry, in place of ``LogisticRegressionClassifier`` (same options)::

    - name: anxin.nlu_classifier.SentenceLogisticRegression

Rasa's classifier builds each message's row by combining *all* sparse features
(the per-token sequence matrices too, which it then throws away) and stacking
them with an empty dense matrix: six scipy constructions per message, about a
tenth of the Rasa server's CPU in a booking conversation (py-spy,
docs/benchmarks.md). Here the sentence features are stacked once, in the same
order, so the classifier sees the same matrix (tests/anxin/test_nlu_classifier.py
compares them) and training is Rasa's own.
"""

from __future__ import annotations

from typing import List

import numpy as np
import scipy.sparse
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceLogisticRegression(LogisticRegressionClassifier):
    def _create_X(self, messages: List[Message]) -> scipy.sparse.csr_matrix:
        rows = []
        for message in messages:
            sentence = [
                f
                for f in message.features
                if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE
            ]
            if not sentence or not all(f.is_sparse() for f in sentence):
                return super()._create_X(messages)  # dense features: Rasa's own way
            if len(sentence) == 1:
                row = scipy.sparse.csr_matrix(sentence[0].features)
            else:
                row = scipy.sparse.hstack([f.features for f in sentence], format="csr")
            # Rasa's stacking with an empty float matrix makes counts floats.
            rows.append(row.astype(np.promote_types(row.dtype, np.float64), copy=False))
        return rows[0] if len(rows) == 1 else scipy.sparse.vstack(rows, format="csr")
