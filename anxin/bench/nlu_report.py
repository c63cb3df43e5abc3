"""The reports of ``anxin bench nlu``: the console table, docs' Markdown, summary.json."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from datetime import date
from typing import Any, Iterable, Optional, Sequence

from anxin.bench.metrics import (
    ENTITY_TYPES,
    FALLBACK_INTENT,
    SAFETY_INTENTS,
    LanguageReport,
    Prediction,
    Scores,
)

TARGET_MACRO_F1 = 0.95


def _ratio(caught: int, total: int) -> str:
    return f"{caught}/{total}" if total else "-"


def _prf(s: Scores) -> str:
    return f"{s.precision:.2f}/{s.recall:.2f}/{s.f1:.2f}"


def _how(p: Prediction) -> str:
    if p.served == FALLBACK_INTENT:
        return " (asked again)"
    return ""


def _miss(p: Prediction) -> str:
    return (
        f"[{p.language_tag}] {p.intent}: {p.text!r} → {p.predicted} ({p.confidence:.3f}){_how(p)}"
    )


def _safety_lines(r: LanguageReport) -> list[str]:
    return [
        f"{r.language} {i}: served {_ratio(*r.safety[i])}, "
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
        "assistant acts on: the NLU's intent, so an example below the fallback threshold, "
        "asked again, is a miss; in brackets the classifier's own recall.",
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
                f"{_ratio(*r.safety[i])} (classifier {r.safety_classifier[i]})"
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
                        "classifier": r.safety_classifier[k],
                    }
                    for k, (c, t) in r.safety.items()
                },
                "safety_misses": [prediction_dict(m) for m in r.safety_misses],
                "confusions": [{"gold": g, "predicted": p, "count": n} for g, p, n in r.confusions],
                "entities": {k: asdict(v) for k, v in r.entities.items()},
            }
            for r in reports
        },
    }


def prediction_dict(p: Prediction) -> dict[str, Any]:
    d = asdict(p)
    d["entities"] = [{"entity": e, "value": v} for e, v in p.entities]
    d["correct"] = p.predicted == p.intent
    return d
