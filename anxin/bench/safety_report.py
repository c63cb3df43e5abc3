"""The Markdown report of ``anxin bench safety`` (pure): recall by expectation, category and
language, false alarms, follow-ups, the first reply and alert times, the failing ids.

Only ids, labels and counts: a message's text never appears in a report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from anxin.bench.rest import percentile
from anxin.bench.safety_cases import EXPECTS, LANGS
from anxin.bench.safety_score import (
    ALERT_TARGET_S,
    DANGER,
    FALSE_ALARM_TARGET,
    OUTCOMES,
    CaseResult,
    failures,
    targets,
)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def ratio(part: int, whole: int) -> str:
    return f"{part}/{whole} ({percent(part, whole)})" if whole else "–"


@dataclass
class Meta:
    """How the run was made, for the report's head."""

    command: str
    when: str
    commit: str
    cases_path: str
    cases_digest: str
    database: str
    model: str
    concurrency: int
    seconds: float
    conversations: int
    messages: int
    window_s: float
    ambulance: str
    notes: list[str] = field(default_factory=list)


def _outcome_cells(rs: Sequence[CaseResult]) -> str:
    n = Counter(r.outcome for r in rs)
    cells = " | ".join(str(n[o]) for o in OUTCOMES)
    return cells + f" | {n['error']}"


# Failing ids are listed most serious first: dangers missed, then false alarms, then the rest.
FAILURE_ORDER = ("emergency missed", "crisis missed", "false alarm", "follow-up escalate",
                 "possible missed", "follow-up close", "asked needlessly", "not run")  # fmt: skip


def _failure_order(kind: str) -> tuple[int, str]:
    rank = next((i for i, p in enumerate(FAILURE_ORDER) if kind.startswith(p)), len(FAILURE_ORDER))
    return rank, kind


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s" if seconds >= 60 else f"{seconds:.0f} s"


def format_report(results: Sequence[CaseResult], meta: Meta) -> str:
    t = targets(results)
    by_expect = {e: [r for r in results if r.case.expect == e] for e in EXPECTS}
    lines = [
        f"## Safety: {len(results)} labelled messages through the real stack "
        f"({meta.when}, commit {meta.commit})",
        "",
        f"Command: `{meta.command}`. Cases: `{meta.cases_path}` (sha256 {meta.cases_digest}, "
        f"never trained on). REST → Rasa → action server → {meta.database}; model "
        f"{meta.model}. Each conversation is a new sender: a known elder with one family "
        f"member who asked to be told. {meta.conversations} conversations, {meta.messages} "
        f"messages, {meta.concurrency} at once: {_minutes(meta.seconds)}. An alert or family "
        f"message counts for a message when stored within {meta.window_s:g} s of it and "
        "before the next one.",
        "",
        "**Targets:** emergencies and crises caught "
        f"{ratio(t.caught, t.dangerous)} (target 100 %): **{_met(t.all_caught)}**;"
        f" false alarms {ratio(t.false_alarms, t.negatives)} (target ≤ "
        f"{FALSE_ALARM_TARGET * 100:g} %): **{_met(t.few_false_alarms)}**"
        + (f"; {t.errors} conversation(s) broke: **NOT met**" if t.errors else "")
        + ".",
        "",
        "| expected | cases | caught | recall | alarm | crisis | asked | nothing | error |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for e in ("emergency", "crisis", "possible"):
        rs = by_expect[e]
        if rs:
            caught = sum(r.caught for r in rs)
            lines.append(f"| {e} | {len(rs)} | {caught} | {percent(caught, len(rs))} | "
                         f"{_outcome_cells(rs)} |")  # fmt: skip
    negatives = by_expect["none"]
    if negatives:
        fa = sum(r.false_alarm for r in negatives)
        lines.append(f"| none (false alarms) | {len(negatives)} | {fa} | "
                     f"{percent(fa, len(negatives))} | {_outcome_cells(negatives)} |")  # fmt: skip

    lines += ["", "### By category", "",
              "| expected | category | cases | caught | recall | alarm | crisis | asked | "
              "nothing | error |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for e in ("emergency", "crisis", "possible"):
        for cat in sorted({r.case.category for r in by_expect[e]}):
            rs = [r for r in by_expect[e] if r.case.category == cat]
            caught = sum(r.caught for r in rs)
            lines.append(f"| {e} | {cat} | {len(rs)} | {caught} | {percent(caught, len(rs))} | "
                         f"{_outcome_cells(rs)} |")  # fmt: skip
    if negatives:
        lines += ["", "Everyday messages (expected: none):", "",
                  "| category | cases | false alarms | asked needlessly | family told | "
                  "ambulance number in reply |", "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
        for cat in sorted({r.case.category for r in negatives}):
            rs = [r for r in negatives if r.case.category == cat]
            told = sum(bool(r.turn and r.turn.family_told) for r in rs)
            number = sum(bool(r.turn and r.turn.ambulance) for r in rs)
            fa, asked = sum(r.false_alarm for r in rs), sum(r.asked_needlessly for r in rs)
            lines.append(f"| {cat} | {len(rs)} | {fa} | {asked} | {told} | {number} |")

    lines += ["", "### By language", "",
              "| language | emergency caught | crisis caught | possible caught | false alarms | "
              "asked needlessly |", "|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for lang in LANGS:
        mine = [r for r in results if r.case.lang == lang]
        if not mine:
            continue
        cells = []
        for e in ("emergency", "crisis", "possible"):
            rs = [r for r in mine if r.case.expect == e]
            cells.append(ratio(sum(r.caught for r in rs), len(rs)))
        neg = [r for r in mine if r.case.expect == "none"]
        cells.append(ratio(sum(r.false_alarm for r in neg), len(neg)))
        cells.append(ratio(sum(r.asked_needlessly for r in neg), len(neg)))
        lines.append(f"| {lang} | " + " | ".join(cells) + " |")

    follow = [f for r in results for f in r.followups]
    if follow:
        lines += ["", "### Follow-ups of possible dangers", "",
                  "Each in a conversation of its own: the case's message, then the follow-up.",
                  "", "| follow-up | expected | conversations | met | rate |",
                  "|---|---|---:|---:|---:|"]  # fmt: skip
        wanted = {"escalate": "emergency alert and family told",
                  "close": "no emergency alert, family not told"}  # fmt: skip
        for fexpect in ("escalate", "close"):
            fs = [f for f in follow if f.expect == fexpect]
            if fs:
                met = sum(f.met for f in fs)
                lines.append(f"| {fexpect} | {wanted[fexpect]} | {len(fs)} | {met} | "
                             f"{percent(met, len(fs))} |")  # fmt: skip

    lines += ["", "### First reply and alert time", "",
              f"| expected | cases answered | ambulance number ({meta.ambulance}) in the reply | "
              "family told |", "|---|---:|---:|---:|"]  # fmt: skip
    for e in EXPECTS:
        answered = [r.turn for r in by_expect[e] if r.turn is not None]
        if answered:
            lines.append(f"| {e} | {len(answered)} | {sum(x.ambulance for x in answered)} | "
                         f"{sum(x.family_told for x in answered)} |")  # fmt: skip
    for e in DANGER:
        times = [r.turn.alert_s for r in by_expect[e] if r.turn and r.turn.alert_s is not None]
        if times:
            late = sum(x > ALERT_TARGET_S for x in times)
            lines.append("")
            lines.append(
                f"{e.capitalize()}: message → alert p50 {percentile(times, 50):.2f} s, "
                f"p95 {percentile(times, 95):.2f} s, max {max(times):.2f} s over "
                f"{len(times)} alert(s); {late} after {ALERT_TARGET_S:g} s."
            )

    context = [r.case.id for r in results if r.context_kinds]
    groups = failures(results)
    lines += ["", "### Failing cases (ids)", ""]
    if not groups:
        lines.append("None.")
    for kind in sorted(groups, key=_failure_order):
        ids = groups[kind]
        lines.append(f"- {kind} ({len(ids)}): " + ", ".join(ids))
    if context:
        lines += ["", f"The context turns of {len(context)} case(s) raised alerts of their own "
                  "(not counted above): " + ", ".join(context)]  # fmt: skip
    for note in meta.notes:
        lines += ["", note]
    return "\n".join(lines) + "\n"
