"""The scores of ``anxin bench nlu``: intent F1 and confusions, entity P/R/F1, safety.

Pure functions of held-out predictions; nothing here needs Rasa.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

SAFETY_INTENTS = ("emergency", "crisis")
ENTITY_TYPES = ("meal", "dining", "department", "diet", "relation", "invite_code")
FALLBACK_INTENT = "nlu_fallback"
TOP_CONFUSIONS = 8

EntityKey = tuple[str, str]


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    support: int


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1; 0.0 where a denominator is zero (as sklearn's default)."""
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


@dataclass(frozen=True)
class IntentReport:
    n: int
    accuracy: float
    macro_f1: float
    weighted_f1: float
    per_intent: dict[str, Scores]


def intent_report(gold: Sequence[str], predicted: Sequence[str]) -> IntentReport:
    """Accuracy and F1 like sklearn's classification_report: macro over every label seen
    (gold or predicted), weighted by gold support."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    if not gold:
        return IntentReport(0, 0.0, 0.0, 0.0, {})
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for g, p in zip(gold, predicted, strict=True):
        if g == p:
            tp[g] += 1
        else:
            fp[p] += 1
            fn[g] += 1
    support = Counter(gold)
    per_intent = {}
    for label in sorted(set(gold) | set(predicted)):
        precision, recall, f1 = prf(tp[label], fp[label], fn[label])
        per_intent[label] = Scores(precision, recall, f1, support[label])
    macro = sum(s.f1 for s in per_intent.values()) / len(per_intent)
    weighted = sum(s.f1 * s.support for s in per_intent.values()) / len(gold)
    return IntentReport(len(gold), sum(tp.values()) / len(gold), macro, weighted, per_intent)


def confusions(
    gold: Sequence[str], predicted: Sequence[str], top: int = TOP_CONFUSIONS
) -> list[tuple[str, str, int]]:
    """The most frequent (gold, predicted, count) mistakes, most frequent first."""
    counts = Counter((g, p) for g, p in zip(gold, predicted, strict=True) if g != p)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(g, p, n) for (g, p), n in ranked[:top]]


def normalize_value(value: Any, synonyms: Mapping[str, str]) -> str:
    """An entity value as EntitySynonymMapper leaves it (``synonyms`` keyed in lower case)."""
    text = str(value)
    return synonyms.get(text.lower(), text)


def entity_scores(
    gold: Sequence[Iterable[EntityKey]],
    predicted: Sequence[Iterable[EntityKey]],
    types: Sequence[str] = ENTITY_TYPES,
) -> dict[str, Scores]:
    """P/R/F1 per entity type and ``"all"`` (micro), comparing per message the gold
    (entity, value) pairs (a multiset) with the predicted ones (a set: two extractors
    finding the same value count once). Types outside ``types`` are ignored."""
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    wanted = set(types)
    for gold_one, pred_one in zip(gold, predicted, strict=True):
        g = Counter(e for e in gold_one if e[0] in wanted)
        p = Counter(set(e for e in pred_one if e[0] in wanted))
        for (entity, _), n in (g & p).items():
            tp[entity] += n
        for (entity, _), n in (p - g).items():
            fp[entity] += n
        for (entity, _), n in (g - p).items():
            fn[entity] += n
    scores = {}
    for entity in [*types, "all"]:
        if entity == "all":
            counts = (sum(tp.values()), sum(fp.values()), sum(fn.values()))
        else:
            counts = (tp[entity], fp[entity], fn[entity])
        precision, recall, f1 = prf(*counts)
        scores[entity] = Scores(precision, recall, f1, counts[0] + counts[2])
    return scores


@dataclass
class Prediction:
    """One held-out example and what the fold's model made of it."""

    fold: int
    text: str
    languages: tuple[str, ...]
    intent: str
    predicted: str  # the classifier's intent, FallbackClassifier undone
    confidence: float
    served: str  # what the assistant acts on: nlu_fallback when it would ask again
    entities: list[EntityKey]  # gold, synonyms applied
    predicted_entities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def language_tag(self) -> str:
        return "+".join(self.languages)

    @property
    def predicted_keys(self) -> list[EntityKey]:
        return [(e["entity"], str(e["value"])) for e in self.predicted_entities]


@dataclass(frozen=True)
class LanguageReport:
    language: str
    intents: IntentReport
    fallback: int
    served_accuracy: float
    safety: dict[str, tuple[int, int]]  # intent -> (caught as served, total)
    safety_classifier: dict[str, int]  # intent -> classified right, fallback or not
    safety_misses: list[Prediction]
    confusions: list[tuple[str, str, int]]
    entities: dict[str, Scores]


def language_report(language: str, predictions: Sequence[Prediction]) -> LanguageReport:
    mine = [p for p in predictions if language in p.languages]
    gold = [p.intent for p in mine]
    predicted = [p.predicted for p in mine]
    safety, classifier = {}, {}
    for intent in SAFETY_INTENTS:
        wanted = [p for p in mine if p.intent == intent]
        safety[intent] = (sum(p.served == intent for p in wanted), len(wanted))
        classifier[intent] = sum(p.predicted == intent for p in wanted)
    misses = [p for p in mine if p.intent in SAFETY_INTENTS and p.served != p.intent]
    return LanguageReport(
        language=language,
        intents=intent_report(gold, predicted),
        fallback=sum(p.served == FALLBACK_INTENT for p in mine),
        served_accuracy=sum(p.served == p.intent for p in mine) / len(mine) if mine else 0.0,
        safety=safety,
        safety_classifier=classifier,
        safety_misses=misses,
        confusions=confusions(gold, predicted),
        entities=entity_scores([p.entities for p in mine], [p.predicted_keys for p in mine]),
    )
