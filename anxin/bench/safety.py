"""``anxin bench safety``: labelled messages through the real stack, and how safety did.

The stack is what ``anxin run`` starts (anxin/stack.py: Rasa with the REST channel and the
action server; no console), on free ports of its own, on the real clock, with a throwaway
SQLite database (or a throwaway PostgreSQL schema with ``--db postgresql``) holding the
demo catalogue. Tokens are the environment's, else made up for the run.

Before any message, every conversation gets its own person: a REST sender who is a known
elder, with one family member (active link, ``notify`` on) — so that "family told" can be
read from the outbox. A case's conversation sends the user lines of its context, then the
case's message; each follow-up of a possible danger is a conversation of its own (context,
the case's message, the follow-up). ``--concurrency`` conversations are in flight at once.

Outcomes are read from the database once every conversation is over: the conversation's
alert rows and the family member's urgent outbox rows, each given to the message it
followed (anxin/bench/safety_score.py). Scoring and the report are pure
(safety_score.py, safety_report.py); the cases are loaded and checked by safety_cases.py.
Nothing here logs or reports a message's text: cases are named by id.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import secrets
import socket
import sys
import time
import urllib.error
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Optional, Sequence

from anxin.bench.rest import post, webhook
from anxin.bench.safety_cases import (
    DEFAULT_CASES,
    LANGS,
    Case,
    CaseError,
    load_cases,
    select,
)
from anxin.bench.safety_report import Meta, format_report
from anxin.bench.safety_score import (
    CaseResult,
    Event,
    FollowupResult,
    TurnResult,
    record,
    split_by_turn,
    targets,
)
from anxin.bench.servers import Child, http_ok, in_scratch, wait_ready

if TYPE_CHECKING:
    from care.services import CareServices

CHANNEL = "rest"
TOKENS = ("ANXIN_RASA_TOKEN", "ANXIN_REST_TOKEN", "ANXIN_ACTION_TOKEN")
# An alert or a family message counts for a message when stored this soon after it (the
# target is 2 s; later ones still count, and their time is reported). A possible danger's
# check escalates by itself only after minutes: never inside this window.
WINDOW_S = 10.0
PROGRESS_EVERY_S = 30.0
ELDERS = {"zh": ("王秀英", "李德明", "张桂兰", "刘振华"),
          "en": ("Margaret Hall", "Arthur Lee", "Edith Moore", "Harold King")}  # fmt: skip
FAMILY = {"zh": ("王丽", "李强"), "en": ("Susan Hall", "David Lee")}


@dataclasses.dataclass
class Options:
    cases: Optional[str] = None  # default: anxin/bench/cases/safety.yml
    only: Optional[str] = None  # zh | en
    limit: Optional[int] = None
    concurrency: int = 4
    db: str = "sqlite"
    rasa_port: int = 0  # 0: a free port
    actions_port: int = 0
    timeout: float = 60.0  # seconds allowed per message
    write: Optional[str] = None
    records: Optional[str] = None  # one JSON line per case (ids and outcomes, never a text)
    keep: bool = False


def command_line(o: Options) -> str:
    parts = ["anxin bench safety"]
    if o.cases:
        parts.append(f"--cases {o.cases}")
    if o.only:
        parts.append(f"--only {o.only}")
    if o.limit:
        parts.append(f"--limit {o.limit}")
    if o.concurrency != Options.concurrency:
        parts.append(f"--concurrency {o.concurrency}")
    if o.db != Options.db:
        parts.append(f"--db {o.db if '://' not in o.db else 'URL'}")  # no password in a report
    if o.timeout != Options.timeout:
        parts.append(f"--timeout {o.timeout:g}")
    if o.write:
        parts.append(f"--write {o.write}")
    return " ".join(parts)


# --------------------------------------------------------------------------- conversations


@dataclasses.dataclass(frozen=True)
class Conversation:
    case: int  # index in the cases run
    followup: int  # 0: the case's own conversation; n: its n-th follow-up
    sender: str  # the REST sender (an elder of the bench's own)
    lang: str
    messages: tuple[str, ...]  # context's user lines, the case's message, [the follow-up]
    judged: int  # index of the case's message in ``messages``


@dataclasses.dataclass
class Played:
    """What was sent in a conversation and when; it stops at the first failed request."""

    conversation: Conversation
    sent: list[datetime] = dataclasses.field(default_factory=list)  # UTC, before each POST
    seconds: list[float] = dataclasses.field(default_factory=list)
    replies: list[str] = dataclasses.field(default_factory=list)
    error: str = ""


def conversations(cases: Sequence[Case], run_id: str) -> list[Conversation]:
    found = []
    for i, c in enumerate(cases):
        sender = f"safety-{run_id}-{c.id}"
        before = c.user_context
        found.append(Conversation(i, 0, sender, c.lang, (*before, c.text), len(before)))
        for n, f in enumerate(c.followups, 1):
            found.append(
                Conversation(i, n, f"{sender}-f{n}", c.lang, (*before, c.text, f.text), len(before))
            )
    return found


def play(url: str, conversation: Conversation, timeout: float) -> Played:
    played = Played(conversation)
    for text in conversation.messages:
        played.sent.append(datetime.now(timezone.utc))
        t0 = time.perf_counter()
        try:
            _, replies = post(url, conversation.sender, text, timeout)
        except urllib.error.HTTPError as exc:
            played.error = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:  # refused, timed out, not JSON
            played.error = type(exc).__name__
        if played.error:
            played.sent.pop()
            break
        played.seconds.append(time.perf_counter() - t0)
        played.replies.append(
            " ".join(str(r.get("text", "")) for r in replies if isinstance(r, dict))
        )
    return played


def play_all(
    url: str, plan: Sequence[Conversation], concurrency: int, timeout: float
) -> list[Played]:
    """Every conversation, ``concurrency`` at once; progress on stderr every 30 s."""
    done: list[Played] = []
    last = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(play, url, c, timeout) for c in plan]
        for future in concurrent.futures.as_completed(futures):
            done.append(future.result())
            if time.monotonic() - last >= PROGRESS_EVERY_S:
                last = time.monotonic()
                print(f"anxin: bench safety: {len(done)}/{len(plan)} conversations",
                      file=sys.stderr, flush=True)  # fmt: skip
    return done


# --------------------------------------------------------------------------- judging


def judge(
    cases: Sequence[Case],
    played: Iterable[Played],
    events: dict[str, list[Event]],
    ambulance: str,
    window_s: float = WINDOW_S,
) -> list[CaseResult]:
    """Each case's result from its conversations and the events stored for each sender
    (alerts by kind; ``family`` for an urgent message to the family)."""
    results = [CaseResult(c) for c in cases]
    for p in played:
        conv = p.conversation
        result = results[conv.case]
        per_turn = split_by_turn(p.sent, events.get(conv.sender, []), window_s)

        if conv.followup == 0:
            result.turn = _turn(p, per_turn, conv.judged, ambulance)
            result.context_kinds = tuple(
                e.kind for t in per_turn[: conv.judged] for e in t if e.kind != "family"
            )
            result.error = p.error
        else:
            f = FollowupResult(conv.followup, cases[conv.case].followups[conv.followup - 1].expect)
            f.first = _turn(p, per_turn, conv.judged, ambulance)
            f.after = _turn(p, per_turn, conv.judged + 1, ambulance)
            f.error = p.error
            result.followups.append(f)
    for r in results:
        r.followups.sort(key=lambda f: f.index)
    return results


def _turn(p: Played, per_turn: list[list[Event]], i: int, ambulance: str) -> Optional[TurnResult]:
    """Message ``i`` of a conversation, or None when it was never answered."""
    if i >= len(p.replies):
        return None
    return TurnResult.of(p.sent[i], p.seconds[i], p.replies[i], per_turn[i], ambulance)


# --------------------------------------------------------------------------- the database


def seed_people(care: CareServices, plan: Sequence[Conversation]) -> dict[str, int]:
    """An elder for each sender, with a family member to tell: sender → that member's id.

    Made through care.people's own steps (a person registered behind a channel identity, a
    link requested and consented to by the elder), in one transaction.
    """
    from care.audit import Actor
    from care.people import consent_link_in, register_in, request_link_in

    family_of: dict[str, int] = {}
    now = care.clock()
    with care.db.write() as s:
        for k, conv in enumerate(plan):
            lang = conv.lang
            elder = register_in(s, now, "elder", CHANNEL, conv.sender,
                                ELDERS[lang][k % len(ELDERS[lang])], lang)  # fmt: skip
            # as an enrolled elder has agreed: whether family is told must not hang on it
            elder.consent_data = elder.consent_family_notify = True
            relative = register_in(s, now, "family", CHANNEL, f"{conv.sender}-family",
                                   FAMILY[lang][k % len(FAMILY[lang])], lang)  # fmt: skip
            link = request_link_in(s, now, elder.id, relative.id, "daughter", notify=True,
                                   actor=Actor.person(relative.id))  # fmt: skip
            consent_link_in(s, now, link, Actor.person(elder.id))
            family_of[conv.sender] = relative.id
    return family_of


def _chunks(items: Sequence[object], size: int = 500) -> Iterable[Sequence[object]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def stored_events(care: CareServices, family_of: dict[str, int]) -> dict[str, list[Event]]:
    """Sender → its conversation's alerts (by kind) and its family's urgent messages."""
    from sqlalchemy import select as query

    from care import models as m
    from care.senders import sender_id

    by_conversation = {sender_id(CHANNEL, sender): sender for sender in family_of}
    by_family = {person: sender for sender, person in family_of.items()}
    events: dict[str, list[Event]] = {sender: [] for sender in family_of}
    with care.db.read() as s:
        for chunk in _chunks(list(by_conversation)):
            rows = s.execute(
                query(m.Alert.conversation_id, m.Alert.kind, m.Alert.created_at)
                .where(m.Alert.conversation_id.in_(chunk))
                .order_by(m.Alert.id)
            )
            for conversation_id, kind, at in rows:
                events[by_conversation[conversation_id]].append(Event(at, kind))
        for chunk in _chunks(list(by_family)):
            rows = s.execute(
                query(m.Notification.person_id, m.Notification.created_at)
                .where(m.Notification.person_id.in_(chunk), m.Notification.urgent.is_(True))
                .order_by(m.Notification.id)
            )
            for person_id, at in rows:
                events[by_family[person_id]].append(Event(at, "family"))
    return events


# --------------------------------------------------------------------------- the stack


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench(tmp: Path, o: Options, cases: Sequence[Case], cases_path: str,
          digest: str) -> tuple[list[CaseResult], Meta]:  # fmt: skip
    from anxin.bench.booking import bench_database
    from anxin.bench.servers import require_free
    from anxin.bench.voice_call_report import commit_of
    from anxin.config import RunSettings
    from anxin.stack import child_env, processes, setup, write_credentials, write_endpoints
    from care.clock import NOW_ENV, OFFSET_ENV
    from care.config import CareSettings
    from care.services import build

    rasa_port, actions_port = o.rasa_port or free_port(), o.actions_port or free_port()
    require_free(rasa_port, "--rasa-port")
    require_free(actions_port, "--actions-port")
    # In this process's environment too: the REST client sends ANXIN_REST_TOKEN from it.
    os.environ.update({name: os.environ.get(name) or secrets.token_urlsafe(24) for name in TOKENS})
    for pinned in (NOW_ENV, OFFSET_ENV):  # the real clock: alert times against send times
        os.environ.pop(pinned, None)
    label, db_url, schema = bench_database(o.db, tmp)
    care_settings = dataclasses.replace(CareSettings.from_env(), db_url=db_url, clock_offset=None)
    run = dataclasses.replace(RunSettings.from_env(), rasa_port=rasa_port,
                              actions_port=actions_port)  # fmt: skip
    children: dict[str, Child] = {}
    try:
        model = setup(run, care_settings)  # migrate, the demo catalogue, train if needed
        plan = conversations(cases, secrets.token_hex(3))
        care = build(care_settings)
        try:
            family_of = seed_people(care, plan)
        finally:
            care.close()
        env = {**os.environ, **child_env(run, care_settings)}
        files = dataclasses.replace(run, var_dir=tmp)  # not the shared var/
        credentials, endpoints = write_credentials(files, env), write_endpoints(files, env)
        for name, argv in processes(run, model, credentials, endpoints).items():
            children[name] = Child(f"anxin {name}", argv, run.root, env, tmp / f"anxin-{name}.log")
        url = webhook(f"http://127.0.0.1:{rasa_port}")
        health = f"http://127.0.0.1:{actions_port}/health"
        ready_s = wait_ready(url, "你好", list(children.values()), lambda: http_ok(health))

        began = time.monotonic()
        played = play_all(url, plan, o.concurrency, o.timeout)
        seconds = time.monotonic() - began
        last = max((at for p in played for at in p.sent), default=datetime.now(timezone.utc))
        settle = WINDOW_S - (datetime.now(timezone.utc) - last).total_seconds()
        time.sleep(max(0.0, settle))  # what the last messages caused is stored by now
        notes = [f"The stack was ready in {ready_s:.0f} s."]
        for name, child in children.items():
            if child.proc.poll() is not None:
                notes.append(f"**{name} exited during the run (rc={child.proc.returncode}).**")
        care = build(care_settings)
        try:
            events = stored_events(care, family_of)
        finally:
            care.close()
    finally:
        for child in children.values():
            child.stop()
        if schema:
            from sqlalchemy import create_engine, text

            with create_engine(db_url.split("?")[0], future=True).begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

    results = judge(cases, played, events, care_settings.ambulance)
    broken = [p for p in played if p.error]
    if broken:
        kinds = sorted({p.error for p in broken})
        notes.append(f"{len(broken)} conversation(s) broke off ({', '.join(kinds)}).")
    meta = Meta(
        command=command_line(o),
        when=f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        commit=commit_of(run.root),
        cases_path=_shown(cases_path, run.root),
        cases_digest=digest,
        database=label,
        model=model.name,
        concurrency=o.concurrency,
        seconds=seconds,
        conversations=len(played),
        messages=sum(len(p.sent) for p in played),
        window_s=WINDOW_S,
        ambulance=care_settings.ambulance,
        notes=notes,
    )
    return results, meta


def _shown(path: str, root: Path) -> str:
    """The cases file relative to the checkout when it is in it (the report is shared)."""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return Path(path).name


# --------------------------------------------------------------------------- entry point


def safety_bench(o: Options) -> int:
    """0 when the targets are met (every emergency and crisis caught, false alarms ≤ 3 %,
    every conversation run); 1 otherwise or when the bench broke; 2 for bad options or an
    unusable case file."""
    if o.concurrency < 1 or o.timeout <= 0 or (o.limit is not None and o.limit < 1):
        print("anxin: --concurrency and --limit at least 1, --timeout positive", file=sys.stderr)
        return 2
    if o.only is not None and o.only not in LANGS:
        print("anxin: --only zh or en", file=sys.stderr)
        return 2
    if o.db not in ("sqlite", "postgresql") and "://" not in o.db:
        print("anxin: --db sqlite, postgresql or a PostgreSQL URL", file=sys.stderr)
        return 2
    path = Path(o.cases) if o.cases else DEFAULT_CASES
    try:
        loaded = load_cases(path)
    except CaseError as exc:
        print(f"anxin: invalid cases: {exc}", file=sys.stderr)
        return 2
    cases = select(loaded.cases, o.only, o.limit)
    if not cases:
        print("anxin: no case to run (check --only)", file=sys.stderr)
        return 2
    out = in_scratch("safety", "safety", o.keep,
                     lambda tmp: bench(tmp, o, cases, str(path), loaded.digest))  # fmt: skip
    if out is None:
        return 1
    results, meta = out
    report = format_report(results, meta)
    print(report)
    if o.records:
        with open(o.records, "w", encoding="utf-8") as f:
            for r in results:
                f.write(json.dumps(record(r), ensure_ascii=False) + "\n")
    if o.write:
        from anxin.bench.voice_call_report import append

        append(Path(o.write), report)
        print(f"anxin: appended to {o.write}")
    return 0 if targets(results).met else 1
