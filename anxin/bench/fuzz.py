"""``anxin bench fuzz``: thousands of malformed requests against every route of the real stack.

The stack is what ``anxin run`` starts (anxin/stack.py), on ports of its own, all on
127.0.0.1: Rasa with the REST channel, WeChat (safe mode, which also takes plaintext
callbacks), Telegram (webhook with its secret), voice over HTTP and WebSocket, the
AudioSocket bridge on a TCP port; the action server; the staff console. The database is
a throwaway SQLite file, or a throwaway schema in PostgreSQL with ``--db postgresql``.
WeChat's and Telegram's servers are the loopback fakes the tests use
(anxin/bench/wechat_fake.py, anxin/bench/telegram_fake.py), loaded with the malformed
audio files a voice message or note may point to.

Tokens: ANXIN_RASA_TOKEN, ANXIN_REST_TOKEN and ANXIN_ACTION_TOKEN are taken from the
environment when set, otherwise made up for the run, and given to the stack; valid
requests carry them (``?token=`` for Rasa's API, ``Authorization: Bearer`` for REST and
voice) and the ``auth-odd`` class checks that requests without them are refused.

Routes are read from the apps (anxin/bench/fuzz_routes.py), the requests planned from
the seed (anxin/bench/fuzz_inputs.py) and sent a few at a time, each with a time limit,
the whole run with a deadline. Meanwhile every process is watched (its pid, and
``/status``, the console's ``/healthz`` and the action server's ``/health`` every few
seconds). When a process dies the run stops and what was in flight is reported. After
the run a normal message goes through every channel and must be answered.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import itertools
import json
import os
import random
import secrets
import struct
import sys
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from anxin.bench import fuzz_audio
from anxin.bench.fuzz_client import Ending, send, send_http
from anxin.bench.fuzz_inputs import (
    AUDIOSOCKET_ROUTE,
    Context,
    Opts,
    Probe,
    Route,
    base_fields,
    build,
    plan,
    render,
)
from anxin.bench.fuzz_report import (
    Death,
    FinalCheck,
    FuzzResult,
    Liveness,
    Record,
    format_report,
    passed,
)
from anxin.bench.fuzz_wire import HttpRequest, as_message
from anxin.bench.servers import BenchError, Child, in_scratch, require_free
from anxin.bench.telegram_fake import FakeTelegram
from anxin.bench.wechat_fake import AES_KEY, APP_ID, SECRET, TOKEN, FakeWeChatAPI

if TYPE_CHECKING:
    from anxin.config import RunSettings
    from care.config import CareSettings

HOST = "127.0.0.1"
TELEGRAM_TOKEN = "700000:fuzz-bench-token"
TELEGRAM_SECRET = "fuzz-bench-secret_1"
AUDIOSOCKET_SECRET = "fuzz-bench-audiosocket"
TOKENS = ("ANXIN_RASA_TOKEN", "ANXIN_REST_TOKEN", "ANXIN_ACTION_TOKEN")
READY_TIMEOUT_S = 300.0
LIVENESS_EVERY_S = 5.0
LIVENESS_TIMEOUT_S = 10.0
# Requests to the dead process started this long before it died are suspects too: a voice
# note or message is decoded after its webhook was answered.
SUSPECT_WINDOW_S = 10.0
FINAL_TIMEOUT_S = 120.0
STAFF_FINAL_S = 30.0  # the event broker writes within a fraction of a second when it can
STAFF_REFRESH_S = 10.0
PROGRESS_EVERY_S = 30.0
# A process that answers no health check for this long is frozen (an event loop spinning or
# blocked): the run stops as for a death, since every request after it would time out.
FROZEN_AFTER_S = 30.0
SERVICE = {"Rasa /status": "rasa", "actions /health": "actions", "staff /healthz": "staff"}


@dataclasses.dataclass
class Options:
    requests: int = 10_000
    seed: int = 14
    routes: Optional[list[str]] = None  # group names or fragments of a route
    classes: Optional[list[str]] = None
    without: Optional[list[str]] = None  # classes left out
    # "class:variant" fragments never sent (a known killer while its fix is pending)
    skip: Optional[list[str]] = None
    db: str = "sqlite"
    concurrency: int = 8
    timeout: float = 30.0
    deadline: float = 1800.0
    rasa_port: int = 5065
    actions_port: int = 5105
    staff_port: int = 8085
    audiosocket_port: int = 5125
    write: Optional[str] = None
    records: Optional[str] = None  # every request's outcome as JSON lines (never a payload)
    keep: bool = False


def command_line(o: Options) -> str:
    d = Options()
    parts = ["anxin bench fuzz"]
    for name in ("requests", "seed", "db", "concurrency", "timeout", "deadline", "rasa_port",
                 "actions_port", "staff_port", "audiosocket_port", "write"):  # fmt: skip
        value = getattr(o, name)
        if value != getattr(d, name):
            parts.append(f"--{name.replace('_', '-')} {value:g}" if isinstance(value, float)
                         else f"--{name.replace('_', '-')} {value}")  # fmt: skip
    if o.routes:
        parts.append("--routes " + ",".join(o.routes))
    if o.classes:
        parts.append("--classes " + ",".join(o.classes))
    if o.without:
        parts.append("--without " + ",".join(o.without))
    if o.skip:
        parts.append("--skip " + ",".join(o.skip))
    return " ".join(parts)


@dataclasses.dataclass
class Stack:
    children: dict[str, Child]
    run: RunSettings
    care: CareSettings
    env: dict[str, str]
    credentials: Path
    wechat: FakeWeChatAPI
    telegram: FakeTelegram
    database: str

    def stop(self) -> None:
        for c in self.children.values():
            c.stop()
        self.telegram.stop()
        self.wechat.__exit__(None, None, None)


def audio_files(seed: int) -> dict[str, bytes]:
    """Every malformed audio vector, once, for the fakes' media and the voice endpoint."""
    rng = random.Random(seed)
    return {name: fuzz_audio.vector(name, rng) for name in sorted(fuzz_audio.VECTORS)}


def tokens() -> dict[str, str]:
    """The stack's tokens: the environment's, else made up for this run."""
    return {name: os.environ.get(name) or secrets.token_urlsafe(24) for name in TOKENS}


def start_stack(tmp: Path, o: Options, audio: dict[str, bytes], db_url: str,
                database: str) -> Stack:  # fmt: skip
    from anxin.config import RunSettings
    from anxin.stack import child_env, processes, setup, write_credentials, write_endpoints
    from care.config import CareSettings

    for port, option in ((o.rasa_port, "--rasa-port"), (o.actions_port, "--actions-port"),
                         (o.staff_port, "--staff-port"),
                         (o.audiosocket_port, "--audiosocket-port")):  # fmt: skip
        require_free(port, option)
    # In this process's environment too: settings read from it (RunSettings, the endpoints
    # file) must agree with the stack's.
    os.environ.update(tokens())
    os.environ.pop("ANXIN_NOW", None)  # the real clock, as the stack's
    run = dataclasses.replace(RunSettings.from_env(), rasa_port=o.rasa_port,
                              actions_port=o.actions_port, staff_port=o.staff_port)  # fmt: skip
    care = dataclasses.replace(CareSettings.from_env(), db_url=db_url)
    model = setup(run, care)
    wechat = FakeWeChatAPI(APP_ID, SECRET, media={f"fuzz-{n}": b for n, b in audio.items()})
    wechat.__enter__()
    telegram = FakeTelegram(TELEGRAM_TOKEN).start()
    for name, data in audio.items():
        telegram.add_file(f"fuzz-{name}", data)
    env = {
        **os.environ,
        **child_env(run, care),
        "ANXIN_WECHAT_TOKEN": TOKEN, "ANXIN_WECHAT_APPID": APP_ID,
        "ANXIN_WECHAT_SECRET": SECRET, "ANXIN_WECHAT_AES_KEY": AES_KEY,
        "ANXIN_WECHAT_API_BASE": wechat.base,
        "ANXIN_TELEGRAM_TOKEN": TELEGRAM_TOKEN, "ANXIN_TELEGRAM_SECRET": TELEGRAM_SECRET,
        "ANXIN_TELEGRAM_API_BASE": telegram.api_base,
        "ANXIN_AUDIOSOCKET_PORT": str(o.audiosocket_port),
        "ANXIN_AUDIOSOCKET_SECRET": AUDIOSOCKET_SECRET,
        # edge-tts cannot be reached here: the offline voice, never a wait on the network
        "ANXIN_TTS_ENGINE": "espeak",
    }  # fmt: skip
    files = dataclasses.replace(run, var_dir=tmp)  # not the shared var/
    credentials, endpoints = write_credentials(files, env), write_endpoints(files, env)
    children = {
        name: Child(f"anxin {name}", argv, run.root, env, tmp / f"anxin-{name}.log")
        for name, argv in processes(run, model, credentials, endpoints, staff=True).items()
    }
    return Stack(children, run, care, env, credentials, wechat, telegram, database)


# -- plain HTTP for the checks ---------------------------------------------------------


def http(
    method: str,
    url: str,
    body: Optional[bytes] = None,
    headers: Optional[dict[str, str]] = None,
    timeout: float = 30,
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), resp.read()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read()


def bearer(token: Optional[str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def rest_hello(stack: Stack, sender: str, text: str = "hello",
               timeout: float = 30) -> list[Any]:  # fmt: skip
    body = json.dumps({"sender": sender, "message": text}).encode()
    status, data = http("POST", f"http://{HOST}:{stack.run.rasa_port}/webhooks/rest/webhook",
                        body, {"Content-Type": "application/json",
                               **bearer(stack.env.get("ANXIN_REST_TOKEN"))}, timeout)  # fmt: skip
    if status != 200:
        raise OSError(f"REST answered {status}")
    replies = json.loads(data)
    return replies if isinstance(replies, list) else []


def wait_ready(stack: Stack) -> float:
    started = min(c.started for c in stack.children.values())
    deadline = time.monotonic() + READY_TIMEOUT_S
    checks = {
        "rest": lambda: bool(rest_hello(stack, "fuzz-ready", timeout=10)),
        "actions": lambda: http("GET", f"http://{HOST}:{stack.run.actions_port}/health",
                                timeout=5)[0] == 200,
        "staff": lambda: http("GET", f"http://{HOST}:{stack.run.staff_port}/healthz",
                              timeout=5)[0] == 200,
        "voice": lambda: _voice_ready(stack),
        "telegram": lambda: any(c.method == "getMe" and c.status == 200
                                for c in list(stack.telegram.calls)),
    }  # fmt: skip
    done: set[str] = set()
    while time.monotonic() < deadline:
        for child in stack.children.values():
            child.check()
        for name, check in checks.items():
            if name not in done:
                try:
                    if check():
                        done.add(name)
                except (OSError, ValueError):
                    pass
        if len(done) == len(checks):
            return time.perf_counter() - started
        time.sleep(0.5)
    raise BenchError(f"the stack was not ready within {READY_TIMEOUT_S:.0f} s "
                     f"(ready: {sorted(done)})", stack.children["rasa"])  # fmt: skip


def _voice_ready(stack: Stack) -> bool:
    status, data = http("GET", f"http://{HOST}:{stack.run.rasa_port}/webhooks/voice/", timeout=5)
    health = json.loads(data) if status == 200 else {}
    return bool(health.get("transcriber") and health.get("synthesizer") and
                health.get("audiosocket"))  # fmt: skip


# -- the staff's credentials ------------------------------------------------------------


class Principals:
    """The console's people for the run (an admin, a staff member, a volunteer), their
    sessions and an API token, made in the database directly and renewed when the fuzz
    itself ends them (a logout with a valid CSRF token, a revoked token)."""

    def __init__(self, care_settings: CareSettings) -> None:
        from care.services import build
        from staff.config import StaffSettings

        self.care = build(care_settings)
        self.settings = StaffSettings()
        self.names = {role: f"fuzz-{role}" for role in ("admin", "staff", "volunteer")}
        self._tokens = itertools.count(1)

    def _services(self) -> tuple[Any, Any]:
        from care.staff_sessions import StaffSessions
        from care.staff_users import StaffUsers

        users = StaffUsers(self.care.db, self.care.clock, self.settings.throttle)
        return users, StaffSessions(self.care.db, self.care.clock, self.settings.session_lifetime)

    def create(self, ctx: Context) -> None:
        users, _ = self._services()
        for role, name in self.names.items():
            users.create(name, role, secrets.token_urlsafe(16))
        self.refresh(ctx, force=True)
        _, sessions = self._services()
        ended = sessions.start(self._user_id("volunteer"))
        sessions.end(ended.token)
        ctx.sessions["expired"] = (ended.token, ended.csrf_token)

    def _user_id(self, role: str) -> int:
        users, _ = self._services()
        return next(u.id for u in users.all() if u.username == self.names[role])

    def refresh(self, ctx: Context, force: bool = False) -> int:
        """Renew what no longer works; how many credentials were renewed."""
        users, sessions = self._services()
        renewed = 0
        for role, name in self.names.items():
            record = next((u for u in users.all() if u.username == name), None)
            if record is not None and not record.active:
                users.set_active(name, True)
            held = ctx.sessions.get(role)
            if force or held is None or sessions.lookup(held[0]) is None:
                new = sessions.start(self._user_id(role))
                ctx.sessions[role] = (new.token, new.csrf_token)
                renewed += 1
        if force or sessions.token_principal(ctx.staff_token) is None:
            ctx.staff_token = sessions.create_token(f"fuzz-{next(self._tokens)}", "staff",
                                                    "system")  # fmt: skip
            renewed += 1
        return renewed

    def close(self) -> None:
        self.care.close()


def context(stack: Stack, audio: dict[str, bytes], seed: int) -> Context:
    return Context(
        now=int(time.time()),
        rest_token=stack.env.get("ANXIN_REST_TOKEN"),
        rasa_token=stack.env.get("ANXIN_RASA_TOKEN"),
        wechat_token=TOKEN, wechat_app_id=APP_ID, wechat_aes_key=AES_KEY,
        wechat_account="gh_anxin_bench",
        wechat_replay=(str(int(time.time())), f"fuzz-replay-{seed}"),
        telegram_secret=TELEGRAM_SECRET,
        audiosocket_secret=AUDIOSOCKET_SECRET,
        audio=audio,
    )  # fmt: skip


async def burn_replay_nonce(stack: Stack, ctx: Context, route: Route) -> Ending:
    """Use the replay (timestamp, nonce) once, legitimately: from now on it is a replay."""
    rng = random.Random(0)
    fields = base_fields(route, ctx, rng)
    req = render(route, ctx, rng, fields, Opts(signed=(ctx.wechat_token, *ctx.wechat_replay)))
    return await send_http(HOST, stack.run.rasa_port, req, 30)


# -- the run ---------------------------------------------------------------------------


def port_of(stack: Stack, route: Route, o: Options) -> int:
    if route.kind == "audiosocket":
        return o.audiosocket_port
    if route.group.startswith("staff") or route.kind.startswith("staff"):
        return stack.run.staff_port
    return stack.run.rasa_port


async def liveness(stack: Stack, ctx: Context, result: FuzzResult) -> None:
    token = f"?token={ctx.rasa_token}" if ctx.rasa_token else ""
    targets = {
        "Rasa /status": (stack.run.rasa_port, f"/status{token}"),
        "actions /health": (stack.run.actions_port, "/health"),
        "staff /healthz": (stack.run.staff_port, "/healthz"),
    }

    async def one(name: str, port: int, target: str) -> None:
        started = time.perf_counter()
        ending = await send_http(HOST, port, HttpRequest("GET", target), LIVENESS_TIMEOUT_S)
        took = time.perf_counter() - started
        live = result.liveness.setdefault(name, Liveness())
        live.checks += 1
        live.worst_s = max(live.worst_s, took)
        if ending.status != "200":
            live.failed += 1
            if live.failing_since is None:
                live.failing_since = time.monotonic() - took
        else:
            live.failing_since = None

    await asyncio.gather(*(one(n, p, t) for n, (p, t) in targets.items()))


async def run_probes(stack: Stack, probes: list[Probe], routes: dict[str, Route], ctx: Context,
                     o: Options, result: FuzzResult, principals: Principals) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    queue = list(reversed(probes))
    inflight: dict[int, tuple[Probe, float, str]] = {}
    stop = asyncio.Event()
    lock = asyncio.Lock()

    async def worker(n: int) -> None:
        rng = random.Random(o.seed * 1000 + n)
        while queue and not stop.is_set():
            if loop.time() - t0 > o.deadline:
                result.deadline_hit = True
                stop.set()
                return
            probe = queue.pop()
            route = routes[probe.route]
            built = await asyncio.to_thread(build, probe, route, ctx)
            if o.skip and any(s in f"{probe.klass}:{built.variant}" for s in o.skip):
                result.skipped += 1
                continue
            started = loop.time() - t0
            inflight[probe.index] = (probe, started, built.variant)
            try:
                ending = await asyncio.wait_for(
                    send(HOST, port_of(stack, route, o), built.request, o.timeout, rng),
                    o.timeout * 2 + 30,
                )
            except asyncio.TimeoutError:
                ending = Ending("timeout", "timeout", "the request itself took too long")
            finally:
                inflight.pop(probe.index, None)
            async with lock:
                result.records.append(Record(probe, built.variant, ending, started,
                                             loop.time() - t0 - started))  # fmt: skip
            if ending.status == "refused" and died(now_s()):
                return  # nothing is listening: a process is gone, the run is over

    async def watch() -> None:
        next_live = 0.0
        next_staff = STAFF_REFRESH_S
        next_progress = PROGRESS_EVERY_S
        while not stop.is_set():
            now = loop.time() - t0
            if now >= next_progress:
                next_progress = now + PROGRESS_EVERY_S
                failed = sum(1 for r in result.records if r.ending.failure)
                print(f"anxin: fuzz: {len(result.records)}/{len(probes)} sent, {failed} failed, "
                      f"{now:.0f} s", file=sys.stderr, flush=True)  # fmt: skip
            if died(now):
                return
            for target, live in result.liveness.items():
                since = live.failing_since
                if since is not None and time.monotonic() - since >= FROZEN_AFTER_S:
                    name = SERVICE[target]
                    began = now - (time.monotonic() - since)  # when it stopped answering
                    found = suspects(name, inflight, began)
                    result.deaths.append(Death(name, None, began, found, frozen=True))
                    stop.set()
                    return
            if now >= next_live:
                next_live = now + LIVENESS_EVERY_S
                asyncio.ensure_future(liveness(stack, ctx, result))
            if now >= next_staff:
                next_staff = now + STAFF_REFRESH_S
                await asyncio.to_thread(principals.refresh, ctx)
            try:
                await asyncio.wait_for(stop.wait(), 0.25)
            except asyncio.TimeoutError:
                pass

    def suspects(name: str, inflight: dict[int, tuple[Probe, float, str]],
                 at: float) -> list[Record]:  # fmt: skip
        """The requests to that process still open at ``at``, oldest first (a freeze starts
        with one), then those it answered shortly before (a voice note or message is decoded
        after its webhook was answered); audio first in both: a decoder is the likeliest
        way to take a whole process down."""
        mine = [r for r in result.records if served_by(r.probe) == name]
        still = [Record(p, v, Ending("in flight"), s, now_s() - s)
                 for p, s, v in inflight.values() if s <= at and served_by(p) == name]  # fmt: skip
        still += [r for r in mine if r.started <= at <= r.started + r.seconds + 0.05]
        still.sort(key=lambda r: (r.probe.klass != "voice-audio", r.started))
        recent = [r for r in mine if at - SUSPECT_WINDOW_S <= r.started
                  and r.started + r.seconds + 0.05 < at]  # fmt: skip
        recent.sort(key=lambda r: (r.probe.klass != "voice-audio", -r.started))
        return still + recent

    def now_s() -> float:
        return loop.time() - t0

    def died(now: float) -> bool:
        """Record a process that exited, and stop the run; True when one did."""
        if result.deaths:
            return True
        for name, child in stack.children.items():
            if child.proc.poll() is not None:
                result.deaths.append(Death(name, child.proc.returncode, now,
                                           suspects(name, inflight, now)))  # fmt: skip
                stop.set()
                return True
        return False

    def served_by(probe: Probe) -> str:
        return "staff" if routes[probe.route].group.startswith("staff") else "rasa"

    watcher = asyncio.ensure_future(watch())
    await asyncio.gather(*(worker(n) for n in range(o.concurrency)))
    await asyncio.sleep(0.5)  # a death right after the last request is still seen
    stop.set()
    await watcher
    result.seconds = loop.time() - t0
    collateral(result)


def collateral(result: FuzzResult) -> None:
    """Requests that failed only because a process had just died are not failures of their
    own: relabelled "after the death" (they stay in the table and the suspects)."""
    gone = [d for d in result.deaths if not d.frozen]  # a frozen process's timeouts are real
    if not gone:
        return
    at = min(d.at for d in gone)
    for r in result.records:
        late = r.started + r.seconds >= at - 0.25
        if late and r.ending.failure in ("drop", "refused", "timeout", "dropped-call"):
            r.ending = Ending(f"after the death ({r.ending.status})", None, r.ending.note)


# -- afterwards: a normal message on every channel ---------------------------------------


def final_rest(stack: Stack, sender: str) -> FinalCheck:
    try:
        replies = rest_hello(stack, sender, timeout=FINAL_TIMEOUT_S)
    except (OSError, ValueError) as exc:
        return FinalCheck("REST", False, type(exc).__name__)
    texts = [r.get("text") for r in replies if isinstance(r, dict) and r.get("text")]
    return FinalCheck("REST", bool(texts), "" if texts else "no text in the answer")


def final_wechat(stack: Stack, ctx: Context) -> FinalCheck:
    from anxin.bench.wechat_fake import WeChatClient

    client = WeChatClient(f"http://{HOST}:{stack.run.rasa_port}/webhooks/wechat/webhook")
    openid = f"ofuzz-final-{uuid.uuid4().hex[:8]}"
    ack = client.send_text(openid, "你好", random.randrange(10**15, 10**16), timeout=10)
    if ack.error:
        return FinalCheck("WeChat", False, ack.error)
    if ack.passive:
        return FinalCheck("WeChat", True, "passive reply")
    ok = stack.wechat.wait_for(openid, 1, FINAL_TIMEOUT_S)
    return FinalCheck("WeChat", bool(ok), "customer-service message" if ok else "no answer")


def final_telegram(stack: Stack, ctx: Context) -> FinalCheck:
    chat = random.randrange(10**9, 10**10)
    update = {"update_id": random.randrange(10**8, 10**9), "message": {
        "message_id": 1, "date": int(time.time()), "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "Final", "language_code": "en"},
        "text": "hello"}}  # fmt: skip
    status, _ = http("POST", f"http://{HOST}:{stack.run.rasa_port}/webhooks/telegram/webhook",
                     json.dumps(update).encode(), {"Content-Type": "application/json",
                     "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}, 30)  # fmt: skip
    if status != 200:
        return FinalCheck("Telegram", False, f"webhook answered {status}")
    try:
        stack.telegram.wait_for(lambda calls: calls, FINAL_TIMEOUT_S, chat_id=chat)
    except AssertionError:
        return FinalCheck("Telegram", False, "no sendMessage")
    return FinalCheck("Telegram", True)


def final_voice_http(stack: Stack, ctx: Context) -> FinalCheck:
    headers = {"Content-Type": "audio/wav", "X-Anxin-Sender": f"fuzz-final-{uuid.uuid4().hex[:8]}",
               **bearer(ctx.rest_token)}  # fmt: skip
    body = fuzz_audio.wav(data=bytes(16000))
    status, data = http("POST", f"http://{HOST}:{stack.run.rasa_port}/webhooks/voice/turn"
                        "?language=en", body, headers, FINAL_TIMEOUT_S)  # fmt: skip
    replies = json.loads(data).get("replies") if status == 200 else None
    return FinalCheck("voice HTTP", bool(replies), "" if replies else f"status {status}")


async def final_voice_ws(stack: Stack, ctx: Context) -> FinalCheck:
    from websockets.client import connect

    sender = f"fuzz-final-{uuid.uuid4().hex[:8]}"
    url = f"ws://{HOST}:{stack.run.rasa_port}/webhooks/voice/stream?sender={sender}&language=en"
    try:
        async with connect(url, extra_headers=bearer(ctx.rest_token), max_size=None,
                           open_timeout=30) as ws:  # fmt: skip
            deadline = time.monotonic() + FINAL_TIMEOUT_S
            while time.monotonic() < deadline:
                message = await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
                if isinstance(message, str) and json.loads(message).get("event") == "replies":
                    await ws.send(json.dumps({"hangup": True}))
                    return FinalCheck("voice WebSocket", True, "greeted")
    except Exception as exc:  # noqa: BLE001 - whatever broke, the check failed
        return FinalCheck("voice WebSocket", False, type(exc).__name__)
    return FinalCheck("voice WebSocket", False, "no greeting")


async def final_audiosocket(stack: Stack, o: Options) -> FinalCheck:
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(HOST, o.audiosocket_port), 10
        )
    except (OSError, asyncio.TimeoutError) as exc:
        return FinalCheck("AudioSocket", False, type(exc).__name__)
    try:
        writer.write(as_message(0x01, uuid.uuid4().bytes))
        deadline = time.monotonic() + FINAL_TIMEOUT_S
        while time.monotonic() < deadline:
            writer.write(as_message(0x10, bytes(320)))  # a quiet line, 20 ms at a time
            await writer.drain()
            try:
                head = await asyncio.wait_for(reader.readexactly(3), 0.02)
            except asyncio.TimeoutError:
                continue
            kind, n = head[0], struct.unpack(">H", head[1:])[0]
            await reader.readexactly(n)
            if kind == 0x10:
                writer.write(as_message(0x00))
                return FinalCheck("AudioSocket", True, "greeting heard")
            if kind in (0x00, 0xFF):
                return FinalCheck("AudioSocket", False, "the call was ended")
    except (OSError, asyncio.IncompleteReadError) as exc:
        return FinalCheck("AudioSocket", False, type(exc).__name__)
    finally:
        writer.close()
    return FinalCheck("AudioSocket", False, "no greeting")


def final_staff(stack: Stack, ctx: Context, sender: str) -> FinalCheck:
    """The REST conversation reaches the console (the event broker still writes)."""
    deadline = time.monotonic() + STAFF_FINAL_S
    status = 0
    while time.monotonic() < deadline:
        for cid in (sender, f"rest:{sender}"):
            status, _ = http("GET", f"http://{HOST}:{stack.run.staff_port}/api/conversations/"
                             f"{cid}", headers=bearer(ctx.staff_token), timeout=30)  # fmt: skip
            if status == 200:
                return FinalCheck("staff console", True, "the conversation is shown")
        time.sleep(1)
    return FinalCheck("staff console", False, f"the conversation is not shown ({status})")


def finals(stack: Stack, ctx: Context, o: Options) -> list[FinalCheck]:
    sender = f"fuzz-final-{uuid.uuid4().hex[:8]}"
    checks = [final_rest(stack, sender), final_wechat(stack, ctx), final_telegram(stack, ctx),
              final_voice_http(stack, ctx)]  # fmt: skip
    checks.append(asyncio.run(final_voice_ws(stack, ctx)))
    checks.append(asyncio.run(final_audiosocket(stack, o)))
    checks.append(final_staff(stack, ctx, sender))
    return checks


# -- putting it together ---------------------------------------------------------------


def chosen_classes(o: Options) -> Optional[set[str]]:
    from anxin.bench.fuzz_inputs import CLASSES

    if not o.classes and not o.without:
        return None
    return set(o.classes or CLASSES) - set(o.without or ())


def keep_route(route: Route, wanted: Optional[list[str]]) -> bool:
    if not wanted:
        return True
    return any(w == route.group or w in route.key for w in wanted)


def bench(tmp: Path, o: Options) -> FuzzResult:
    from anxin.bench.booking import bench_database
    from anxin.bench.fuzz_routes import rasa_routes, staff_routes
    from anxin.bench.voice_call_report import commit_of

    label, db_url, schema = bench_database(o.db, tmp)
    audio = audio_files(o.seed)
    stack = start_stack(tmp, o, audio, db_url, label)
    principals: Optional[Principals] = None
    try:
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            listing = pool.submit(rasa_routes, stack.credentials, stack.env, stack.run.root)
            ready_s = wait_ready(stack)
            try:
                found = listing.result(timeout=300)
            except RuntimeError as exc:
                raise BenchError(str(exc)) from None
        principals = Principals(stack.care)
        found += staff_routes(principals.care)
        found.append(AUDIOSOCKET_ROUTE)
        routes = {r.key: r for r in found if keep_route(r, o.routes)}
        probes = plan(list(routes.values()), o.requests, o.seed, classes=chosen_classes(o))
        if not probes:
            raise BenchError("no request to send: check --routes and --classes")
        ctx = context(stack, audio, o.seed)
        principals.create(ctx)
        wechat_post = next(r for r in found if r.kind == "wechat-post")
        burned = asyncio.run(burn_replay_nonce(stack, ctx, wechat_post))
        result = FuzzResult(o.seed, len(probes), command=command_line(o), database=label,
                            commit=commit_of(stack.run.root), ready_s=ready_s)  # fmt: skip
        for r in routes.values():
            result.routes[r.group] = result.routes.get(r.group, 0) + 1
        if burned.status != "200":
            result.notes.append(f"the replay nonce's first use was answered {burned.status}")
        began = time.monotonic()
        try:
            asyncio.run(run_probes(stack, probes, routes, ctx, o, result, principals))
        except KeyboardInterrupt:  # Ctrl-C: what was sent so far is still reported
            result.seconds = time.monotonic() - began
            result.notes.append("interrupted (Ctrl-C): no final checks")
            result.interrupted = True
        if not result.deaths and not result.interrupted:
            time.sleep(3)  # what the last requests started settles
            result.finals = finals(stack, ctx, o)
            for name, child in stack.children.items():
                if child.proc.poll() is not None:
                    result.deaths.append(Death(name, child.proc.returncode, result.seconds))
        for d in result.deaths:
            tail = stack.children[d.name].tail(8) if d.name in stack.children else ""
            last = [line for line in tail.splitlines() if line.strip()][-3:]
            result.notes.append(f"{d.name}'s log ends: " + " | ".join(last)[:600])
        return result
    finally:
        if principals is not None:
            principals.close()
        stack.stop()
        if schema:
            from sqlalchemy import create_engine, text

            with create_engine(db_url.split("?")[0], future=True).begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))


def write_records(path: Path, result: FuzzResult) -> None:
    """One line per request: what was sent (route, class, variant) and what came back."""
    with path.open("w", encoding="utf-8") as out:
        for r in result.records:
            p = r.probe
            out.write(json.dumps({
                "index": p.index, "group": p.group, "route": p.route, "class": p.klass,
                "variant": r.variant, "status": r.ending.status, "failure": r.ending.failure,
                "note": r.ending.note, "started_s": round(r.started, 3),
                "seconds": round(r.seconds, 3),
            }, ensure_ascii=False) + "\n")  # fmt: skip


def fuzz_bench(o: Options) -> int:
    """Exit code 0 only when nothing failed, nothing died and every final message was
    answered; 1 otherwise (and when the bench itself broke), 2 for bad options."""
    if o.requests < 1 or o.concurrency < 1 or o.timeout <= 0 or o.deadline <= 0:
        print("anxin: --requests and --concurrency at least 1, --timeout and --deadline "
              "positive", file=sys.stderr)  # fmt: skip
        return 2
    from anxin.bench.fuzz_inputs import CLASSES

    unknown = sorted((set(o.classes or ()) | set(o.without or ())) - set(CLASSES))
    if unknown:
        print(f"anxin: unknown input classes {', '.join(unknown)}; known: {', '.join(CLASSES)}",
              file=sys.stderr)  # fmt: skip
        return 2
    if o.db not in ("sqlite", "postgresql") and "://" not in o.db:
        print("anxin: --db sqlite, postgresql or a PostgreSQL URL", file=sys.stderr)
        return 2
    result = in_scratch("fuzz", "fuzz", o.keep, lambda tmp: bench(tmp, o))
    if result is None:
        return 1
    report = format_report(result, f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(report)
    if o.records:
        write_records(Path(o.records), result)
    if o.write:
        from anxin.bench.voice_call_report import append

        append(Path(o.write), report)
        print(f"anxin: appended to {o.write}")
    return 0 if passed(result) else 1
