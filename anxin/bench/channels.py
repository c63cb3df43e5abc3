"""``anxin bench channels``: how fast WeChat gets its acknowledgement, 20 users at once.

WeChat waits 5 s for the response to a callback, then retries (3 tries in all) and
finally tells the person "该公众号暂时无法提供服务". The channel answers passively when
the turn ends within ``ANXIN_WECHAT_PASSIVE_S`` (3.5 s), otherwise replies ``success``
and sends the answer through the customer-service API (channels/wechat_core.py).

The real stack (anxin/stack.py, as ``anxin run`` starts it) runs on ports of its own
and a throwaway SQLite database with the demo catalogue, the WeChat channel on (safe
mode by default: AES-encrypted bodies, as a production account has them) and its API
base pointed at a loopback fake (anxin/bench/wechat_fake.py). Simulated WeChat users,
``users`` at once, each run whole Chinese booking conversations (你好 → 帮我订…的午饭在食堂吃
→ name → 对 → 我都约了啥 → 谢谢; a new person per conversation, lunch days taken in turn
so seats do not run out). Every message is a signed (and encrypted) POST; its
acknowledgement time is until the HTTP response was read. After ``success`` the user
waits for the customer-service message before writing again, as a person would.

Afterwards each customer-service message is given to the message it answers, so every
message is counted as answered passively, through the API, not at all, or twice.
Bookings are read back from the database. The servers' CPU and the CPU the rest of the
machine used meanwhile (other people's tests on the same cores) are measured and shown.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import random
import sys
import threading
import time
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Sequence
from zoneinfo import ZoneInfo

from anxin.bench.channels_report import (
    ChannelsResult,
    Sent,
    answered_once,
    as_turns,
    attribute,
    command_line,
    format_steps,
    format_table,
    verdicts,
)
from anxin.bench.conversations import ANXIN_STEPS, anxin_script, lunch_days, outcome_markers
from anxin.bench.conversations import outcomes as booking_outcomes
from anxin.bench.dialogue import confirmed_meals
from anxin.bench.dialogue_report import format_transcript
from anxin.bench.rest import Script, webhook
from anxin.bench.servers import (
    BenchError,
    Child,
    PeakRss,
    http_ok,
    in_scratch,
    machine_busy_seconds,
    own_cpu,
    require_free,
    tree_cpu,
    wait_ready,
)
from anxin.bench.wechat_fake import AES_KEY, APP_ID, SECRET, TOKEN, FakeWeChatAPI, WeChatClient

if TYPE_CHECKING:
    from anxin.config import RunSettings
    from care.config import CareSettings

ANSWER_TIMEOUT_S = 30.0  # a user waits this long for a customer-service answer
SETTLE_S = 2.0  # no customer-service message for this long: the run's answers are all in


@dataclasses.dataclass
class Stack:
    children: dict[str, Child]
    run: RunSettings
    care: CareSettings
    model: Path
    days: list[tuple[str, str]]
    url: str  # the WeChat webhook
    passive_s: float  # the channel's passive deadline (ANXIN_WECHAT_PASSIVE_S)


def wechat_env(api_base: str, safe: bool) -> dict[str, str]:
    env = {
        "ANXIN_WECHAT_TOKEN": TOKEN,
        "ANXIN_WECHAT_APPID": APP_ID,
        "ANXIN_WECHAT_SECRET": SECRET,
        "ANXIN_WECHAT_API_BASE": api_base,
    }
    if safe:
        env["ANXIN_WECHAT_AES_KEY"] = AES_KEY
    return env


def start_stack(tmp: Path, rasa_port: int, actions_port: int, extra_env: dict[str, str]) -> Stack:
    """Set up (migrate, catalogue, train if needed) and start Rasa and the action server."""
    from anxin.config import RunSettings
    from anxin.stack import child_env, processes, setup, write_credentials, write_endpoints
    from care.config import CareSettings

    require_free(rasa_port, "--rasa-port")
    require_free(actions_port, "--actions-port")
    run = dataclasses.replace(
        RunSettings.from_env(), rasa_port=rasa_port, actions_port=actions_port
    )
    care = dataclasses.replace(  # on the real clock, whatever ANXIN_NOW says
        CareSettings.from_env(), db_url=f"sqlite:///{tmp / 'anxin-bench.db'}", clock_offset=None
    )
    model = setup(run, care)
    days = bookable_days(care)
    if not days:
        raise BenchError("no lunch day among the day phrases: is the catalogue loaded?")
    env = {**os.environ, **child_env(run, care), **extra_env}
    for pinned in ("ANXIN_NOW", "ANXIN_CLOCK_OFFSET_S"):
        env.pop(pinned, None)  # the real clock for the NLU too, as for the action server
    env.pop("ANXIN_TELEGRAM_TOKEN", None)  # WeChat only
    # The credentials name the WeChat channel; written to tmp, not to the shared var/.
    files = dataclasses.replace(run, var_dir=tmp)
    credentials, endpoints = write_credentials(files, env), write_endpoints(files)
    children = {
        name: Child(f"anxin {name}", argv, run.root, env, tmp / f"anxin-{name}.log")
        for name, argv in processes(run, model, credentials, endpoints).items()
    }
    from channels.config import WeChatSettings

    wechat = WeChatSettings.from_env(env)
    assert wechat is not None  # extra_env sets the token
    url = f"http://127.0.0.1:{rasa_port}/webhooks/wechat/webhook"
    return Stack(children, run, care, model, days, url, wechat.passive_deadline_s)


def bookable_days(care_settings: CareSettings) -> list[tuple[str, str]]:
    from care.services import build

    care = build(care_settings)
    try:
        now = datetime.now(ZoneInfo(care_settings.timezone))

        def has_lunch(day: date) -> bool:
            slots = care.bookings.availability("meal", day, day, include_full=True)
            return any(s.details.get("meal") == "lunch" for s in slots)

        return lunch_days(now, has_lunch)
    finally:
        care.close()


def chinese_script(k: int, days: Sequence[tuple[str, str]], openid: str) -> Script:
    """Conversation number k, in Chinese (anxin_script's even numbers are Chinese)."""
    return anxin_script(2 * k, days, openid)


def talk(
    client: WeChatClient,
    fake: FakeWeChatAPI,
    scripts: Sequence[Script],
    msg_ids: Iterator[int],
    think_s: float = 0.0,
) -> list[Sent]:
    """One WeChat user: each conversation in turn, waiting for every answer before the next.

    ``think_s``: how long the user takes to read an answer and type the next message
    (0: the next message goes the moment the answer is in, the harshest load).
    """
    sent: list[Sent] = []
    for script in scripts:
        for step, text in enumerate(script.messages):
            if sent and think_s > 0:
                time.sleep(think_s)
            before = fake.count(script.sender)
            posted = time.monotonic()
            ack = client.send_text(script.sender, text, next(msg_ids))
            sent.append(Sent(script.sender, step, text, posted, ack))
            if ack.error:
                break  # as the dialogue bench: a failed request ends that conversation
            if ack.success:
                fake.wait_for(script.sender, before + 1, ANSWER_TIMEOUT_S)
    return sent


def converse(
    client: WeChatClient,
    fake: FakeWeChatAPI,
    users: Sequence[Sequence[Script]],
    msg_ids: Iterator[int],
    think_s: float = 0.0,
) -> tuple[list[Sent], float]:
    """Every user at once (threads released together); every message sent, wall time."""
    results: list[list[Sent]] = [[] for _ in users]
    start = threading.Barrier(len(users) + 1)

    def user(i: int) -> None:
        start.wait()
        results[i] = talk(client, fake, users[i], msg_ids, think_s)

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(len(users))]
    for t in threads:
        t.start()
    start.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    return [s for mine in results for s in mine], time.perf_counter() - started


def measure(
    stack: Stack,
    fake: FakeWeChatAPI,
    client: WeChatClient,
    users: int,
    per_user: int,
    think_s: float = 0.0,
) -> tuple[ChannelsResult, str]:
    """Wait for the servers, warm up with one conversation, then every user at once."""
    children = stack.children
    rss = PeakRss({n: c.proc.pid for n, c in children.items()})
    run_id = uuid.uuid4().hex[:6]
    try:
        health = f"http://127.0.0.1:{stack.run.actions_port}/health"
        rest = webhook(f"http://127.0.0.1:{stack.run.rasa_port}")
        ready_s = wait_ready(rest, "你好", list(children.values()), lambda: http_ok(health))
        msg_ids = itertools.count(random.randrange(10**15, 10**16))  # unique per account
        warm = talk(client, fake, [chinese_script(0, stack.days, f"o{run_id}warm")], msg_ids)
        # User c's j-th conversation is number 1 + j * users + c: the first round spans the days.
        per_client = [
            [
                chinese_script(1 + j * users + c, stack.days, f"o{run_id}-{j * users + c}")
                for j in range(per_user)
            ]
            for c in range(users)
        ]
        load_before = os.getloadavg()[0]
        machine, own = machine_busy_seconds(), own_cpu()
        cpu = {n: -tree_cpu(c.proc.pid) for n, c in children.items()}
        sent, seconds = converse(client, fake, per_client, msg_ids, think_s)
        cpu = {n: cpu[n] + tree_cpu(c.proc.pid) for n, c in children.items()}
        own = own_cpu() - own
        other = machine_busy_seconds() - machine - own - sum(cpu.values())
        load_after = os.getloadavg()[0]
        fake.quiet_for(SETTLE_S, longest=ANSWER_TIMEOUT_S)
        for c in children.values():
            c.check()
    finally:
        peak = rss.stop()
        for c in children.values():
            c.stop()
    strays = attribute(warm + sent, fake.delivered)
    result = ChannelsResult(
        mode="safe mode (AES)" if client.crypto is not None else "plaintext",
        users=users,
        sent=sent,
        seconds=seconds,
        ready_s=ready_s,
        cpu_ms={n: t * 1000 / max(1, len(sent)) for n, t in cpu.items()},
        rss=peak,
        other_cores=max(0.0, other) / seconds if machine and seconds > 0 else None,
        bench_cores=own / seconds if seconds > 0 else None,
        think_s=think_s,
        load=(load_before, load_after),
        strays=len(strays),
    )
    if any(s.how != "passive" for s in warm):
        result.notes.append(
            "warm-up conversation: " + ", ".join(f"{s.text} → {s.how}" for s in warm)
        )
    return result, run_id


def bench(
    tmp: Path,
    users: int,
    messages: int,
    rasa_port: int,
    actions_port: int,
    safe: bool,
    think_s: float = 0.0,
) -> ChannelsResult:
    from care.services import build

    per_user = max(1, math.ceil(messages / users / len(ANXIN_STEPS)))
    with FakeWeChatAPI() as fake:
        stack = start_stack(tmp, rasa_port, actions_port, wechat_env(fake.base, safe))
        client = WeChatClient(stack.url, aes_key=AES_KEY if safe else None)
        result, run_id = measure(stack, fake, client, users, per_user, think_s)
        result.passive_deadline_s = stack.passive_s
    confirm = ANXIN_STEPS.index("confirm")
    counts, odd = booking_outcomes(
        as_turns(result.sent), confirm, outcome_markers(stack.run.root / "bot")
    )
    result.outcomes = counts
    care = build(stack.care)
    try:
        result.db_bookings = confirmed_meals(care, f"o{run_id}-", "wechat")
    finally:
        care.close()
    result.notes.insert(
        0,
        "lunch days booked in turn: "
        + ", ".join(zh for zh, _ in stack.days)
        + f"; model {stack.model.name}; database {stack.care.db_url}",
    )
    if odd:
        result.notes.append(
            f"{len(odd)} conversation(s) did not end in booked/full; the first:\n"
            + format_transcript(odd[0])
        )
    wrong = [s for s in result.sent if s.how not in ("passive", "API")]
    if wrong:
        result.notes.append(
            f"{len(wrong)} message(s) not answered exactly once; the first: "
            f"{wrong[0].openid} step {wrong[0].step} {wrong[0].text!r}: {wrong[0].how}"
            + (f" ({wrong[0].ack.error})" if wrong[0].ack.error else "")
        )
    return result


def channels_bench(
    users: int,
    messages: int,
    rasa_port: int,
    actions_port: int,
    keep: bool = False,
    plaintext: bool = False,
    think_s: float = 0.0,
) -> int:
    """Exit code 1 when the bench broke or a message was not answered exactly once.

    The latency verdicts are printed, not turned into an exit code (a busy machine
    is not a broken channel), as in ``anxin bench dialogue``.
    """
    if users < 1 or messages < 1 or think_s < 0:
        print(
            "anxin: --users and --messages must be at least 1, --think not negative",
            file=sys.stderr,
        )
        return 2
    result = in_scratch(
        "channels", "channels", keep,
        lambda tmp: bench(tmp, users, messages, rasa_port, actions_port, not plaintext, think_s),
    )  # fmt: skip
    if result is None:
        return 1
    print("\n".join(result.notes))
    command = command_line(users, messages, rasa_port, actions_port, plaintext, think_s)
    print(f"\ncommand: {command}")
    print(f"run at {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}\n")
    print(format_table(result))
    print("\nacknowledgement per step:\n")
    print(format_steps(result, ANXIN_STEPS))
    print()
    for line in verdicts(result):
        print(line)
    return 0 if answered_once(result) else 1
