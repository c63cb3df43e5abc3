"""``anxin bench rest``: latency and throughput of a running assistant over the REST channel.

Sequential: one conversation, one message at a time (p50/p95). Concurrent: N
conversations at once, each sending the same mix. The mix is greetings, the
services overview (a custom action that reads the database) and small talk,
in both languages, as elders write them.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass

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

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds


def _post(url: str, sender: str, text: str) -> float:
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(req, timeout=60) as resp:
        if resp.status != 200 or not json.loads(resp.read()):
            raise RuntimeError(f"no answer to {text!r}")
    return time.perf_counter() - t0


def _summary(label: str, latencies: list[float], seconds: float) -> RestResult:
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return RestResult(label, len(ordered), seconds, statistics.median(ordered) * 1000, p95 * 1000)


def run(base: str, messages: int, concurrency: int) -> list[RestResult]:
    url = base.rstrip("/") + "/webhooks/rest/webhook"
    _post(url, "warm-up", "你好")
    started = time.perf_counter()
    sequential = [_post(url, "bench-seq", MIX[i % len(MIX)]) for i in range(messages)]
    results = [_summary("sequential", sequential, time.perf_counter() - started)]

    per_client = max(1, messages // concurrency)
    latencies: list[float] = []
    lock = threading.Lock()

    def client() -> None:
        sender = f"bench-{uuid.uuid4().hex[:8]}"
        mine = [_post(url, sender, MIX[i % len(MIX)]) for i in range(per_client)]
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.append(_summary(f"{concurrency} concurrent", latencies, time.perf_counter() - started))
    return results


def rest_bench(base: str, messages: int, concurrency: int) -> int:
    for r in run(base, messages, concurrency):
        print(
            f"{r.label:14} {r.messages:4} messages: {r.per_second:6.1f} msg/s  "
            f"p50 {r.p50_ms:7.1f} ms  p95 {r.p95_ms:7.1f} ms"
        )
    return 0
