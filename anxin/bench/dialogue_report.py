"""The results of ``anxin bench dialogue``: one side per bot, the table, the verdicts."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from anxin.bench.rest import RestResult, Run, Turn, summarise

# What the issue quoted for the stock bot at 20 concurrent conversations on this machine.
STOCK_QUOTED_PER_SECOND = 16.0
TARGET_SEQUENTIAL_P95_MS = 150.0
TARGET_THROUGHPUT_RATIO = 2.0


@dataclass
class SideResult:
    name: str
    ready_s: float
    sequential: RestResult
    concurrent: RestResult
    rasa_rss: int
    actions_rss: Optional[int] = None
    # CPU milliseconds per message sent, of each server's process tree ("rasa", "actions").
    cpu_ms: dict[str, float] = field(default_factory=dict)
    # CPU cores busy with other work during the runs: neither the servers nor this bench.
    other_cores: Optional[float] = None
    outcomes: Optional[Counter[str]] = None
    db_bookings: Optional[int] = None
    # Latency of each step of the script: (step, sequential, concurrent).
    steps: list[tuple[str, RestResult, RestResult]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    run_id: str = ""


def per_step(seq: Run, conc: Run, names: Sequence[str]) -> list[tuple[str, RestResult, RestResult]]:
    """Latency of each step of the script in both runs (throughput is the whole run's)."""
    return [
        (
            name,
            summarise(name, [t for t in seq.turns if t.step == i], seq.seconds),
            summarise(name, [t for t in conc.turns if t.step == i], conc.seconds),
        )
        for i, name in enumerate(names)
    ]


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0f} ms"


def _mib(value: Optional[int]) -> str:
    return "—" if value is None else f"{value / 2**20:.0f} MiB"


def format_table(stock: Optional[SideResult], anxin: Optional[SideResult]) -> str:
    """A Markdown table, stock bot and Anxin side by side."""
    sides = [s for s in (stock, anxin) if s is not None]
    header = {"stock": "stock `rasa init` bot", "anxin": "Anxin"}
    rows: list[tuple[str, Callable[[SideResult], str]]] = [
        ("ready (start → first answer)", lambda s: f"{s.ready_s:.1f} s"),
        (
            "sequential: messages, msg/s",
            lambda s: f"{s.sequential.messages}, {s.sequential.per_second:.1f}",
        ),
        (
            "sequential p50 / p95",
            lambda s: f"{_ms(s.sequential.p50_ms)} / {_ms(s.sequential.p95_ms)}",
        ),
        (
            f"{_conc(sides)} concurrent: messages, msg/s",
            lambda s: f"{s.concurrent.messages}, {s.concurrent.per_second:.1f}",
        ),
        (
            f"{_conc(sides)} concurrent p50 / p95",
            lambda s: f"{_ms(s.concurrent.p50_ms)} / {_ms(s.concurrent.p95_ms)}",
        ),
        (
            "server CPU per message",
            _cpu,
        ),
        ("peak RSS, Rasa server", lambda s: _mib(s.rasa_rss)),
        ("peak RSS, action server", lambda s: _mib(s.actions_rss)),
        (
            "no answer / failed requests",
            lambda s: (
                f"{s.sequential.unanswered + s.concurrent.unanswered}"
                f" / {s.sequential.errors + s.concurrent.errors}"
            ),
        ),
        ("lunch bookings (conversations)", _bookings),
        (
            "other work on the machine during the runs",
            lambda s: "—" if s.other_cores is None else f"{s.other_cores:.2f} cores",
        ),
    ]
    lines = [
        "| | " + " | ".join(header.get(s.name, s.name) for s in sides) + " |",
        "|---|" + "---|" * len(sides),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(s) for s in sides) + " |")
    return "\n".join(lines)


def _conc(sides: Sequence[SideResult]) -> str:
    labels = {s.concurrent.label.split()[0] for s in sides}
    return labels.pop() if len(labels) == 1 else "N"


def _cpu(s: SideResult) -> str:
    if not s.cpu_ms:
        return "—"
    total = f"{sum(s.cpu_ms.values()):.0f} ms"
    if len(s.cpu_ms) == 1:
        return total
    return total + " (" + " + ".join(f"{n} {ms:.0f}" for n, ms in s.cpu_ms.items()) + ")"


def _bookings(s: SideResult) -> str:
    if s.outcomes is None:
        return "—"
    parts = [f"{n} {outcome}" for outcome, n in s.outcomes.most_common()]
    db = f"; {s.db_bookings} in the database" if s.db_bookings is not None else ""
    return ", ".join(parts) + db


def verdicts(stock: Optional[SideResult], anxin: Optional[SideResult]) -> list[str]:
    """The issue's two targets, each met or not, with the figures."""
    if anxin is None:
        return []
    lines = []
    p95 = anxin.sequential.p95_ms
    ok = p95 <= TARGET_SEQUENTIAL_P95_MS
    lines.append(
        f"sequential p95 {p95:.0f} ms (target ≤ {TARGET_SEQUENTIAL_P95_MS:.0f} ms): "
        + ("met" if ok else "NOT met")
    )
    if stock is not None:
        base, against = stock.concurrent.per_second, "the stock bot's, measured in this run"
    else:
        base, against = STOCK_QUOTED_PER_SECOND, "the stock bot's as quoted in the issue"
    ratio = anxin.concurrent.per_second / base if base > 0 else math.inf
    lines.append(
        f"{anxin.concurrent.label} throughput {anxin.concurrent.per_second:.1f} msg/s = "
        f"{ratio:.1f}× {against} ({base:.1f} msg/s; target ≥ {TARGET_THROUGHPUT_RATIO:.0f}×): "
        + ("met" if ratio >= TARGET_THROUGHPUT_RATIO else "NOT met")
    )
    return lines


def format_steps(side: SideResult) -> str:
    lines = [f"  {'step':8} {'sequential p50 / p95':>22}   {side.concurrent.label} p50 / p95"]
    for name, seq, conc in side.steps:
        lines.append(
            f"  {name:8} {_ms(seq.p50_ms):>10} / {_ms(seq.p95_ms):>9}   "
            f"{_ms(conc.p50_ms):>8} / {_ms(conc.p95_ms):>8}"
        )
    return "\n".join(lines)


def format_transcript(conv: Sequence[Turn], width: int = 110) -> str:
    lines = []
    for t in conv:
        lines.append(f"  > {t.text}")
        answer = " ".join((t.error or t.reply_text or "(no answer)").split())
        lines.append("  < " + (answer if len(answer) <= width else answer[: width - 1] + "…"))
    return "\n".join(lines)
