"""The results of ``anxin bench channels``: who answered each message, percentiles, verdicts.

Pure functions of what the simulated WeChat users sent and what the fake
customer-service API received; nothing here starts a server.
"""

from __future__ import annotations

import bisect
import math
import shlex
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

from anxin.bench.rest import Turn, percentile
from anxin.bench.wechat_fake import Ack, Delivered

TARGET_P99_MS = 1000.0
TARGET_MAX_MS = 4500.0
WECHAT_RETRY_S = 5.0  # WeChat retries a callback that has no response within 5 s

# How a message was answered (``Sent.how``); only the first two are one answer.
PASSIVE, API = "passive", "API"
NONE, TWICE, FAILED = "no answer", "passive and API", "request failed"
KINDS = (PASSIVE, API, NONE, TWICE, FAILED)


@dataclass
class Sent:
    """One message a simulated WeChat user sent, WeChat's acknowledgement, and the answer."""

    openid: str
    step: int
    text: str
    posted: float  # time.monotonic() when it was sent (the clock of Delivered.at)
    ack: Ack
    api: list[Delivered] = field(default_factory=list)  # customer-service messages for it

    @property
    def how(self) -> str:
        if self.ack.error or self.ack.status != 200:
            return FAILED
        if self.ack.passive:
            return TWICE if self.api else PASSIVE
        return API if self.api else NONE

    @property
    def answer(self) -> str:
        passive = [self.ack.passive] if self.ack.passive else []
        return "\n\n".join(passive + [d.text for d in self.api])

    @property
    def answer_s(self) -> Optional[float]:
        """Seconds until the person could read an answer (passive, or the first API message)."""
        if self.ack.passive:
            return self.ack.seconds
        return self.api[0].at - self.posted if self.api else None


def attribute(sent: Sequence[Sent], delivered: Sequence[Delivered]) -> list[Delivered]:
    """Give each customer-service message to the message it answers; return the strays.

    A user waits for an answer before writing again, so a message to ``openid``
    answers the last message that ``openid`` sent before it arrived. Messages to
    nobody in ``sent``, or before their first message, are strays.
    """
    by_user: dict[str, list[Sent]] = {}
    for s in sorted(sent, key=lambda s: s.posted):
        s.api.clear()
        by_user.setdefault(s.openid, []).append(s)
    times = {openid: [s.posted for s in mine] for openid, mine in by_user.items()}
    strays = []
    for d in sorted(delivered, key=lambda d: d.at):
        i = bisect.bisect_right(times.get(d.openid, []), d.at) - 1
        if i < 0:
            strays.append(d)
        else:
            by_user[d.openid][i].api.append(d)
    return strays


def as_turns(sent: Sequence[Sent]) -> list[Turn]:
    """The messages as the dialogue bench's turns (for its outcome counts and transcripts)."""
    return [
        Turn(s.openid, s.step, s.text, s.ack.seconds, [{"text": s.answer}], s.ack.error)
        for s in sent
    ]


@dataclass(frozen=True)
class Latency:
    n: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def latency(seconds: Sequence[float]) -> Latency:
    """Nearest-rank percentiles (rest.percentile) and the maximum, in milliseconds."""
    ms = [s * 1000 for s in seconds]
    return Latency(
        len(ms),
        percentile(ms, 50),
        percentile(ms, 95),
        percentile(ms, 99),
        max(ms) if ms else math.nan,
    )


@dataclass
class ChannelsResult:
    mode: str  # "safe mode (AES)" or "plaintext"
    users: int
    sent: list[Sent]
    seconds: float  # wall-clock time of the concurrent run
    ready_s: float = math.nan
    passive_deadline_s: float = 3.5
    cpu_ms: dict[str, float] = field(default_factory=dict)  # server CPU per message
    rss: dict[str, int] = field(default_factory=dict)  # peak RSS per server
    other_cores: Optional[float] = None  # cores busy with neither the servers nor the bench
    bench_cores: Optional[float] = None  # cores this bench used (WeChat's side: users, API)
    think_s: float = 0.0  # each user's pause between an answer and the next message
    load: tuple[float, float] = (math.nan, math.nan)  # 1-minute load average before, after
    outcomes: Optional[Counter[str]] = None
    db_bookings: Optional[int] = None
    strays: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ack(self) -> Latency:
        return latency([s.ack.seconds for s in self.sent])

    @property
    def kinds(self) -> Counter[str]:
        return Counter(s.how for s in self.sent)

    @property
    def conversations(self) -> int:
        return len({s.openid for s in self.sent})

    @property
    def per_second(self) -> float:
        return len(self.sent) / self.seconds if self.seconds > 0 else 0.0


def _ms(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.0f} ms"


def _mib(value: Optional[int]) -> str:
    return "—" if not value else f"{value / 2**20:.0f} MiB"


def _cpu(cpu_ms: dict[str, float]) -> str:
    if not cpu_ms:
        return "—"
    parts = " + ".join(f"{name} {ms:.0f}" for name, ms in cpu_ms.items())
    return f"{sum(cpu_ms.values()):.0f} ms ({parts})"


def _other(r: ChannelsResult) -> str:
    cores = "—" if r.other_cores is None else f"{r.other_cores:.2f} cores"
    before, after = r.load
    if math.isnan(before):
        return cores
    return f"{cores} (load average {before:.2f} before, {after:.2f} after)"


def _answers(r: ChannelsResult) -> str:
    kinds = r.kinds
    text = f"{kinds[PASSIVE]} passive, {kinds[API]} `success` + customer-service API"
    wrong = [f"{kinds[k]} {k}" for k in (NONE, TWICE, FAILED) if kinds[k]]
    return text + ("; " + ", ".join(wrong) if wrong else "; none missing or doubled")


def _bookings(r: ChannelsResult) -> str:
    if r.outcomes is None:
        return "—"
    parts = ", ".join(f"{n} {outcome}" for outcome, n in r.outcomes.most_common())
    return parts + ("" if r.db_bookings is None else f"; {r.db_bookings} in the database")


def format_table(r: ChannelsResult) -> str:
    """The run as a two-column Markdown table."""
    ack = r.ack
    api_answers = [s.answer_s for s in r.sent if s.how == API and s.answer_s is not None]
    api = latency(api_answers)
    late = sum(1 for s in r.sent if s.ack.seconds > WECHAT_RETRY_S)
    rows: list[tuple[str, Callable[[], str]]] = [
        ("WeChat channel", lambda: f"{r.mode}, passive deadline {r.passive_deadline_s:g} s"),
        ("ready (start → first answer)", lambda: f"{r.ready_s:.1f} s"),
        (
            "users at once, conversations, messages",
            lambda: f"{r.users}, {r.conversations}, {len(r.sent)}",
        ),
        (
            "pause between an answer and the next message",
            lambda: f"{r.think_s:g} s" if r.think_s else "none (the next message at once)",
        ),
        ("wall time, msg/s", lambda: f"{r.seconds:.1f} s, {r.per_second:.1f}"),
        (
            "acknowledgement p50 / p95 / p99 / max",
            lambda: " / ".join(_ms(v) for v in (ack.p50_ms, ack.p95_ms, ack.p99_ms, ack.max_ms)),
        ),
        (f"acknowledged after {WECHAT_RETRY_S:g} s (WeChat would retry)", lambda: str(late)),
        ("answers", lambda: _answers(r)),
        (
            "customer-service answers: time to the message, p50 / max",
            lambda: "—" if not api_answers else f"{_ms(api.p50_ms)} / {_ms(api.max_ms)}",
        ),
        ("lunch bookings (conversations)", lambda: _bookings(r)),
        ("server CPU per message", lambda: _cpu(r.cpu_ms)),
        (
            "peak RSS, Rasa / action server",
            lambda: f"{_mib(r.rss.get('rasa'))} / {_mib(r.rss.get('actions'))}",
        ),
        (
            "CPU of this bench (WeChat's side: users, encryption, API fake)",
            lambda: "—" if r.bench_cores is None else f"{r.bench_cores:.2f} cores",
        ),
        ("other work on the machine during the run", lambda: _other(r)),
    ]
    lines = ["| | |", "|---|---|"]
    lines += [f"| {label} | {cell()} |" for label, cell in rows]
    return "\n".join(lines)


def format_steps(r: ChannelsResult, steps: Sequence[str]) -> str:
    """Acknowledgement latency of each step of the conversation, as a Markdown table."""
    lines = ["| step | p50 | p95 | p99 | max | through the API |", "|---|---|---|---|---|---|"]
    for i, name in enumerate(steps):
        mine = [s for s in r.sent if s.step == i]
        lat = latency([s.ack.seconds for s in mine])
        api = sum(1 for s in mine if s.how == API)
        cells = [_ms(v) for v in (lat.p50_ms, lat.p95_ms, lat.p99_ms, lat.max_ms)]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {api} of {len(mine)} |")
    return "\n".join(lines)


def verdicts(r: ChannelsResult) -> list[str]:
    """The issue's targets, each met or not, with the figures."""
    ack, kinds = r.ack, r.kinds
    one = kinds[PASSIVE] + kinds[API]
    ok_p99 = ack.p99_ms <= TARGET_P99_MS
    ok_max = ack.max_ms <= TARGET_MAX_MS
    ok_one = answered_once(r)
    stray = f", {r.strays} customer-service message(s) to nobody" if r.strays else ""
    return [
        f"acknowledgement p99 {_ms(ack.p99_ms)} (target ≤ {TARGET_P99_MS:.0f} ms): "
        + ("met" if ok_p99 else "NOT met"),
        f"acknowledgement max {_ms(ack.max_ms)} (never past {TARGET_MAX_MS:.0f} ms): "
        + ("met" if ok_max else "NOT met"),
        f"every message answered exactly once: {one} of {len(r.sent)}{stray}: "
        + ("met" if ok_one else "NOT met"),
    ]


def answered_once(r: ChannelsResult) -> bool:
    """Every message got one answer (passive or through the API), and no stray was sent."""
    kinds = r.kinds
    return bool(r.sent) and kinds[PASSIVE] + kinds[API] == len(r.sent) and r.strays == 0


def command_line(
    users: int,
    messages: int,
    rasa_port: int,
    actions_port: int,
    plaintext: bool = False,
    think_s: float = 0.0,
) -> str:
    """The command that reproduces a run, every option spelt out."""
    argv = ["anxin", "bench", "channels", "--users", str(users), "--messages", str(messages)]
    argv += ["--rasa-port", str(rasa_port), "--actions-port", str(actions_port)]
    if think_s:
        argv += ["--think", f"{think_s:g}"]
    if plaintext:
        argv.append("--plaintext")
    return shlex.join(argv)
