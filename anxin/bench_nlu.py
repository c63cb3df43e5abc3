"""``anxin bench nlu``: k-fold cross-validation of our NLU pipeline, per language.

Every NLU training example (``nlu_data/nlu/zh`` and ``nlu_data/nlu/en``, loaded
with Rasa's own loader so synonyms, lookup tables and regexes come along) is
tagged with the language of the folder it came from. The examples are split
into k folds stratified by (language, intent) with a seeded shuffle; for each
fold the NLU part of ``bot/config.yml`` is trained on the other folds
(``rasa.model_training.train_nlu``) and the held-out fold is parsed by the
trained model (``Agent.parse_message``), i.e. through the whole pipeline.

``rasa test nlu --cross-validation`` is not used: its folds are not seeded, it
knows nothing of languages, it also parses every training fold, and it writes
each fold through ``RasaYAMLWriter``, which keeps only the last lookup table of
a name, so its folds train without the Chinese lookup tables (see
:func:`merge_lookup_tables`; every fold file here is checked to round-trip).

Reported per language:

- intents, as ``rasa test nlu`` counts them (the classifier's intent, the
  FallbackClassifier undone): accuracy, macro and weighted F1, F1 per intent,
  the most common confusions;
- how many messages the assistant would ask again (``nlu_fallback`` and not
  caught by the safety net below);
- recall of ``emergency`` and ``crisis`` *as served*: a message counts only
  when the assistant would run the matching safety action. Below the fallback
  threshold that is the safety net of ``action_safe_fallback``
  (``actions.safety.SAFETY_NET``: an unsure emergency or crisis is still treated
  as one); a message that ends up re-asked ("please rephrase") is a miss. The
  classifier's own recall is shown beside it, and every miss is listed;
- entities meal, dining, department, diet, relation and invite_code: per
  message, the set of (entity, value) the pipeline outputs (all extractors,
  after EntitySynonymMapper, de-duplicated as the actions do) against the
  annotations with the same synonyms applied. Precision, recall, F1 per entity.

Under ``--out``: ``fold-N.json`` (every held-out prediction), ``summary.json``,
``report.md`` (the section for docs/benchmarks.md) and ``train.log`` (what Rasa
printed while training). Examples present verbatim in both folders (bare
invitation codes) count in both languages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Mapping, Optional, Sequence

LANGUAGES = ("zh", "en")
SAFETY_INTENTS = ("emergency", "crisis")
ENTITY_TYPES = ("meal", "dining", "department", "diet", "relation", "invite_code")
FALLBACK_INTENT = "nlu_fallback"
TARGET_MACRO_F1 = 0.95
TOP_CONFUSIONS = 8

EntityKey = tuple[str, str]


# --- pure parts: language tags, folds, metrics, formatting -------------------------------------


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


def served_intent(
    result: Mapping[str, Any],
    safety_net: Mapping[str, float],
    only_when: Callable[[Mapping[str, Any]], bool],
) -> tuple[str, bool]:
    """What the assistant acts on, and whether the safety net under the fallback chose it.

    Mirrors ``ActionSafeFallback`` (actions/safety.py, run by the ``nlu_fallback`` rule):
    the best intent other than ``nlu_fallback`` is acted on when it has a threshold in
    ``safety_net``, reaches it, and the message is not just a date or time.
    """
    name = (result.get("intent") or {}).get("name") or ""
    if name != FALLBACK_INTENT:
        return name, False
    ranking = result.get("intent_ranking") or []
    top = next((r for r in ranking if r.get("name") != FALLBACK_INTENT), {})
    threshold = safety_net.get(top.get("name", ""))
    if threshold is not None and float(top.get("confidence") or 0) >= threshold:
        if not only_when(result):
            return top["name"], True
    return FALLBACK_INTENT, False


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
    safety_net: bool = False  # served by action_safe_fallback's net under the fallback

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
    safety_net: dict[str, int]  # intent -> caught only by the net under the fallback
    safety_misses: list[Prediction]
    confusions: list[tuple[str, str, int]]
    entities: dict[str, Scores]


def language_report(language: str, predictions: Sequence[Prediction]) -> LanguageReport:
    mine = [p for p in predictions if language in p.languages]
    gold = [p.intent for p in mine]
    predicted = [p.predicted for p in mine]
    safety, classifier, net = {}, {}, {}
    for intent in SAFETY_INTENTS:
        wanted = [p for p in mine if p.intent == intent]
        safety[intent] = (sum(p.served == intent for p in wanted), len(wanted))
        classifier[intent] = sum(p.predicted == intent for p in wanted)
        net[intent] = sum(p.served == intent and p.safety_net for p in wanted)
    misses = [p for p in mine if p.intent in SAFETY_INTENTS and p.served != p.intent]
    return LanguageReport(
        language=language,
        intents=intent_report(gold, predicted),
        fallback=sum(p.served == FALLBACK_INTENT for p in mine),
        served_accuracy=sum(p.served == p.intent for p in mine) / len(mine) if mine else 0.0,
        safety=safety,
        safety_classifier=classifier,
        safety_net=net,
        safety_misses=misses,
        confusions=confusions(gold, predicted),
        entities=entity_scores([p.entities for p in mine], [p.predicted_keys for p in mine]),
    )


def _ratio(caught: int, total: int) -> str:
    return f"{caught}/{total}" if total else "-"


def _prf(s: Scores) -> str:
    return f"{s.precision:.2f}/{s.recall:.2f}/{s.f1:.2f}"


def _how(p: Prediction) -> str:
    if p.served == FALLBACK_INTENT:
        return " (asked again)"
    if p.safety_net:
        return f" (safety net ran {p.served})"
    return ""


def _miss(p: Prediction) -> str:
    return (
        f"[{p.language_tag}] {p.intent}: {p.text!r} → {p.predicted} ({p.confidence:.3f}){_how(p)}"
    )


def _safety_lines(r: LanguageReport) -> list[str]:
    return [
        f"{r.language} {i}: served {_ratio(*r.safety[i])} ({r.safety_net[i]} by the safety net), "
        f"classifier alone {_ratio(r.safety_classifier[i], r.safety[i][1])}"
        for i in SAFETY_INTENTS
    ]


def format_table(reports: Sequence[LanguageReport], seconds: float, folds: int, seed: int) -> str:
    """The compact console report."""
    lines = [
        f"NLU {folds}-fold cross-validation, seed {seed}, {seconds:.0f} s",
        f"{'lang':<5}{'n':>5}{'acc':>7}{'macroF1':>9}{'wF1':>7}{'→fallb.':>9}"
        + "".join(f"{i:>11}" for i in SAFETY_INTENTS),
    ]
    for r in reports:
        lines.append(
            f"{r.language:<5}{r.intents.n:>5}{r.intents.accuracy:>7.3f}{r.intents.macro_f1:>9.3f}"
            f"{r.intents.weighted_f1:>7.3f}{r.fallback:>9}"
            + "".join(f"{_ratio(*r.safety[i]):>11}" for i in SAFETY_INTENTS)
        )
    intents = sorted({i for r in reports for i in r.intents.per_intent})
    lines.append("")
    lines.append(f"{'intent F1':<20}" + "".join(f"{r.language:>8}" for r in reports))
    for intent in intents:
        cells = []
        for r in reports:
            s = r.intents.per_intent.get(intent)
            mark = "*" if s is not None and s.f1 < TARGET_MACRO_F1 else " "
            cells.append(f"{s.f1:>7.3f}{mark}" if s is not None else f"{'-':>8}")
        lines.append(f"{intent:<20}" + "".join(cells))
    lines.append("")
    lines.append(f"{'entity P/R/F1 (n)':<20}" + "".join(f"{r.language:>22}" for r in reports))
    for entity in [*ENTITY_TYPES, "all"]:
        lines.append(
            f"{entity:<20}"
            + "".join(
                f"{_prf(r.entities[entity]) + f' ({r.entities[entity].support})':>22}"
                for r in reports
            )
        )
    for r in reports:
        if r.confusions:
            lines.append("")
            lines.append(f"{r.language} confusions (gold → predicted):")
            lines.extend(f"  {n:>3}  {g} → {p}" for g, p, n in r.confusions)
    lines.append("")
    lines.extend(line for r in reports for line in _safety_lines(r))
    misses = _unique(m for r in reports for m in r.safety_misses)
    if misses:
        lines.append(f"SAFETY MISSES ({len(misses)}):")
        lines.extend(f"  {_miss(m)}" for m in misses)
    else:
        lines.append("safety: every emergency and crisis example was caught")
    return "\n".join(lines)


def _unique(predictions: Iterable[Prediction]) -> list[Prediction]:
    seen: set[tuple[int, str]] = set()
    out = []
    for p in predictions:
        if (p.fold, p.text) not in seen:
            seen.add((p.fold, p.text))
            out.append(p)
    return out


def format_markdown(
    reports: Sequence[LanguageReport],
    *,
    seconds: float,
    folds: int,
    seed: int,
    fold_seconds: Sequence[tuple[float, float]],
    today: Optional[date] = None,
) -> str:
    """The section for docs/benchmarks.md."""
    day = (today or date.today()).isoformat()
    n = ", ".join(f"{r.intents.n} {r.language}" for r in reports)
    train = [t for t, _ in fold_seconds]
    out = [
        f"## NLU {folds}-fold cross-validation ({day})",
        "",
        f"`anxin bench nlu --folds {folds} --seed {seed}`: {n} examples, folds stratified by "
        "language and intent; each fold trains the NLU part of `bot/config.yml` on the others "
        "and parses the held-out fold through the whole pipeline. "
        f"Wall time {seconds:.0f} s (training {min(train):.0f}–{max(train):.0f} s per fold). "
        "Intents are counted as `rasa test nlu` counts them (FallbackClassifier undone); "
        "→ fallback is how many the assistant would ask again. Safety recall counts what the "
        "assistant acts on: the intent itself, or below the fallback threshold the safety net "
        "of `action_safe_fallback` (emergency/crisis ≥ 0.25); in brackets how many only the "
        "net caught, and the classifier's own recall.",
        "",
        "| language | examples | accuracy | macro F1 | weighted F1 | → fallback | "
        + " | ".join(f"{i} recall" for i in SAFETY_INTENTS)
        + " |",
        "|---|---|---|---|---|---|" + "---|" * len(SAFETY_INTENTS),
    ]
    for r in reports:
        out.append(
            f"| {r.language} | {r.intents.n} | {r.intents.accuracy:.3f} | "
            f"{r.intents.macro_f1:.3f} | {r.intents.weighted_f1:.3f} | {r.fallback} | "
            + " | ".join(
                f"{_ratio(*r.safety[i])} (net {r.safety_net[i]}; classifier "
                f"{r.safety_classifier[i]})"
                for i in SAFETY_INTENTS
            )
            + " |"
        )
    out += ["", "F1 per intent (below 0.95 in bold):", ""]
    out.append("| intent | " + " | ".join(r.language for r in reports) + " |")
    out.append("|---|" + "---|" * len(reports))
    for intent in sorted({i for r in reports for i in r.intents.per_intent}):
        cells = []
        for r in reports:
            s = r.intents.per_intent.get(intent)
            if s is None:
                cells.append("-")
            else:
                cells.append(f"**{s.f1:.2f}**" if s.f1 < TARGET_MACRO_F1 else f"{s.f1:.2f}")
        out.append(f"| {intent} | " + " | ".join(cells) + " |")
    out += ["", "Most common confusions (gold → predicted, count):", ""]
    for r in reports:
        items = ", ".join(f"{g} → {p} {n}" for g, p, n in r.confusions[:5]) or "none"
        out.append(f"- {r.language}: {items}")
    misses = _unique(m for r in reports for m in r.safety_misses)
    out += ["", "Emergency and crisis examples not caught (→ classifier's guess, confidence):", ""]
    groups: dict[tuple[str, str], list[Prediction]] = defaultdict(list)
    for m in misses:
        groups[(m.language_tag, m.intent)].append(m)
    for (lang, intent), group in groups.items():
        items = "; ".join(f"{m.text} → {m.predicted} {m.confidence:.3f}" + _how(m) for m in group)
        out.append(f"- {lang} {intent} ({len(group)}): {items}")
    if not misses:
        out.append("- none")
    out += [
        "",
        "Entities (all extractors after EntitySynonymMapper; a message's (entity, value) pairs "
        "against its annotations), precision / recall / F1 (annotated):",
        "",
        "| entity | " + " | ".join(r.language for r in reports) + " |",
        "|---|" + "---|" * len(reports),
    ]
    for entity in [*ENTITY_TYPES, "all"]:
        out.append(
            f"| {entity} | "
            + " | ".join(
                f"{_prf(r.entities[entity])} ({r.entities[entity].support})" for r in reports
            )
            + " |"
        )
    return "\n".join(out) + "\n"


def summary_dict(
    reports: Sequence[LanguageReport], *, seconds: float, folds: int, seed: int, fold_seconds: Any
) -> dict[str, Any]:
    return {
        "folds": folds,
        "seed": seed,
        "seconds": round(seconds, 1),
        "fold_seconds": [{"train": round(t, 1), "predict": round(p, 1)} for t, p in fold_seconds],
        "languages": {
            r.language: {
                "n": r.intents.n,
                "accuracy": r.intents.accuracy,
                "macro_f1": r.intents.macro_f1,
                "weighted_f1": r.intents.weighted_f1,
                "served_accuracy": r.served_accuracy,
                "fallback": r.fallback,
                "per_intent": {k: asdict(v) for k, v in r.intents.per_intent.items()},
                "safety": {
                    k: {
                        "caught": c,
                        "total": t,
                        "by_safety_net": r.safety_net[k],
                        "classifier": r.safety_classifier[k],
                    }
                    for k, (c, t) in r.safety.items()
                },
                "safety_misses": [_prediction_dict(m) for m in r.safety_misses],
                "confusions": [{"gold": g, "predicted": p, "count": n} for g, p, n in r.confusions],
                "entities": {k: asdict(v) for k, v in r.entities.items()},
            }
            for r in reports
        },
    }


def _prediction_dict(p: Prediction) -> dict[str, Any]:
    d = asdict(p)
    d["entities"] = [{"entity": e, "value": v} for e, v in p.entities]
    d["correct"] = p.predicted == p.intent
    return d


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


# --- the run: Rasa loading, training and parsing -----------------------------------------------


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


def _gold_entities(message: Any, synonyms: Mapping[str, str]) -> list[EntityKey]:
    return [
        (e["entity"], normalize_value(e["value"], synonyms))
        for e in message.get("entities") or []
        if e["entity"] in ENTITY_TYPES
    ]


def _train(corpus: Corpus, train_idx: Sequence[int], config: Path, workdir: Path, name: str) -> str:
    from rasa.model_training import train_nlu
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLWriter
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData(
        training_examples=[corpus.examples[i] for i in train_idx],
        entity_synonyms=corpus.data.entity_synonyms,
        regex_features=corpus.data.regex_features,
        lookup_tables=merge_lookup_tables(corpus.data.lookup_tables),
    )
    nlu_file = workdir / f"{name}.yml"
    RasaYAMLWriter().dump(nlu_file, data)
    _check_round_trip(data, nlu_file)
    model = train_nlu(str(config), str(nlu_file), str(workdir), fixed_model_name=name)
    if not model:
        raise RuntimeError(f"rasa could not train {name} (see train.log)")
    return str(model)


def _check_round_trip(data: Any, nlu_file: Path) -> None:
    """The file a fold trains on holds every example, synonym, regex and lookup entry."""
    from rasa.shared.nlu.training_data.loading import load_data

    back = load_data(str(nlu_file))

    def lookups(d: Any) -> set[tuple[str, str]]:
        return {(t["name"], e) for t in d.lookup_tables for e in t["elements"]}

    def regexes(d: Any) -> set[tuple[str, str]]:
        return {(r["name"], r["pattern"]) for r in d.regex_features}

    lost = [
        what
        for what, same in [
            ("examples", len(back.intent_examples) == len(data.intent_examples)),
            ("synonyms", back.entity_synonyms == data.entity_synonyms),
            ("regexes", regexes(back) == regexes(data)),
            ("lookup tables", lookups(back) == lookups(data)),
        ]
        if not same
    ]
    if lost:
        raise RuntimeError(f"{nlu_file.name} lost {', '.join(lost)} on the way through YAML")


async def _parse(model: str, texts: Sequence[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    return [await agent.parse_message(text) for text in texts]


def _prediction(
    fold: int,
    message: Any,
    languages: tuple[str, ...],
    result: Mapping[str, Any],
    synonyms: Mapping[str, str],
) -> Prediction:
    from rasa.nlu.classifiers.fallback_classifier import undo_fallback_prediction

    from actions.safety import SAFETY_NET, only_when

    fell_back = (result.get("intent") or {}).get("name") == FALLBACK_INTENT
    classified = undo_fallback_prediction(dict(result)) if fell_back else result
    intent = classified.get("intent") or {}
    served, by_net = served_intent(result, SAFETY_NET, only_when)
    return Prediction(
        fold=fold,
        text=message.get("text"),
        languages=languages,
        intent=message.get("intent"),
        predicted=intent.get("name") or "",
        confidence=round(float(intent.get("confidence") or 0.0), 4),
        served=served,
        safety_net=by_net,
        entities=_gold_entities(message, synonyms),
        predicted_entities=[
            {k: e.get(k) for k in ("entity", "value", "start", "end", "extractor")}
            for e in result.get("entities") or []
            if e.get("entity") in ENTITY_TYPES
        ],
    )


@contextlib.contextmanager
def _quiet(log_file: Path):
    """Rasa's training chatter goes to train.log; no training cache is written or read."""
    saved = {k: os.environ.get(k) for k in ("RASA_MAX_CACHE_SIZE", "RASA_TELEMETRY_ENABLED")}
    os.environ["RASA_MAX_CACHE_SIZE"] = "0"
    os.environ["RASA_TELEMETRY_ENABLED"] = "false"
    try:
        with log_file.open("a", encoding="utf-8") as log:
            with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
                yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _calm_loggers() -> None:
    """Rasa's structlog prints every parse at debug level, jieba its dictionary loading."""
    import jieba
    from rasa.utils.log_utils import configure_structlog

    level = logging.getLogger().getEffectiveLevel()
    configure_structlog(level)
    jieba.setLogLevel(max(level, logging.INFO))


def nlu_bench(root: Path, folds: int = 5, seed: int = 0, out: Optional[Path] = None) -> int:
    """Cross-validate, write the files under ``out``, print the table.

    0 when it ran, whatever the scores (they are reported, not judged); 1 when a fold
    could not be trained or its data did not survive the round trip; 2 for a bad
    number of folds.
    """
    try:
        return _run(root, folds, seed, out or root / "var/bench/nlu")
    except ValueError as exc:
        print(f"anxin: bench nlu: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"anxin: bench nlu failed: {exc}", file=sys.stderr)
        return 1


def _run(root: Path, folds: int, seed: int, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    log_file = out / "train.log"
    log_file.write_text("", encoding="utf-8")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _calm_loggers()
    started = time.perf_counter()
    with _quiet(log_file):
        corpus = load_corpus(root / "nlu_data/nlu")
    keys = [
        ("+".join(lang), m.get("intent"))
        for m, lang in zip(corpus.examples, corpus.languages, strict=True)
    ]
    split = stratified_folds(keys, folds, seed)
    counts = Counter(lang for tags in corpus.languages for lang in tags)
    per_language = ", ".join(f"{n} {lang}" for lang, n in counts.items())
    print(
        f"anxin: {len(corpus.examples)} examples ({per_language}), "
        f"{len({k[1] for k in keys})} intents, {folds} folds, seed {seed}",
        flush=True,
    )
    predictions: list[Prediction] = []
    fold_seconds = []
    with tempfile.TemporaryDirectory(prefix="anxin-bench-nlu-") as tmp:
        for number, test_idx in enumerate(split, start=1):
            held_out = set(test_idx)
            train_idx = [i for i in range(len(corpus.examples)) if i not in held_out]
            t0 = time.perf_counter()
            with _quiet(log_file):
                model = _train(
                    corpus, train_idx, root / "bot/config.yml", Path(tmp), f"fold{number}"
                )
            t1 = time.perf_counter()
            with _quiet(log_file):
                results = asyncio.run(
                    _parse(model, [corpus.examples[i].get("text") for i in test_idx])
                )
            t2 = time.perf_counter()
            Path(model).unlink(missing_ok=True)
            fold = [
                _prediction(number, corpus.examples[i], corpus.languages[i], r, corpus.synonyms)
                for i, r in zip(test_idx, results, strict=True)
            ]
            predictions += fold
            (out / f"fold-{number}.json").write_text(
                json.dumps([_prediction_dict(p) for p in fold], ensure_ascii=False, indent=1),
                encoding="utf-8",
            )
            fold_seconds.append((t1 - t0, t2 - t1))
            right = sum(p.predicted == p.intent for p in fold)
            print(
                f"anxin: fold {number}/{folds}: trained in {t1 - t0:.1f} s, "
                f"{right}/{len(fold)} intents right ({t2 - t1:.1f} s to parse)",
                flush=True,
            )
    seconds = time.perf_counter() - started
    reports = [language_report(lang, predictions) for lang in LANGUAGES]
    summary = summary_dict(
        reports, seconds=seconds, folds=folds, seed=seed, fold_seconds=fold_seconds
    )
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    markdown = format_markdown(
        reports, seconds=seconds, folds=folds, seed=seed, fold_seconds=fold_seconds
    )
    (out / "report.md").write_text(markdown, encoding="utf-8")
    print(format_table(reports, seconds, folds, seed))
    print(f"anxin: predictions, summary and report.md in {out}", file=sys.stderr)
    return 0
