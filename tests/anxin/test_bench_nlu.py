"""The parts of ``anxin bench nlu`` that train nothing: folds, metrics, language tags, reports.

The measured numbers belong in docs/benchmarks.md; nothing here trains Rasa.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from anxin.bench.folds import load_corpus, merge_lookup_tables, stratified_folds, tag_languages
from anxin.bench.metrics import (
    FALLBACK_INTENT,
    Prediction,
    confusions,
    entity_scores,
    intent_report,
    language_report,
    normalize_value,
    prf,
)
from anxin.bench.nlu_report import format_markdown, format_table

ROOT = Path(__file__).resolve().parents[2]


# --- folds ---------------------------------------------------------------------------------------


def _keys() -> list[tuple[str, str]]:
    keys = []
    for lang, intent, n in [
        ("zh", "greet", 13),
        ("zh", "emergency", 7),
        ("en", "greet", 11),
        ("en", "emergency", 5),
        ("zh+en", "inform", 2),
    ]:
        keys += [(lang, intent)] * n
    return keys


def test_folds_partition_the_examples():
    keys = _keys()
    folds = stratified_folds(keys, 5, seed=0)
    assert len(folds) == 5
    everything = sorted(i for fold in folds for i in fold)
    assert everything == list(range(len(keys)))
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1


def test_folds_are_stratified_by_key():
    keys = _keys()
    folds = stratified_folds(keys, 5, seed=3)
    for key, total in Counter(keys).items():
        per_fold = [sum(keys[i] == key for i in fold) for fold in folds]
        assert sum(per_fold) == total
        assert max(per_fold) - min(per_fold) <= 1, (key, per_fold)


def test_folds_are_deterministic_and_follow_the_seed():
    keys = _keys()
    assert stratified_folds(keys, 5, seed=7) == stratified_folds(keys, 5, seed=7)
    assert stratified_folds(keys, 5, seed=7) != stratified_folds(keys, 5, seed=8)


def test_folds_do_not_depend_on_hash_randomisation():
    code = (
        "import json\n"
        "from anxin.bench.folds import stratified_folds\n"
        "keys = [('zh', 'a')] * 6 + [('en', 'b')] * 7 + [('zh', 'c')] * 5\n"
        "print(json.dumps(stratified_folds(keys, 3, seed=1)))\n"
    )
    outputs = set()
    for hash_seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1
    assert len(json.loads(outputs.pop())) == 3


@pytest.mark.parametrize("k", [0, 1, 100])
def test_impossible_fold_counts_are_refused(k):
    with pytest.raises(ValueError):
        stratified_folds(["a"] * 10, k, seed=0)


# --- metric maths --------------------------------------------------------------------------------


def test_prf_by_hand_and_zero_divisions():
    assert prf(3, 1, 2) == pytest.approx((0.75, 0.6, 2 * 0.75 * 0.6 / 1.35))
    assert prf(0, 0, 0) == (0.0, 0.0, 0.0)
    assert prf(0, 2, 0) == (0.0, 0.0, 0.0)


def test_intent_report_by_hand():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "b", "a"]
    r = intent_report(gold, pred)
    assert r.n == 6
    assert r.accuracy == pytest.approx(4 / 6)
    # a: tp 2 fp 1 fn 1 -> 2/3; b: tp 2 fp 1 fn 0 -> 0.8; c: 0.
    assert r.per_intent["a"].f1 == pytest.approx(2 / 3)
    assert r.per_intent["b"].f1 == pytest.approx(0.8)
    assert r.per_intent["c"].f1 == 0.0
    assert r.per_intent["b"].support == 2
    assert r.macro_f1 == pytest.approx((2 / 3 + 0.8 + 0) / 3)
    assert r.weighted_f1 == pytest.approx((3 * 2 / 3 + 2 * 0.8) / 6)


def test_intent_report_agrees_with_sklearn():
    from sklearn.metrics import accuracy_score, f1_score

    gold = ["greet", "emergency", "crisis", "inform", "greet", "crisis", "inform", "inform"]
    pred = ["greet", "inform", "crisis", "inform", "thank", "feeling_sad", "inform", "greet"]
    r = intent_report(gold, pred)
    assert r.accuracy == pytest.approx(accuracy_score(gold, pred))
    assert r.macro_f1 == pytest.approx(f1_score(gold, pred, average="macro", zero_division=0))
    assert r.weighted_f1 == pytest.approx(f1_score(gold, pred, average="weighted", zero_division=0))


def test_empty_and_mismatched_inputs():
    assert intent_report([], []).n == 0
    with pytest.raises(ValueError):
        intent_report(["a"], [])


def test_confusions_most_frequent_first():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["b", "b", "a", "c", "a", "a"]
    assert confusions(gold, pred) == [("a", "b", 2), ("b", "a", 1), ("b", "c", 1), ("c", "a", 1)]
    assert confusions(gold, pred, top=1) == [("a", "b", 2)]


def test_entity_scores_count_values_per_message():
    gold = [
        [("meal", "lunch"), ("dining", "delivery")],
        [("relation", "mother")],
        [],
        [("meal", "lunch"), ("meal", "dinner")],
    ]
    predicted = [
        # CRF and the lookup table both found lunch: one true positive, not two.
        [("meal", "lunch"), ("meal", "lunch"), ("language", "zh")],
        [("relation", "father")],
        [("diet", "low-salt")],
        [("meal", "lunch")],
    ]
    s = entity_scores(gold, predicted)
    assert (s["meal"].precision, s["meal"].recall) == (1.0, pytest.approx(2 / 3))
    assert s["meal"].support == 3
    assert (s["dining"].recall, s["dining"].support) == (0.0, 1)
    assert (s["relation"].precision, s["relation"].recall) == (0.0, 0.0)
    assert (s["diet"].precision, s["diet"].support) == (0.0, 0)
    assert "language" not in s
    # all: tp 2 (lunch, lunch), fp 2 (father, low-salt), fn 3 (delivery, mother, dinner)
    assert (s["all"].precision, s["all"].recall) == (0.5, 0.4)
    assert s["all"].support == 5


def test_normalize_value_like_the_synonym_mapper():
    synonyms = {"午饭": "lunch", "low salt": "low-salt"}
    assert normalize_value("午饭", synonyms) == "lunch"
    assert normalize_value("Low Salt", synonyms) == "low-salt"
    assert normalize_value("lunch", synonyms) == "lunch"
    assert normalize_value(123456, synonyms) == "123456"


def test_lookup_tables_of_one_name_become_one():
    tables = [
        {"name": "meal", "elements": ["午饭", "晚饭"]},
        {"name": "relation", "elements": ["我妈"]},
        {"name": "meal", "elements": ["lunch", "午饭"]},
    ]
    assert merge_lookup_tables(tables) == [
        {"name": "meal", "elements": ["午饭", "晚饭", "lunch"]},
        {"name": "relation", "elements": ["我妈"]},
    ]
    with pytest.raises(ValueError):
        merge_lookup_tables([{"name": "meal", "elements": "data/meals.txt"}])


# --- language tags -------------------------------------------------------------------------------


def test_tag_languages_in_source_order():
    sources = {"zh": ["你好", "123456"], "en": ["hello", "123456"]}
    assert tag_languages(sources, ["hello", "123456", "你好"]) == [("en",), ("zh", "en"), ("zh",)]
    with pytest.raises(ValueError):
        tag_languages(sources, ["bonjour"])


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_load_corpus_tags_each_folder(tmp_path):
    _write(
        tmp_path / "zh/a.yml",
        'version: "3.1"\nnlu:\n- intent: inform\n  examples: |\n'
        "    - 要[午饭](meal)\n    - [834215](invite_code)\n"
        "- intent: greet\n  examples: |\n    - 你好\n"
        "- synonym: lunch\n  examples: |\n    - 午饭\n",
    )
    _write(
        tmp_path / "en/a.yml",
        'version: "3.1"\nnlu:\n- intent: inform\n  examples: |\n'
        "    - [Lunch](meal) please\n    - [834215](invite_code)\n"
        "- intent: greet\n  examples: |\n    - hello\n"
        "- synonym: lunch\n  examples: |\n    - Lunch\n"
        "- lookup: meal\n  examples: |\n    - lunch\n",
    )
    corpus = load_corpus(tmp_path)
    tags = {m.get("text"): lang for m, lang in zip(corpus.examples, corpus.languages, strict=True)}
    assert tags == {
        "要午饭": ("zh",),
        "834215": ("zh", "en"),
        "你好": ("zh",),
        "Lunch please": ("en",),
        "hello": ("en",),
    }
    # Keyed in lower case, as EntitySynonymMapper looks them up.
    assert corpus.synonyms == {"午饭": "lunch", "lunch": "lunch"}
    assert normalize_value("LUNCH", corpus.synonyms) == "lunch"
    assert [t["name"] for t in corpus.data.lookup_tables] == ["meal"]


def test_real_training_data_is_tagged():
    corpus = load_corpus(ROOT / "nlu_data/nlu")
    counts = Counter(lang for tags in corpus.languages for lang in tags)
    assert counts["zh"] > 500 and counts["en"] > 500
    assert all(tags for tags in corpus.languages)
    assert {m.get("intent") for m in corpus.examples} >= {"emergency", "crisis"}


# --- what the assistant acts on ------------------------------------------------------------------


def test_served_is_the_nlu_intent_and_predicted_undoes_the_fallback():
    from anxin.bench.nlu import _prediction

    def result(*ranking):
        names = [{"name": n, "confidence": c} for n, c in ranking]
        return {"text": "x", "intent": names[0], "intent_ranking": names, "entities": []}

    message = {"text": "胸口闷", "intent": "emergency", "entities": []}
    sure = _prediction(1, message, ("zh",), result(("emergency", 0.9), ("inform", 0.1)), {})
    assert (sure.served, sure.predicted, sure.confidence) == ("emergency", "emergency", 0.9)
    unsure = result((FALLBACK_INTENT, 0.7), ("emergency", 0.3), ("inform", 0.2))
    asked = _prediction(1, message, ("zh",), unsure, {})
    assert (asked.served, asked.predicted, asked.confidence) == (FALLBACK_INTENT, "emergency", 0.3)


# --- reports -------------------------------------------------------------------------------------


def _p(text, intent, predicted, served=None, languages=("zh",), conf=0.9):
    return Prediction(
        fold=1,
        text=text,
        languages=languages,
        intent=intent,
        predicted=predicted,
        confidence=conf,
        served=served or predicted,
        entities=[],
    )


def _predictions():
    return [
        _p("救命", "emergency", "emergency"),
        _p("半边身子没劲", "emergency", "emergency", served=FALLBACK_INTENT, conf=0.2),
        _p("胸口闷", "emergency", "emergency"),
        _p("不想活了", "crisis", "crisis"),
        _p("活着没意思", "crisis", "feeling_sad"),
        _p("你好", "greet", "greet"),
        _p("help", "emergency", "emergency", languages=("en",)),
        _p("834215", "inform", "inform", languages=("zh", "en")),
    ]


def test_language_report_counts_fallback_as_a_safety_miss():
    zh = language_report("zh", _predictions())
    assert zh.intents.n == 7
    assert zh.fallback == 1
    # Classifier accuracy undoes the fallback; served accuracy does not.
    assert zh.intents.accuracy == pytest.approx(6 / 7)
    assert zh.served_accuracy == pytest.approx(5 / 7)
    assert zh.safety == {"emergency": (2, 3), "crisis": (1, 2)}
    assert zh.safety_classifier == {"emergency": 3, "crisis": 1}
    assert [m.text for m in zh.safety_misses] == ["半边身子没劲", "活着没意思"]
    en = language_report("en", _predictions())
    assert en.intents.n == 2 and en.safety == {"emergency": (1, 1), "crisis": (0, 0)}


def test_reports_name_the_misses():
    reports = [language_report(lang, _predictions()) for lang in ("zh", "en")]
    table = format_table(reports, 12.0, 5, 0)
    assert "SAFETY MISSES (2)" in table
    assert "半边身子没劲" in table and "(asked again)" in table
    assert "zh emergency: served 2/3, classifier alone 3/3" in table
    md = format_markdown(
        reports, seconds=12.0, folds=5, seed=0, fold_seconds=[(2.0, 1.0)], today=date(2026, 1, 2)
    )
    assert md.startswith("## NLU 5-fold cross-validation (2026-01-02)")
    assert "| zh | 7 | 0.857 |" in md
    assert "2/3 (classifier 3)" in md
    assert "活着没意思" in md
    clean = [language_report("en", _predictions()[6:])]
    assert "every emergency and crisis example was caught" in format_table(clean, 1.0, 5, 0)
