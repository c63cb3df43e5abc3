"""``anxin bench rest``: latency and throughput of a running assistant over the REST channel.

Sequential: one conversation, one message at a time (p50/p95). Concurrent: N
conversations at once, each sending the same mix. The mix is greetings, the
services overview (a custom action that reads the database) and small talk,
in both languages, as elders write them.

The helpers here (one timed POST, conversations run by concurrent clients,
nearest-rank percentiles) are shared with ``anxin bench dialogue``.
"""

from __future__ import annotations

import json
import math
import statistics
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from anxin.config import rest_auth

MIX = (
    "你好",
    "你们都有啥服务",
    "谢谢你啊",
    "hello",
    "what services do you have",
    "thank you",
)


@dataclass
class RestResult:
    label: str
    messages: int
    seconds: float
    p50_ms: float
    p95_ms: float
    unanswered: int = 0
    errors: int = 0

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class Script:
    """One conversation: a sender id and what that person types, in order."""

    sender: str
    messages: tuple[str, ...]


@dataclass
class Turn:
    """One message sent and what came back (``replies`` is None when the request failed)."""

    sender: str
    step: int
    text: str
    seconds: float
    replies: Optional[list[dict[str, Any]]]
    error: str = ""

    @property
    def reply_text(self) -> str:
        return " ".join(str(r.get("text", "")) for r in self.replies or [])


@dataclass
class Run:
    """Every turn of a run and its wall-clock time."""

    turns: list[Turn] = field(default_factory=list)
    seconds: float = 0.0


def webhook(base: str) -> str:
    return base.rstrip("/") + "/webhooks/rest/webhook"


def post(url: str, sender: str, text: str, timeout: float = 60) -> tuple[float, list[Any]]:
    """Send one message; (seconds until the whole answer was read, the bot's messages)."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    headers = {"Content-Type": "application/json", **rest_auth()}  # ANXIN_REST_TOKEN
    req = urllib.request.Request(url, data=body, headers=headers)
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        replies = json.loads(resp.read())
    return time.perf_counter() - t0, replies


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least q % of the values at or below."""
    if not values:
        return math.nan
    if not 0 < q <= 100:
        raise ValueError(f"percentile {q} is not in (0, 100]")
    ordered = sorted(values)
    return ordered[math.ceil(q / 100 * len(ordered)) - 1]


def summarise(label: str, turns: Sequence[Turn], seconds: float) -> RestResult:
    """Latency percentiles of the answered messages; msg/s counts every message sent."""
    latencies = [t.seconds for t in turns if t.replies is not None]
    return RestResult(
        label,
        len(turns),
        seconds,
        statistics.median(latencies) * 1000 if latencies else math.nan,
        percentile(latencies, 95) * 1000,
        unanswered=sum(1 for t in turns if t.replies == []),
        errors=sum(1 for t in turns if t.replies is None),
    )


def converse(url: str, clients: Sequence[Sequence[Script]], timeout: float = 60) -> Run:
    """Each client runs its conversations one after another; all clients at once.

    One client is the sequential case. A request that fails is recorded as a turn
    with ``replies=None`` and that conversation stops; the others go on.
    """
    run = Run()
    lock = threading.Lock()
    start = threading.Barrier(len(clients) + 1)

    def client(scripts: Sequence[Script]) -> None:
        mine: list[Turn] = []
        start.wait()
        for script in scripts:
            for step, text in enumerate(script.messages):
                t0 = time.perf_counter()
                try:
                    seconds, replies = post(url, script.sender, text, timeout)
                except Exception as exc:  # noqa: BLE001 - reported, not hidden
                    err = f"{type(exc).__name__}: {exc}"
                    mine.append(
                        Turn(script.sender, step, text, time.perf_counter() - t0, None, err)
                    )
                    break
                mine.append(Turn(script.sender, step, text, seconds, replies))
        with lock:
            run.turns.extend(mine)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    start.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    run.seconds = time.perf_counter() - started
    return run


def run(base: str, messages: int, concurrency: int) -> list[RestResult]:
    url = webhook(base)
    post(url, "warm-up", "你好")
    mix = tuple(MIX[i % len(MIX)] for i in range(messages))
    seq = converse(url, [[Script("bench-seq", mix)]])
    results = [summarise("sequential", seq.turns, seq.seconds)]

    mix = mix[: max(1, messages // concurrency)]
    clients = [[Script(f"bench-{uuid.uuid4().hex[:8]}", mix)] for _ in range(concurrency)]
    conc = converse(url, clients)
    results.append(summarise(f"{concurrency} concurrent", conc.turns, conc.seconds))
    return results


def rest_bench(base: str, messages: int, concurrency: int) -> int:
    failed = False
    for r in run(base, messages, concurrency):
        print(
            f"{r.label:14} {r.messages:4} messages: {r.per_second:6.1f} msg/s  "
            f"p50 {r.p50_ms:7.1f} ms  p95 {r.p95_ms:7.1f} ms"
        )
        if r.unanswered or r.errors:
            print(f"{'':14} {r.unanswered} without an answer, {r.errors} failed requests")
            failed = failed or bool(r.errors)
    return 1 if failed else 0
