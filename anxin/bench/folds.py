"""The data of ``anxin bench nlu``: examples tagged by language, stratified folds.

Examples are loaded per language folder with Rasa's own loader and merged; every
fold trains with all synonyms, regexes and (merged) lookup tables.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Hashable, Iterable, Mapping, Sequence

LANGUAGES = ("zh", "en")


def tag_languages(
    sources: Mapping[str, Iterable[Hashable]], items: Sequence[Hashable]
) -> list[tuple[str, ...]]:
    """The languages of each item: those of the sources (language -> items) that contain it.

    Items are matched by equality (Rasa ``Message`` compares by fingerprint), so an
    example written identically in two folders gets both languages, in ``sources``
    order. An item found in no source is an error.
    """
    found: dict[Hashable, list[str]] = defaultdict(list)
    for language, source in sources.items():
        for item in source:
            if language not in found[item]:
                found[item].append(language)
    tags = []
    for item in items:
        if item not in found:
            raise ValueError(f"example {item!r} is in none of {sorted(sources)}")
        tags.append(tuple(found[item]))
    return tags


def stratified_folds(keys: Sequence[Hashable], k: int, seed: int) -> list[list[int]]:
    """Split indices 0..len(keys)-1 into k folds, each key spread as evenly as possible.

    Deterministic for a given seed (independent of hash randomisation): keys are
    visited in sorted ``repr`` order, each key's indices shuffled by one seeded
    ``random.Random`` and dealt round-robin, continuing where the previous key
    stopped so that fold sizes differ by at most one.
    """
    if k < 2:
        raise ValueError(f"need at least 2 folds, not {k}")
    if k > len(keys):
        raise ValueError(f"{k} folds for {len(keys)} examples")
    groups: dict[Hashable, list[int]] = defaultdict(list)
    for index, key in enumerate(keys):
        groups[key].append(index)
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    position = 0
    for key in sorted(groups, key=repr):
        indices = groups[key]
        rng.shuffle(indices)
        for index in indices:
            folds[position % k].append(index)
            position += 1
    return [sorted(fold) for fold in folds]


def merge_lookup_tables(tables: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One table per name, elements in first-seen order without repeats.

    Rasa's YAML reader does this within a file set, but ``TrainingData.merge`` keeps the
    zh and the en ``meal`` table side by side, and ``RasaYAMLWriter`` then writes only
    the last table of each name: without this, a fold would train without the Chinese
    lookup tables that ``rasa train`` on nlu_data/ uses.
    """
    merged: dict[str, list[str]] = {}
    for table in tables:
        elements = table["elements"]
        if not isinstance(elements, list):
            raise ValueError(f"lookup table {table['name']!r} is a file, not a list")
        into = merged.setdefault(table["name"], [])
        into.extend(e for e in elements if e not in into)
    return [{"name": name, "elements": elements} for name, elements in merged.items()]


@dataclass
class Corpus:
    """The examples, their languages, and what every fold trains with besides examples."""

    examples: list[Any]  # rasa Message
    languages: list[tuple[str, ...]]
    data: Any  # the merged rasa TrainingData (synonyms, lookup tables, regexes)
    synonyms: dict[str, str]


def load_corpus(nlu_dir: Path) -> Corpus:
    from rasa.shared.nlu.training_data.loading import load_data

    per_language = {lang: load_data(str(nlu_dir / lang)) for lang in LANGUAGES}
    first, *rest = per_language.values()
    merged = first.merge(*rest)
    examples = list(merged.intent_examples)
    languages = tag_languages(
        {lang: data.intent_examples for lang, data in per_language.items()}, examples
    )
    synonyms = {str(k).lower(): str(v) for k, v in merged.entity_synonyms.items() if k != v}
    return Corpus(examples, languages, merged, synonyms)
