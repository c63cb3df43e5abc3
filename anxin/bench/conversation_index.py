"""``anxin bench conversation-index``: what the conversation summary costs to keep and to ask.

A throwaway database (a temporary SQLite file, or a temporary schema in PostgreSQL)
gets ``--conversations`` conversations of Rasa events (1-5 turns each, a year of
them), then: the first catch-up over all of them (a deployment upgrading), a catch-up
after a few new messages (the steady state: one per console search), one with nothing
new, console searches over all conversations, and a retention purge of half of them.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Optional

from sqlalchemy import create_engine, insert, text

from anxin.bench.booking import bench_database
from care import migrate
from care.config import CareSettings
from care.conversation_index import catch_up
from care.conversation_log import ConversationLog, Filters
from care.conversation_retention import Retention, purge
from care.models_review import ConversationEvent
from care.senders import sender_id
from care.services import build

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
START = datetime(2025, 11, 28, tzinfo=timezone.utc)
INTENTS = ("greet", "book_meal", "affirm", "list_bookings", "feeling_lonely", "thank")
CHANNELS = ("wechat", "telegram", "rest", "voice")


def conversation(n: int, at: float) -> list[dict[str, Any]]:
    """Conversation ``n``: a session and 1-5 turns, as Rasa's events."""
    sender = bench_sender(n)
    events: list[dict[str, Any]] = [
        {"event": "action", "timestamp": at, "name": "action_session_start"},
        {"event": "session_started", "timestamp": at},
        {"event": "action", "timestamp": at, "name": "action_listen"},
    ]
    for k in range(1 + n % 5):
        t = at + 30 * k
        intent = INTENTS[(n + k) % len(INTENTS)]
        events += [
            {"event": "user", "timestamp": t, "text": f"我想订午饭 {n} {k}",
             "input_channel": CHANNELS[n % len(CHANNELS)], "message_id": f"bench-{n}-{k}",
             "parse_data": {"intent": {"name": intent, "confidence": (n * 7 + k) % 100 / 100},
                            "entities": [{"entity": "language", "value": "zh"}]}},
            {"event": "action", "timestamp": t, "name": "meal_form"},
            {"event": "bot", "timestamp": t, "text": "好的，订好了", "metadata": {}},
            {"event": "action", "timestamp": t, "name": "action_listen"},
        ]  # fmt: skip
    if n % 50 == 0:
        events.append({"event": "slot", "timestamp": at, "name": "handed_off", "value": True})
    return [{"sender_id": sender, **e} for e in events]


def bench_sender(n: int) -> str:
    """Conversation ``n``'s sender id, as its channel gives it to Rasa (care.senders)."""
    return sender_id(CHANNELS[n % len(CHANNELS)], f"bench-{n}")


def _write(care: Any, events: list[dict[str, Any]]) -> None:
    rows = [{"sender_id": e["sender_id"], "data": json.dumps(e, ensure_ascii=False)}
            for e in events]  # fmt: skip
    for i in range(0, len(rows), 5000):
        with care.db.write_core() as conn:
            conn.execute(insert(ConversationEvent.__table__), rows[i : i + 5000])


def _timed(work: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def run_one(name: str, conversations: int) -> list[str]:
    """Markdown table rows for one database."""
    with tempfile.TemporaryDirectory(prefix="anxin-bench-index-") as tmp:
        label, url, schema = bench_database(name, Path(tmp))
        care = build(CareSettings(db_url=url))
        try:
            migrate.upgrade(care.db)
            return _measure(care, label, conversations)
        finally:
            care.close()
            if schema:
                with create_engine(url.split("?")[0], future=True).begin() as conn:
                    conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def _measure(care: Any, label: str, conversations: int) -> list[str]:
    span = 365 * 86400
    events: list[dict[str, Any]] = []
    for n in range(conversations):
        events += conversation(n, START.timestamp() + span * n / conversations)
    _write(care, events)
    for n in range(0, conversations, 20):  # an alert in one conversation of 20
        care.alerts.raise_alert("handoff", "要找人工", conversation_id=bench_sender(n),
                                channel=CHANNELS[n % len(CHANNELS)])  # fmt: skip
    rows = [f"| {label} | events written | {len(events):,} ({conversations:,} conversations) |"]
    seconds, done = _timed(lambda: catch_up(care.db))
    rows.append(f"| {label} | first catch-up (all) | {seconds:.1f} s, "
                f"{done.events / seconds:,.0f} events/s |")  # fmt: skip
    steady = []
    for round_ in range(5):
        new = []
        for n in range(50):  # 50 conversations, one turn each, between two searches
            at = START.timestamp() + span + round_ * 60 + n
            new += conversation(n * 97 % conversations, at)[3:7]
        _write(care, new)
        seconds, _ = _timed(lambda: catch_up(care.db))
        steady.append(seconds)
    rows.append(f"| {label} | catch-up, 200 new events of 50 conversations | "
                f"median {statistics.median(steady) * 1000:.0f} ms |")  # fmt: skip
    seconds, _ = _timed(lambda: catch_up(care.db))
    rows.append(f"| {label} | catch-up, nothing new | {seconds * 1000:.1f} ms |")
    log = ConversationLog(care.db, care.tz, 0.6)
    for title, f in (
        ("list, no filter", Filters()),
        ("intent = feeling_lonely", Filters(intent="feeling_lonely")),
        ("channel = voice, low confidence", Filters(channel="voice", low_confidence=True)),
        ("one month (dates)", Filters(date_from=date(2026, 3, 1), date_to=date(2026, 3, 31))),
        ("handed off, no alert", Filters(handed_off=True, has_alert=False)),
        ("search text + channel", Filters(q="午饭 12", channel="wechat")),
    ):
        seconds, page = _timed(lambda f=f: log.search(f, 1, 25))  # type: ignore[misc]
        rows.append(f"| {label} | search: {title} | {seconds * 1000:.0f} ms, "
                    f"total {page.total:,} |")  # fmt: skip
    cutoff_now = START + timedelta(days=365 + 183)  # half the year is past retention
    seconds, purged = _timed(lambda: purge(care.db, cutoff_now, Retention(days=365)))
    rows.append(f"| {label} | retention purge | {seconds:.1f} s, "
                f"{purged.conversations:,} conversations, {purged.events:,} events |")  # fmt: skip
    return rows


def conversation_index_bench(
    databases: list[str], conversations: int, write: Optional[str] = None
) -> int:
    table = ["| database | what | result |", "|---|---|---|"]
    for name in databases:
        table += run_one(name, conversations)
        print("\n".join(table), flush=True)
    if write:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        command = f"anxin bench conversation-index --conversations {conversations}"
        with open(write, "a", encoding="utf-8") as out:
            out.write(f"\n`{command}` ({stamp}):\n\n" + "\n".join(table) + "\n")
    return 0
