"""The results of ``anxin bench fuzz``: answers by route group and status, the failures with
a few samples each, the processes that died and what was in flight, the checks after.

Pure functions of the records; nothing here sends a request. A sample names the route,
the input class and its variant (e.g. ``wav-float-16bit as audio/wav``), never the bytes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Optional

from anxin.bench.fuzz_client import Ending
from anxin.bench.fuzz_inputs import GROUPS, Probe

FAILURES = ("5xx", "drop", "timeout", "refused", "ws-1011", "dropped-call", "accepted",
            "traceback")  # fmt: skip
# What each failure means, for the report's reader.
MEANING = {
    "5xx": "a server error",
    "drop": "the connection closed or was reset with no answer",
    "timeout": "no answer within the time allowed",
    "refused": "nothing listening (a listener or process gone)",
    "ws-1011": "a WebSocket closed with 1011 (internal error)",
    "dropped-call": "a call the protocol allowed was ended by the server",
    "accepted": "a 2xx to a request that must be refused (no or wrong credentials, a stale "
    "or replayed signature, a forged CSRF token)",
    "traceback": "a Python traceback in an answer",
}


@dataclass
class Record:
    probe: Probe
    variant: str
    ending: Ending
    started: float  # seconds since the run began
    seconds: float


@dataclass
class Death:
    name: str
    returncode: Optional[int]
    at: float  # seconds since the run began
    suspects: list[Record] = field(default_factory=list)  # in flight or just before
    frozen: bool = False  # alive, but no answer to its health check for a while


@dataclass
class Liveness:
    checks: int = 0
    failed: int = 0
    worst_s: float = 0.0
    failing_since: Optional[float] = None  # when the current run of failed checks began


@dataclass
class FinalCheck:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class FuzzResult:
    seed: int
    planned: int
    records: list[Record] = field(default_factory=list)
    seconds: float = 0.0
    deadline_hit: bool = False
    interrupted: bool = False
    deaths: list[Death] = field(default_factory=list)
    liveness: dict[str, Liveness] = field(default_factory=dict)
    finals: list[FinalCheck] = field(default_factory=list)
    routes: dict[str, int] = field(default_factory=dict)  # group → routes fuzzed
    notes: list[str] = field(default_factory=list)
    skipped: int = 0  # planned, built, but left out by --skip
    command: str = ""
    database: str = ""
    commit: str = ""
    ready_s: float = 0.0


def bucket(status: str) -> str:
    """The table column a status goes in."""
    if status[:1].isdigit() and len(status) == 3:
        return status[0] + "xx"
    if status.startswith("101→") or status.startswith("as-"):
        return "call ended"
    if status in ("timeout",):
        return "timeout"
    if status in ("drop", "reset while sending", "refused"):
        return "drop"
    return "no answer (allowed)"


COLUMNS = ("2xx", "3xx", "4xx", "5xx", "call ended", "no answer (allowed)", "timeout", "drop")


def failures(result: FuzzResult) -> list[Record]:
    return [r for r in result.records if r.ending.failure]


def counts(result: FuzzResult) -> Counter[str]:
    return Counter(r.ending.failure for r in result.records if r.ending.failure)


def passed(result: FuzzResult) -> bool:
    """Zero failures, zero deaths, no liveness check missed, every final check answered."""
    return (
        not failures(result)
        and not result.deaths
        and all(v.failed == 0 for v in result.liveness.values())
        and bool(result.finals)
        and all(f.ok for f in result.finals)
    )


def _groups(result: FuzzResult) -> list[str]:
    seen = {r.probe.group for r in result.records}
    return [g for g in GROUPS if g in seen] + sorted(seen - set(GROUPS))


def format_table(result: FuzzResult) -> str:
    by: dict[str, Counter[str]] = defaultdict(Counter)
    for r in result.records:
        by[r.probe.group][bucket(r.ending.status)] += 1
    head = "| route group | routes | requests | " + " | ".join(COLUMNS) + " | failures |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 4)]
    fails = Counter(r.probe.group for r in failures(result))
    total: Counter[str] = Counter()
    for g in _groups(result):
        row = by[g]
        total.update(row)
        n = sum(row.values())
        cells = " | ".join(str(row.get(c, 0) or "") for c in COLUMNS)
        lines.append(f"| {g} | {result.routes.get(g, '')} | {n} | {cells} | {fails.get(g, 0)} |")
    n = sum(total.values())
    cells = " | ".join(str(total.get(c, 0) or "") for c in COLUMNS)
    lines.append(f"| **all** | {sum(result.routes.values())} | {n} | {cells} | "
                 f"{sum(fails.values())} |")  # fmt: skip
    return "\n".join(lines)


def format_statuses(result: FuzzResult, top: int = 12) -> str:
    """Each group's statuses, most frequent first (the table's columns, split)."""
    by: dict[str, Counter[str]] = defaultdict(Counter)
    for r in result.records:
        by[r.probe.group][r.ending.status] += 1
    lines = []
    for g in _groups(result):
        common = by[g].most_common()
        shown = " · ".join(f"{s} ×{n}" for s, n in common[:top])
        more = f" · {len(common) - top} more" if len(common) > top else ""
        lines.append(f"- {g}: {shown}{more}")
    return "\n".join(lines)


def _sample(r: Record) -> str:
    note = f", {r.ending.note}" if r.ending.note else ""
    return f"{r.variant} → {r.ending.status}{note}"


def format_failures(result: FuzzResult, samples: int = 3) -> str:
    """One line per (failure, route, input class), most frequent first, a few variants each."""
    groups: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for r in failures(result):
        groups[(r.ending.failure or "", r.probe.route, r.probe.klass)].append(r)
    if not groups:
        return "No failures."
    lines = []
    order = sorted(
        groups.items(),
        key=lambda kv: (FAILURES.index(kv[0][0]) if kv[0][0] in FAILURES else 99, -len(kv[1])),
    )
    for (failure, route, klass), records in order:
        variants = Counter(_sample(r) for r in records)
        shown = "; ".join(f"{v}" + (f" (×{n})" if n > 1 else "")
                          for v, n in variants.most_common(samples))  # fmt: skip
        more = f"; {len(variants) - samples} other variants" if len(variants) > samples else ""
        lines.append(f"- **{failure}** ×{len(records)} — `{route}`, {klass}: {shown}{more}")
    return "\n".join(lines)


def format_deaths(result: FuzzResult) -> str:
    if not result.deaths:
        return "No process died or stopped answering."
    lines = []
    for d in result.deaths:
        what = "stopped answering" if d.frozen else f"died** (exit code {d.returncode}"
        what = f"**{d.name} {what}**" if d.frozen else f"**{d.name} {what})"
        lines.append(f"- {what} {d.at:.1f} s into the run; in flight or just before:")
        for r in d.suspects[:12]:
            lines.append(f"  - `{r.probe.route}` {r.probe.klass}: {r.variant} "
                         f"(started at {r.started:.1f} s) → {r.ending.status}")  # fmt: skip
    return "\n".join(lines)


def format_liveness(result: FuzzResult) -> str:
    if not result.liveness:
        return "Liveness: not checked."
    parts = [f"{name} {v.checks - v.failed}/{v.checks} answered (slowest {v.worst_s:.1f} s)"
             for name, v in result.liveness.items()]  # fmt: skip
    return "Liveness during the run: " + "; ".join(parts) + "."


def format_finals(result: FuzzResult) -> str:
    if not result.finals:
        return "Afterwards: not checked (the run did not finish)."
    return (
        "Afterwards, a normal message on each channel: "
        + "; ".join(
            f"{f.name} {'answered' if f.ok else 'NOT answered'}"
            + (f" ({f.detail})" if f.detail else "")
            for f in result.finals
        )
        + "."
    )


def verdict(result: FuzzResult) -> str:
    c = counts(result)
    parts = [f"{c.get(k, 0)} {k}" for k in FAILURES if c.get(k, 0)] or ["no failed request"]
    frozen = sum(1 for d in result.deaths if d.frozen)
    deaths = (f"{len(result.deaths) - frozen} process death(s), {frozen} frozen"
              if result.deaths else "no process death")  # fmt: skip
    stalls = sum(v.failed for v in result.liveness.values())
    stall = f"{stalls} liveness check(s) unanswered" if stalls else "every liveness check answered"
    finals = "final messages answered" if result.finals and all(f.ok for f in result.finals) \
        else "final messages NOT all answered"  # fmt: skip
    state = "met" if passed(result) else "NOT met"
    return (f"Zero 5xx, zero dropped connections, zero process deaths, a normal message "
            f"answered afterwards: **{state}** ({', '.join(parts)}; {deaths}; {stall}; "
            f"{finals}).")  # fmt: skip


def format_report(result: FuzzResult, when: str) -> str:
    """The Markdown section (printed, and appended with --write)."""
    sent = len(result.records)
    stopped = f" ({result.skipped} skipped by --skip)" if result.skipped else ""
    if result.deaths:
        stopped += " (stopped when a process died or froze)"
    elif result.deadline_hit:
        stopped += " (stopped at the deadline)"
    lines = [
        f"## Fuzz: {sent} malformed requests against every route ({when})",
        "",
        f"`{result.command}` at commit {result.commit}, database {result.database}; "
        f"{sent} of {result.planned} planned requests sent in {result.seconds:.0f} s{stopped}, "
        f"stack ready in {result.ready_s:.0f} s.",
        "",
        format_table(result),
        "",
        "Statuses by group:",
        "",
        format_statuses(result),
        "",
        "Failures (" + ", ".join(f"{k}: {v}" for k, v in MEANING.items()) + "):",
        "",
        format_failures(result),
        "",
        format_deaths(result),
        "",
        format_liveness(result),
        "",
        format_finals(result),
        "",
        verdict(result),
        "",
    ]
    if result.notes:
        lines[-1:-1] = ["", *[f"- {n}" for n in result.notes]]
    return "\n".join(lines)
