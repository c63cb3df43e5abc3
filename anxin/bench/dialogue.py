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
import os
import sys
import time
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence
from zoneinfo import ZoneInfo

from anxin.bench.conversations import (
    ANXIN_STEPS,
    STOCK_STEPS,
    anxin_script,
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
from anxin.bench.rest import Run, Script, converse, summarise, webhook
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
from anxin.bench.stock import stock_env, stock_project

if TYPE_CHECKING:
    from care.services import CareServices


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
        machine, own, t0 = machine_busy_seconds(), own_cpu(), time.perf_counter()
        cpu = {n: -tree_cpu(c.proc.pid) for n, c in children.items()}
        seq = converse(url, [sequential])
        conc = converse(url, clients)
        cpu = {n: cpu[n] + tree_cpu(c.proc.pid) for n, c in children.items()}
        other = machine_busy_seconds() - machine - (own_cpu() - own) - sum(cpu.values())
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
    require_free(port, "--stock-port")
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
    from anxin.stack import (
        child_env,
        processes,
        setup,
        write_credentials,
        write_endpoints,
    )
    from care.config import CareSettings
    from care.services import build

    require_free(rasa_port, "--anxin-port")
    require_free(actions_port, "--actions-port")
    run = dataclasses.replace(
        RunSettings.from_env(), rasa_port=rasa_port, actions_port=actions_port
    )
    care_settings = dataclasses.replace(  # on the real clock, whatever ANXIN_NOW says
        CareSettings.from_env(), db_url=f"sqlite:///{tmp / 'anxin-bench.db'}", clock_offset=None
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
    for pinned in ("ANXIN_NOW", "ANXIN_CLOCK_OFFSET_S"):
        env.pop(pinned, None)  # the real clock for the NLU too, as for the action server
    children = {
        name: Child(f"anxin {name}", argv, run.root, env, tmp / f"anxin-{name}.log")
        for name, argv in processes(
            run, model, write_credentials(run), write_endpoints(run)
        ).items()
    }
    health = f"http://127.0.0.1:{actions_port}/health"
    side, seq, conc = measure(
        "anxin",
        children,
        webhook(f"http://127.0.0.1:{rasa_port}"),
        lambda: http_ok(health),
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


def confirmed_meals(care: CareServices, sender_prefix: str, channel: str = "rest") -> int:
    """Confirmed meal bookings of the channel's senders whose id starts with the prefix."""
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
                    m.ChannelIdentity.channel == channel,
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

    def both(tmp: Path) -> tuple[Optional[SideResult], Optional[SideResult]]:
        stock = anxin = None
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
        return stock, anxin

    sides = in_scratch("dialogue", "dialogue", keep, both)
    if sides is None:
        return 1
    stock, anxin = sides

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
