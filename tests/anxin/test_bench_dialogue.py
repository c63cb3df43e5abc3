"""The parts of ``anxin bench dialogue`` that need no server: maths, scripts, the table.

Timings belong in the benchmark itself (docs/benchmarks.md); nothing here starts
Rasa, and nothing asserts how fast anything is.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest

from anxin.bench.conversations import (
    ANXIN_STEPS,
    DAY_PHRASES,
    STOCK_SCRIPT,
    anxin_script,
    classify,
    lunch_days,
    outcome_markers,
    outcomes,
    plan,
    stock_script,
)
from anxin.bench.dialogue_report import (
    SideResult,
    format_steps,
    format_table,
    format_transcript,
    per_step,
    verdicts,
)
from anxin.bench.rest import (
    RestResult,
    Run,
    Script,
    Turn,
    converse,
    percentile,
    summarise,
    webhook,
)
from anxin.bench.servers import machine_busy_seconds, tree_cpu, tree_rss
from care.when import parse_when

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
WEDNESDAY = datetime(2026, 11, 25, 10, 0, tzinfo=SHANGHAI)
FRIDAY = datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)


def not_sunday(day: Any) -> bool:
    return day.weekday() != 6


# ---------------------------------------------------------------- percentiles and summaries


def test_percentile_is_nearest_rank() -> None:
    values = list(range(100, 0, -1))  # 1..100, unsorted
    assert percentile(values, 50) == 50
    assert percentile(values, 95) == 95
    assert percentile(values, 100) == 100
    assert percentile([7.0], 95) == 7.0
    # 10 values: the 95th percentile is the largest (rank ceil(9.5) = 10), not the 9th.
    assert percentile(list(range(1, 11)), 95) == 10
    assert math.isnan(percentile([], 95))
    with pytest.raises(ValueError):
        percentile([1.0], 0)


def turn(sender: str, step: int, seconds: float, replies: Any = ("ok",)) -> Turn:
    as_list = None if replies is None else [{"text": r} for r in replies]
    return Turn(sender, step, f"m{step}", seconds, as_list, "" if as_list is not None else "boom")


def test_summary_counts_unanswered_and_failed_and_keeps_latency_to_answers() -> None:
    turns = [turn("a", i, (i + 1) / 10) for i in range(10)]
    turns.append(turn("a", 10, 5.0, replies=[]))  # answered with nothing
    turns.append(turn("b", 0, 60.0, replies=None))  # the request failed
    r = summarise("sequential", turns, seconds=4.0)
    assert r.messages == 12
    assert r.per_second == 3.0
    assert (r.unanswered, r.errors) == (1, 1)
    assert r.p50_ms == pytest.approx(600.0)  # median of 0.1..1.0 and 5.0
    assert r.p95_ms == pytest.approx(5000.0)  # the failed 60 s request is not a latency
    assert RestResult("x", 0, 0.0, math.nan, math.nan).per_second == 0.0


# ---------------------------------------------------------------- scripts


def test_plan_makes_whole_conversations_numbered_once() -> None:
    seen: list[int] = []

    def make(k: int) -> Script:
        seen.append(k)
        return Script(f"s{k}", ("a",) * 6)

    sequential, clients = plan(200, 20, 6, make)
    assert len(sequential) == 34  # ceil(200 / 6)
    assert len(clients) == 20 and all(len(c) == 2 for c in clients)  # ceil(10 / 6)
    assert sorted(seen) == list(range(34 + 40))
    # The first round of the concurrent run is conversations 34..53, one per client.
    assert [c[0].sender for c in clients] == [f"s{k}" for k in range(34, 54)]
    assert plan(1, 50, 6, make)[0] and all(len(c) == 1 for c in plan(1, 50, 6, make)[1])


def test_anxin_conversations_book_lunch_in_both_languages_on_the_day_said() -> None:
    days = lunch_days(WEDNESDAY, not_sunday)
    assert days == list(DAY_PHRASES)  # Wednesday: no phrase lands on a Sunday
    booked_on = set()
    for k in range(2 * len(days)):
        script = anxin_script(k, days, f"s{k}")
        assert script.sender == f"s{k}" and len(script.messages) == len(ANXIN_STEPS)
        greet, book, name, yes, listing, thanks = script.messages
        assert all(m.strip() for m in script.messages)
        when = parse_when(book, WEDNESDAY)
        assert when.date is not None and when.ambiguous is None, book
        booked_on.add(when.date)
        if k % 2 == 0:
            assert (greet, yes, listing) == ("你好", "对", "我都约了啥")
            assert "午饭" in book and "食堂" in book
            assert all("\u4e00" <= ch <= "\u9fff" for ch in name)
        else:
            assert (greet, yes, listing) == ("hello", "yes", "what have I booked")
            assert "lunch" in book and "canteen" in book
            assert name.replace(" ", "").isalpha()
    # Tomorrow, the day after and Monday..Saturday of next week: eight lunch days.
    assert len(booked_on) == 8 and all(d.weekday() != 6 for d in booked_on)
    with pytest.raises(ValueError):
        anxin_script(0, [], "s")


def test_lunch_days_leave_out_days_without_lunch() -> None:
    # On a Friday 后天 is Sunday: no lunch, so that phrase is not used.
    days = lunch_days(FRIDAY, not_sunday)
    assert ("后天", "the day after tomorrow") not in days and ("明天", "tomorrow") in days
    assert lunch_days(WEDNESDAY, lambda day: False) == []


def test_stock_script_speaks_the_stock_domain() -> None:
    script = stock_script(3, "x")
    assert script == Script("x", STOCK_SCRIPT)
    assert script.messages[0] == "hello" and script.messages[-1] == "bye"


# ---------------------------------------------------------------- outcomes


@pytest.fixture(scope="module")
def markers() -> dict[str, tuple[str, ...]]:
    return outcome_markers(ROOT / "bot")


def test_outcomes_are_read_from_the_domain_responses(markers) -> None:
    assert classify("订好了！到时候见。", markers) == "booked"
    assert classify("All booked! See you then.", markers) == "booked"
    assert classify("对不起，那顿饭已经订满了。", markers) == "full"
    assert (
        classify("I'm sorry, that meal is fully booked. There is still room on Friday.", markers)
        == "full"
    )
    assert classify("您已经订过这顿饭了，不用再订。", markers) == "already booked"
    assert classify("咱们第一次订饭，请问您怎么称呼？", markers) == "other"


def test_outcomes_count_one_per_conversation_and_keep_the_odd_ones(markers) -> None:
    confirm = ANXIN_STEPS.index("confirm")
    turns = [
        turn("a", confirm, 0.1, ["订好了！到时候见。"]),
        turn("a", 0, 0.1),
        turn("b", confirm, 0.1, ["All booked! See you then."]),
        turn("c", confirm, 0.1, ["I'm sorry, that meal is fully booked."]),
        turn("d", confirm, 0.1, ["Sorry, I did not get that."]),
        turn("e", 0, 0.1, None),  # failed before the "yes"
    ]
    counts, odd = outcomes(turns, confirm, markers)
    assert counts == Counter({"booked": 2, "full": 1, "other": 1, "not reached": 1})
    assert sorted(conv[0].sender for conv in odd) == ["d", "e"]
    failed = next(conv for conv in odd if conv[0].sender == "e")
    assert format_transcript(failed) == "  > m0\n  < boom"


# ---------------------------------------------------------------- the table


def side(name: str, seq_p95: float, conc_per_s: float, **extra: Any) -> SideResult:
    return SideResult(
        name,
        ready_s=9.5,
        sequential=RestResult("sequential", 200, 20.0, 60.0, seq_p95),
        concurrent=RestResult("20 concurrent", 240, 240 / conc_per_s, 900.0, 1900.0),
        rasa_rss=1_100 * 2**20,
        **extra,
    )


def test_table_puts_both_bots_side_by_side() -> None:
    stock = side("stock", 96.0, 16.0, cpu_ms={"rasa": 49.4}, other_cores=0.1)
    anxin = side(
        "anxin",
        140.0,
        40.0,
        actions_rss=64 * 2**20,
        outcomes=Counter({"booked": 73, "full": 1}),
        db_bookings=73,
        cpu_ms={"rasa": 80.0, "actions": 34.2},
    )
    table = format_table(stock, anxin)
    lines = table.splitlines()
    assert lines[0] == "| | stock `rasa init` bot | Anxin |"
    assert all(line.count("|") == 4 for line in lines)
    assert "| sequential p50 / p95 | 60 ms / 96 ms | 60 ms / 140 ms |" in table
    assert "| 20 concurrent: messages, msg/s | 240, 16.0 | 240, 40.0 |" in table
    assert "| peak RSS, Rasa server | 1100 MiB | 1100 MiB |" in table
    assert "| peak RSS, action server | — | 64 MiB |" in table
    assert "| lunch bookings (conversations) | — | 73 booked, 1 full; 73 in the database |" in table
    assert "| server CPU per message | 49 ms | 114 ms (rasa 80 + actions 34) |" in table
    assert "| other work on the machine during the runs | 0.10 cores | — |" in table

    met = verdicts(stock, anxin)
    assert met[0] == "sequential p95 140 ms (target ≤ 150 ms): met"
    assert "= 2.5× the stock bot's, measured in this run" in met[1] and met[1].endswith(": met")


def test_verdicts_say_not_met_and_fall_back_to_the_quoted_stock_figure() -> None:
    anxin = side("anxin", 259.0, 24.0)
    met = verdicts(None, anxin)
    assert met[0].endswith("NOT met")
    assert "1.5× the stock bot's as quoted in the issue (16.0 msg/s" in met[1]
    assert met[1].endswith("NOT met")
    assert verdicts(side("stock", 1, 1), None) == []
    assert format_table(None, anxin).splitlines()[0] == "| | Anxin |"


def test_steps_are_summarised_per_step_for_both_runs() -> None:
    seq = Run([turn("a", i % 2, 0.1 * (i + 1)) for i in range(4)], seconds=1.0)
    conc = Run([turn("b", 0, 1.0), turn("c", 0, 3.0), turn("b", 1, 2.0)], seconds=2.0)
    steps = per_step(seq, conc, ("greet", "book"))
    assert [(n, s.messages, c.messages) for n, s, c in steps] == [("greet", 2, 2), ("book", 2, 1)]
    assert steps[0][1].p95_ms == pytest.approx(300.0) and steps[0][2].p95_ms == 3000.0
    anxin = side("anxin", 1, 1, steps=steps)
    lines = format_steps(anxin).splitlines()
    assert lines[0].split() == "step sequential p50 / p95 20 concurrent p50 / p95".split()
    assert lines[2].split() == [
        "book",
        "300",
        "ms",
        "/",
        "400",
        "ms",
        "2000",
        "ms",
        "/",
        "2000",
        "ms",
    ]


# ---------------------------------------------------------------- the client side


class Echo(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        replies = [] if body["message"] == "silence" else [{"text": body["message"].upper()}]
        if body["message"] == "crash":
            self.send_error(500)
            return
        data = json.dumps(replies).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield webhook(f"http://127.0.0.1:{server.server_address[1]}/")
    server.shutdown()
    server.server_close()


def test_converse_runs_each_clients_conversations_in_order(echo_url) -> None:
    clients = [[Script(f"c{c}-{j}", ("hi", "silence", "bye")) for j in range(2)] for c in range(5)]
    clients.append([Script("broken", ("hi", "crash", "never sent"))])
    run = converse(echo_url, clients)
    assert run.seconds > 0
    by_sender: dict[str, list[Turn]] = {}
    for t in run.turns:
        by_sender.setdefault(t.sender, []).append(t)
    assert len(by_sender) == 11
    assert [(t.step, t.reply_text) for t in by_sender["c3-1"]] == [(0, "HI"), (1, ""), (2, "BYE")]
    broken = by_sender["broken"]
    assert [t.text for t in broken] == ["hi", "crash"] and broken[1].replies is None
    assert "500" in broken[1].error
    summary = summarise("x", run.turns, run.seconds)
    assert (summary.messages, summary.unanswered, summary.errors) == (32, 10, 1)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_process_tree_memory_and_cpu_of_this_process() -> None:
    assert tree_rss(os.getpid()) > 10 * 2**20
    assert tree_cpu(os.getpid()) > 0
    assert machine_busy_seconds() >= tree_cpu(os.getpid())
    assert tree_rss(2**22 + 12345) == 0  # gone (or never was): nothing, no error
