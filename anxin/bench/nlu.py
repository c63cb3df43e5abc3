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
:func:`anxin.bench.folds.merge_lookup_tables`; every fold file here is checked
to round-trip).

Reported per language:

- intents, as ``rasa test nlu`` counts them (the classifier's intent, the
  FallbackClassifier undone): accuracy, macro and weighted F1, F1 per intent,
  the most common confusions;
- how many messages the assistant would ask again (the NLU's intent is
  ``nlu_fallback``);
- recall of ``emergency`` and ``crisis`` *as served*: a message counts only
  when the NLU's intent is the matching one, so that the assistant runs the
  matching safety action; a message below the fallback threshold is re-asked
  ("please rephrase") and is a miss. The classifier's own recall is shown
  beside it, and every miss is listed;
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
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence

from anxin.bench.folds import LANGUAGES, Corpus, load_corpus, merge_lookup_tables, stratified_folds
from anxin.bench.metrics import (
    ENTITY_TYPES,
    FALLBACK_INTENT,
    EntityKey,
    Prediction,
    language_report,
    normalize_value,
)
from anxin.bench.nlu_report import format_markdown, format_table, prediction_dict, summary_dict


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

    served = (result.get("intent") or {}).get("name") or ""
    fell_back = served == FALLBACK_INTENT
    classified = undo_fallback_prediction(dict(result)) if fell_back else result
    intent = classified.get("intent") or {}
    return Prediction(
        fold=fold,
        text=message.get("text"),
        languages=languages,
        intent=message.get("intent"),
        predicted=intent.get("name") or "",
        confidence=round(float(intent.get("confidence") or 0.0), 4),
        served=served,
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
                json.dumps([prediction_dict(p) for p in fold], ensure_ascii=False, indent=1),
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
