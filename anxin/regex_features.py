"""Rasa's RegexFeaturizer, marking tokens in time linear in the message's length.

For each pattern, Rasa 3.6 compares every token with every match of the pattern
(``RegexFeaturizer._features_for_patterns``): a message with a match every few words
costs tokens × matches, the one component whose time grew faster than the text
(8,000 characters of "明天 lunch 3点 120 ..." took 0.67 s in it, docs/benchmarks.md).
Here the matches' starts and ends, both in increasing order as ``re.finditer`` finds
them, are searched for each token instead: a token overlaps some match exactly when
the last match starting before the token ends also ends after the token starts. The
features and the tokens' ``pattern`` marks are Rasa's (a property test compares them).

Installed for prediction by ``anxin.rasa_server`` (as anxin/graph_runner.py is);
training keeps Rasa's own, which computes the same features.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Any, Optional

import numpy as np
import scipy.sparse


def features_for_patterns(
    self: Any, message: Any, attribute: str
) -> tuple[Optional[scipy.sparse.coo_matrix], Optional[scipy.sparse.coo_matrix]]:
    """``RegexFeaturizer._features_for_patterns``, with the same results."""
    from rasa.nlu.constants import TOKENS_NAMES
    from rasa.shared.nlu.constants import ACTION_TEXT, RESPONSE, TEXT

    text = message.get(attribute)
    if not text:
        return None, None
    tokens = message.get(TOKENS_NAMES[attribute], [])
    if not tokens:
        return None, None
    flags = 0 if self.case_sensitive else re.IGNORECASE
    sequence_features = np.zeros([len(tokens), len(self.known_patterns)])
    sentence_features = np.zeros([1, len(self.known_patterns)])
    whole_sentence = attribute in (RESPONSE, TEXT, ACTION_TEXT)

    for pattern_index, pattern in enumerate(self.known_patterns):
        starts: list[int] = []
        ends: list[int] = []  # never decreasing: each match starts where the last ended
        for match in re.finditer(pattern["pattern"], text, flags=flags):
            starts.append(match.start())
            ends.append(match.end())
        for token_index, token in enumerate(tokens):
            patterns = token.get("pattern", default={})
            before = bisect_left(starts, token.end)  # matches starting before it ends
            matched = before > 0 and ends[before - 1] > token.start
            patterns[pattern["name"]] = matched
            if matched:
                sequence_features[token_index][pattern_index] = 1.0
                if whole_sentence:
                    sentence_features[0][pattern_index] = 1.0
            token.set("pattern", patterns)

    return (
        scipy.sparse.coo_matrix(sequence_features),
        scipy.sparse.coo_matrix(sentence_features),
    )


def install() -> None:
    """Rasa's RegexFeaturizer marks tokens with ``features_for_patterns``."""
    from rasa.nlu.featurizers.sparse_featurizer.regex_featurizer import RegexFeaturizer

    RegexFeaturizer._features_for_patterns = features_for_patterns  # type: ignore[method-assign]
