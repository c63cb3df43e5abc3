"""``anxin bench dialogue``: Anxin against the stock ``rasa init`` bot, in one run.

Both bots are started here, one after the other, on ports of their own (so a
``make run`` on 5005/5055 is left alone), and spoken to over the REST channel:

1. **The stock bot**: ``rasa init --no-prompt`` (trained once, ~1.5 min, then
   cached in ``var/bench/stock-bot``), served with ``rasa run`` and its default
   REST channel. Conversations it understands: hello → I am sad → yes → are you
   a bot? → bye.
2. **Anxin**: the real stack as ``anxin run`` starts it (anxin/stack.py: same
   set-up, environment and command lines) on a throwaway SQLite database with
   the demo catalogue, so nothing is booked into ``var/anxin.db``. Every
   conversation books a lunch: 你好 → 帮我订明天的午饭在食堂吃 → (first-timer's
   name) 张桂芬 → (read-back) 对 → 我都约了啥 → 谢谢, or the same in English.
   Conversations are spread over several lunch days (the canteen seats 40 per
   lunch); what the bot answered to the "yes" is counted: booked, full, already
   booked or something else, and checked against the database afterwards.

Each bot gets a sequential run (one conversation after another) and a run with
``concurrency`` conversations at once, each with its own sender id. The clock is
the real one (``ANXIN_NOW`` is not passed on), so the NLU's "明天" and the action
server's "today" agree. Timings are reported, never asserted: the exit code is 0
unless something broke (a server did not start, requests failed).
"""

from __future__ import annotations

import dataclasses
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import IO, TYPE_CHECKING, Callable, Optional, Sequence
from zoneinfo import ZoneInfo

from anxin.bench_rest import (
    RestResult,
    Run,
    Script,
    Turn,
    converse,
    post,
    summarise,
    webhook,
)

if TYPE_CHECKING:
    from care.services import CareServices

READY_TIMEOUT_S = 300
STOP_TIMEOUT_S = 30
# What the issue quoted for the stock bot at 20 concurrent conversations on this machine.
STOCK_QUOTED_PER_SECOND = 16.0
TARGET_SEQUENTIAL_P95_MS = 150.0
TARGET_THROUGHPUT_RATIO = 2.0

# The stock bot's domain: greet, mood_unhappy, affirm, bot_challenge, goodbye.
STOCK_SCRIPT = ("hello", "I am sad", "yes", "are you a bot?", "bye")
STOCK_STEPS = ("greet", "sad", "yes", "bot?", "bye")

ANXIN_STEPS = ("greet", "book", "name", "confirm", "list", "thanks")
# (Chinese, English) ways of naming a day; the ones that land on a lunch day are used.
DAY_PHRASES = (
    ("明天", "tomorrow"),
    ("后天", "the day after tomorrow"),
    ("下周一", "next monday"),
    ("下周二", "next tuesday"),
    ("下周三", "next wednesday"),
    ("下周四", "next thursday"),
    ("下周五", "next friday"),
    ("下周六", "next saturday"),
)
NAMES_ZH = ("张桂芬", "李秀兰", "王淑珍", "刘玉梅", "陈德明", "杨凤英", "赵振华", "孙桂英")
NAMES_EN = ("Margaret Brown", "Arthur Wilson", "Dorothy Clarke", "Harold Evans", "Edith Green")

# Responses of action_book_meal (bot/domain.yml) that tell how the booking went.
OUTCOME_RESPONSES = {
    "booked": ("utter_meal_booked",),
    "already booked": ("utter_meal_already_booked",),
    "full": ("utter_meal_full", "utter_meal_full_alternative"),
    "closed": ("utter_meal_closed",),
}


# --------------------------------------------------------------------------- scripts


def book_message(day_phrase: str, language: str) -> str:
    if language == "zh":
        return f"帮我订{day_phrase}的午饭在食堂吃"
    return f"book lunch {day_phrase} at the canteen"


def anxin_script(k: int, days: Sequence[tuple[str, str]], sender: str) -> Script:
    """Conversation number k: Chinese for even k, English for odd, days taken in turn."""
    if not days:
        raise ValueError("no day to book lunch on")
    zh_day, en_day = days[(k // 2) % len(days)]
    if k % 2 == 0:
        messages = ("你好", book_message(zh_day, "zh"), NAMES_ZH[(k // 2) % len(NAMES_ZH)])
        messages += ("对", "我都约了啥", "谢谢")
    else:
        messages = ("hello", book_message(en_day, "en"), NAMES_EN[(k // 2) % len(NAMES_EN)])
        messages += ("yes", "what have I booked", "thank you")
    return Script(sender, messages)


def stock_script(k: int, sender: str) -> Script:
    """The stock bot's conversation (the same every time; k is there to match anxin_script)."""
    return Script(sender, STOCK_SCRIPT)


def lunch_days(now: datetime, has_lunch: Callable[[date], bool]) -> list[tuple[str, str]]:
    """The day phrases whose Chinese and English booking messages mean the same lunch day.

    Resolved with care.when, as the NLU's WhenExtractor resolves them; ``has_lunch``
    says whether the canteen serves lunch that day (no Sundays, no holidays).
    """
    from care.when import parse_when

    usable = []
    for zh, en in DAY_PHRASES:
        day = parse_when(book_message(zh, "zh"), now).date
        if day is not None and parse_when(book_message(en, "en"), now).date == day:
            if has_lunch(day):
                usable.append((zh, en))
    return usable


def plan(
    messages: int,
    concurrency: int,
    script_length: int,
    make: Callable[[int], Script],
) -> tuple[list[Script], list[list[Script]]]:
    """Whole conversations for ~``messages`` messages: sequential, then per concurrent client.

    Conversations are numbered across both runs; in the concurrent run client c's
    j-th conversation is number ``j * concurrency + c``, so the first round
    already mixes languages and days.
    """
    sequential_n = max(1, math.ceil(messages / script_length))
    per_client = max(1, math.ceil(messages / concurrency / script_length))
    sequential = [make(k) for k in range(sequential_n)]
    clients = [
        [make(sequential_n + j * concurrency + c) for j in range(per_client)]
        for c in range(concurrency)
    ]
    return sequential, clients


# --------------------------------------------------------------------------- outcomes


def outcome_markers(bot_dir: Path) -> dict[str, tuple[str, ...]]:
    """Outcome → the fixed start of each of its response texts (before any ``{slot}``).

    Read from every YAML file under ``bot_dir`` that has ``responses`` (one
    domain.yml or a domain/ directory of them).
    """
    import yaml

    responses: dict[str, list[dict[str, object]]] = {}
    for file in sorted(bot_dir.rglob("*.yml")):
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get("responses"), dict):
            responses.update(data["responses"])
    markers: dict[str, tuple[str, ...]] = {}
    for outcome, names in OUTCOME_RESPONSES.items():
        texts = [str(v.get("text", "")) for name in names for v in responses.get(name, [])]
        markers[outcome] = tuple(t.split("{", 1)[0].strip() for t in texts if t.strip())
    if not markers["booked"]:
        raise BenchError(f"no utter_meal_booked response under {bot_dir}")
    return markers


def classify(reply: str, markers: dict[str, tuple[str, ...]]) -> str:
    """How the booking went, from the bot's answer to the "yes" (``other`` if unrecognised).

    Longer markers first: "fully booked. There is still room" is full, not booked.
    """
    ranked = sorted(
        ((m, outcome) for outcome, ms in markers.items() for m in ms if m),
        key=lambda pair: -len(pair[0]),
    )
    for marker, outcome in ranked:
        if marker in reply:
            return outcome
    return "other"


def outcomes(
    turns: Sequence[Turn], confirm_step: int, markers: dict[str, tuple[str, ...]]
) -> tuple[Counter[str], list[list[Turn]]]:
    """Outcome counts per conversation, and the transcripts of the unrecognised ones."""
    by_sender: dict[str, list[Turn]] = {}
    for t in turns:
        by_sender.setdefault(t.sender, []).append(t)
    counts: Counter[str] = Counter()
    odd: list[list[Turn]] = []
    for conv in by_sender.values():
        conv.sort(key=lambda t: t.step)
        confirm = [t for t in conv if t.step == confirm_step]
        outcome = classify(confirm[0].reply_text, markers) if confirm else "not reached"
        counts[outcome] += 1
        if outcome not in ("booked", "full"):
            odd.append(conv)
    return counts, odd


# --------------------------------------------------------------------------- results


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


# --------------------------------------------------------------------------- processes


def tree(pid: int) -> list[int]:
    """A process and all its descendants (Linux /proc; just ``pid`` elsewhere)."""
    if not Path("/proc").is_dir():
        return [pid]
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    return found


def tree_rss(pid: int) -> int:
    """Resident memory of a process and its descendants, in bytes (0 once it is gone)."""
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for p in tree(pid):
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
    return total


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            pass
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (0.0 without /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    # guest time is already counted in user time
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu() -> float:
    t = os.times()
    return t.user + t.system


class PeakRss:
    """Samples the RSS of process trees on a thread and keeps the peak of each."""

    def __init__(self, pids: dict[str, int], interval: float = 0.25) -> None:
        self.pids = pids
        self.peak = {name: 0 for name in pids}
        self._stop = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self._interval)

    def sample(self) -> None:
        for name, pid in self.pids.items():
            self.peak[name] = max(self.peak[name], tree_rss(pid))

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join()
        return self.peak


class Child:
    """A server started in its own process group, its output going to a log file.

    A file, not a pipe: nothing has to drain it, and it is there to read afterwards.
    """

    def __init__(self, name: str, argv: list[str], cwd: Path, env: dict[str, str], log: Path):
        self.name = name
        self.log = log
        self._out: IO[bytes] = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def check(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited (rc={self.proc.returncode})", self)

    def tail(self, lines: int = 30) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM to the whole process group, SIGKILL if it is still there after 30 s."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            except ProcessLookupError:
                pass
        self._out.close()


class BenchError(RuntimeError):
    def __init__(self, message: str, child: Optional[Child] = None) -> None:
        super().__init__(message)
        self.child = child


def port_free(port: int) -> bool:
    with socket.socket() as s:
        # As the servers do: a port with only TIME_WAIT connections left is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _require_free(port: int, option: str) -> None:
    if not port_free(port):
        raise BenchError(f"port {port} is in use: pick another with {option}")


def wait_ready(url: str, probe: str, children: Sequence[Child], also: Callable[[], bool]) -> float:
    """Seconds from the children's start until ``url`` answers ``probe`` and ``also()`` holds."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    answered = False
    while time.monotonic() < deadline:
        for child in children:
            child.check()
        if not answered:
            try:
                _, replies = post(url, "bench-ready", probe, timeout=10)
                answered = bool(replies)
            except OSError:
                pass
        if answered and also():
            return time.perf_counter() - min(c.started for c in children)
        time.sleep(0.1)
    raise BenchError(f"no answer from {url} within {READY_TIMEOUT_S} s", children[0])


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status == 200
    except OSError:
        return False


# --------------------------------------------------------------------------- the two bots


def stock_env() -> dict[str, str]:
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def stock_project(cache: Path, log: Path, fresh: bool) -> tuple[Path, Optional[float]]:
    """The stock project's trained model: from the cache, or ``rasa init`` (then cached).

    Returns (model, seconds spent training or None when cached). The cache is
    rebuilt when the Rasa version changes.
    """
    rasa_version = version("rasa")
    marker = cache / "rasa-version"
    models = sorted(cache.glob("models/*.tar.gz"))
    if not fresh and models and marker.exists() and marker.read_text().strip() == rasa_version:
        return models[-1], None
    build = cache.with_name(f"{cache.name}.building-{os.getpid()}")
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    print(f"anxin: rasa init --no-prompt (training the stock bot, ~1.5 min), log {log}", flush=True)
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        rc = subprocess.call(
            [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(build)],
            cwd=build,
            env=stock_env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    seconds = time.perf_counter() - t0
    if rc != 0 or not list(build.glob("models/*.tar.gz")):
        raise BenchError(f"rasa init failed (rc={rc}); see {log}")
    (build / "rasa-version").write_text(rasa_version + "\n")
    shutil.rmtree(cache, ignore_errors=True)
    build.rename(cache)
    return sorted(cache.glob("models/*.tar.gz"))[-1], seconds


def measure(
    name: str,
    children: dict[str, Child],
    url: str,
    ready: Callable[[], bool],
    probe: str,
    script: Callable[[int, str], Script],
    steps: Sequence[str],
    messages: int,
    concurrency: int,
) -> tuple[SideResult, Run, Run]:
    """Wait for the servers, warm up, then the sequential and the concurrent run.

    Peak RSS of each server's process tree is sampled throughout; the servers'
    CPU time is taken around the two runs. The children are stopped at the end.
    """
    rss = PeakRss({n: c.proc.pid for n, c in children.items()})
    try:
        ready_s = wait_ready(url, probe, list(children.values()), ready)
        run_id = uuid.uuid4().hex[:6]
        converse(url, [[script(0, f"{name}-warm-{run_id}")]])
        sequential, clients = plan(
            messages, concurrency, len(steps), lambda k: script(k, f"{name}-{run_id}-{k}")
        )
        machine, own, t0 = machine_busy_seconds(), _own_cpu(), time.perf_counter()
        cpu = {n: -tree_cpu(c.proc.pid) for n, c in children.items()}
        seq = converse(url, [sequential])
        conc = converse(url, clients)
        cpu = {n: cpu[n] + tree_cpu(c.proc.pid) for n, c in children.items()}
        other = machine_busy_seconds() - machine - (_own_cpu() - own) - sum(cpu.values())
        other_cores = max(0.0, other) / (time.perf_counter() - t0) if machine else None
        for c in children.values():
            c.check()
    finally:
        peak = rss.stop()
        for c in children.values():
            c.stop()
    side = SideResult(
        name,
        ready_s,
        summarise("sequential", seq.turns, seq.seconds),
        summarise(f"{concurrency} concurrent", conc.turns, conc.seconds),
        peak["rasa"],
        actions_rss=peak.get("actions"),
        cpu_ms={n: t * 1000 / max(1, len(seq.turns) + len(conc.turns)) for n, t in cpu.items()},
        other_cores=other_cores,
        steps=per_step(seq, conc, steps),
        run_id=run_id,
    )
    first = [t for t in seq.turns if t.sender == sequential[0].sender]
    side.notes.append(f"{name}, first conversation:\n" + format_transcript(first))
    return side, seq, conc


def bench_stock(
    cache: Path, tmp: Path, port: int, messages: int, concurrency: int, fresh: bool
) -> SideResult:
    _require_free(port, "--stock-port")
    model, trained = stock_project(cache, tmp / "stock-init.log", fresh)
    argv = [sys.executable, "-m", "rasa", "run", "--model", str(model)]
    argv += ["--interface", "127.0.0.1", "--port", str(port)]
    child = Child("stock rasa run", argv, cache, stock_env(), tmp / "stock-rasa.log")
    url = webhook(f"http://127.0.0.1:{port}")
    side, _, _ = measure(
        "stock",
        {"rasa": child},
        url,
        lambda: True,
        "hello",
        stock_script,
        STOCK_STEPS,
        messages,
        concurrency,
    )
    how = f"trained now in {trained:.0f} s" if trained else "cached"
    side.notes.insert(0, f"stock bot: {how}, {cache}")
    return side


def bench_anxin(
    tmp: Path, rasa_port: int, actions_port: int, messages: int, concurrency: int
) -> SideResult:
    from anxin.config import RunSettings
    from anxin.stack import child_env, processes, setup
    from care.config import CareSettings
    from care.services import build

    _require_free(rasa_port, "--anxin-port")
    _require_free(actions_port, "--actions-port")
    run = dataclasses.replace(
        RunSettings.from_env(), rasa_port=rasa_port, actions_port=actions_port
    )
    care_settings = dataclasses.replace(
        CareSettings.from_env(), db_url=f"sqlite:///{tmp / 'anxin-bench.db'}"
    )
    model = setup(run, care_settings)  # migrate, load the demo catalogue, train if needed

    care = build(care_settings)
    try:
        now = datetime.now(ZoneInfo(care_settings.timezone))

        def has_lunch(day: date) -> bool:
            slots = care.bookings.availability("meal", day, day, include_full=True)
            return any(s.details.get("meal") == "lunch" for s in slots)

        days = lunch_days(now, has_lunch)
    finally:
        care.close()
    if not days:
        raise BenchError("no lunch day among the day phrases: is the catalogue loaded?")

    env = {**os.environ, **child_env(run, care_settings)}
    env.pop("ANXIN_NOW", None)  # the real clock for the NLU too, as for the action server
    children = {
        name: Child(f"anxin {name}", argv, run.root, env, tmp / f"anxin-{name}.log")
        for name, argv in processes(run, model).items()
    }
    health = f"http://127.0.0.1:{actions_port}/health"
    side, seq, conc = measure(
        "anxin",
        children,
        webhook(f"http://127.0.0.1:{rasa_port}"),
        lambda: _http_ok(health),
        "你好",
        lambda k, sender: anxin_script(k, days, sender),
        ANXIN_STEPS,
        messages,
        concurrency,
    )

    markers = outcome_markers(run.root / "bot")
    side.outcomes, odd = outcomes(seq.turns + conc.turns, ANXIN_STEPS.index("confirm"), markers)
    care = build(care_settings)
    try:
        side.db_bookings = confirmed_meals(care, f"anxin-{side.run_id}-")
    finally:
        care.close()
    side.notes.insert(
        0,
        "anxin: lunch days booked in turn: "
        + ", ".join(f"{zh}/{en}" for zh, en in days)
        + f"; model {model.name}; database {care_settings.db_url}",
    )
    if odd:
        side.notes.append(
            f"anxin: {len(odd)} conversation(s) did not end in booked/full; the first:\n"
            + format_transcript(odd[0])
        )
    return side


def confirmed_meals(care: CareServices, sender_prefix: str) -> int:
    """Confirmed meal bookings of the REST senders whose id starts with the prefix."""
    from sqlalchemy import func, select

    from care import models as m

    with care.db.read() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(m.Booking)
                .join(m.ChannelIdentity, m.ChannelIdentity.person_id == m.Booking.elder_id)
                .where(
                    m.Booking.service == "meal",
                    m.Booking.status == "confirmed",
                    m.ChannelIdentity.channel == "rest",
                    m.ChannelIdentity.external_id.startswith(sender_prefix, autoescape=True),
                )
            )
            or 0
        )


# --------------------------------------------------------------------------- entry point


def dialogue_bench(
    messages: int,
    concurrency: int,
    stock_port: int,
    anxin_port: int,
    actions_port: int,
    keep: bool = False,
    only: Optional[str] = None,
    fresh_stock: bool = False,
) -> int:
    from anxin.config import RunSettings

    if messages < 1 or concurrency < 1:
        print("anxin: --messages and --concurrency must be at least 1", file=sys.stderr)
        return 2
    var_dir = RunSettings.from_env().var_dir
    tmp = Path(tempfile.mkdtemp(prefix="anxin-bench-dialogue-"))
    stock: Optional[SideResult] = None
    anxin: Optional[SideResult] = None
    try:
        if only in (None, "stock"):
            stock = bench_stock(
                var_dir / "bench" / "stock-bot",
                tmp,
                stock_port,
                messages,
                concurrency,
                fresh_stock,
            )
            print(f"anxin: stock bot done ({stock.concurrent.per_second:.1f} msg/s)", flush=True)
        if only in (None, "anxin"):
            anxin = bench_anxin(tmp, anxin_port, actions_port, messages, concurrency)
    except BenchError as exc:
        print(f"anxin: bench dialogue: {exc}", file=sys.stderr)
        if exc.child is not None:
            print(f"--- last lines of {exc.child.log}:\n{exc.child.tail()}", file=sys.stderr)
        keep = True
        return 1
    finally:
        if keep:
            print(f"anxin: logs and the throwaway database are in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    for side in (stock, anxin):
        if side is not None:
            print("\n" + "\n".join(side.notes))
            print(f"{side.name}, latency per step:\n{format_steps(side)}")
    print()
    print(format_table(stock, anxin))
    print()
    for line in verdicts(stock, anxin):
        print(line)
    broken = any(s.sequential.errors + s.concurrent.errors for s in (stock, anxin) if s)
    return 1 if broken else 0
