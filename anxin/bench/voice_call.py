"""``anxin bench voice --stack``: end of speech → first reply audio byte, through Rasa.

The real stack (anxin/stack.py, as ``anxin run`` starts it) runs on ports of its own with
a throwaway SQLite database and the demo catalogue; the voice channel loads the Whisper
model (``--model`` or the default) and speaks with the offline voice only
(``ANXIN_TTS_ENGINE=espeak``: edge-tts cannot be reached here and must not be waited on).

Callers are simulated as a phone would be: English spoken by espeak-ng at an elder's pace,
sent over ``/webhooks/voice/stream`` as 16 kHz PCM frames of 20 ms at real time, then
line silence, frame after frame, until our answer has been played out; the server's VAD
alone decides when a turn is over. Each short request is a call of its own (greeting
played out first, then one turn); each booking call books lunch (request → "number two"
for delivery → a name → "yes" to the read-back), and its booking is looked for in the
database afterwards, so the figure is one of working turns.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Optional, Sequence
from zoneinfo import ZoneInfo

from anxin.bench.servers import (
    BenchError,
    Child,
    http_ok,
    in_scratch,
    machine_busy_seconds,
    own_cpu,
    require_free,
    tree_cpu,
    wait_ready,
)
from anxin.bench.voice_call_report import (
    TurnTiming,
    VoiceCallResult,
    append,
    commit_of,
    format_table,
    format_turns,
)

FRAME_S = 0.02  # what a phone line sends at a time
FRAME_BYTES = 640  # 20 ms of 16 kHz 16-bit mono
VOICED_RMS = 300.0  # channels/voice_session.py's speech level: louder frames are speech
ANSWER_TIMEOUT_S = 60.0  # a busy machine may be slow; a turn unanswered this long is lost
SENDER_PREFIX = "vbench-"
# Short requests an elder makes, one call each (voice/bench.py's set, minus the ones that
# start a booking form the call would leave half-filled).
SINGLE = (
    "What services do you have",
    "I feel lonely today",
    "Can a volunteer call me this evening",
    "Thank you goodbye",
    "Hello",
    "I want to talk to a person",
)
CONFIRM = "Yes please"
NAMES = ("John", "Mary", "Peter", "Alice", "George", "Helen")


@dataclasses.dataclass
class Stack:
    children: dict[str, Child]
    care_url: str
    rasa_port: int
    actions_port: int
    model_name: str


def booking_turns(day: date, name: str) -> tuple[str, ...]:
    # The day by name: Whisper base hears a spoken "November 30" as "3rd".
    # Whole phrases: Whisper base hears espeak-ng's lone "Yes" as "The" and "John" as "Ciao".
    return (f"I would like to book lunch for {day:%A}", "Number two", f"My name is {name}",
            CONFIRM)  # fmt: skip


def booking_day(now: date) -> date:
    """A weekday far enough ahead that every service still takes bookings for it."""
    day = now + timedelta(days=2)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def speech_pcm(text: str) -> tuple[bytes, int]:
    """espeak-ng at 120 wpm as 16 kHz PCM, and the number of 20 ms frames up to the last
    voiced one (its trailing quiet is not speech)."""
    from channels.voice_session import rms
    from voice.bench import espeak_audio

    pcm = espeak_audio(text, wpm=120).pcm
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]
    voiced = [i for i, f in enumerate(frames) if rms(f) >= VOICED_RMS]
    if not voiced:
        raise BenchError(f"espeak-ng said nothing audible for {text!r}")
    return pcm, voiced[-1] + 1


class Call:
    """One phone-style call over the WebSocket; events are timestamped as they arrive."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self.first_audio: Optional[float] = None  # first binary frame since ``expect``
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            now = time.perf_counter()
            if isinstance(message, bytes):
                if self.first_audio is None:
                    self.first_audio = now
            else:
                event = json.loads(message)
                self.events.append((now, str(event.get("event")), event))
            self._changed.set()

    def expect(self) -> int:
        """Forget the audio heard so far; events from the returned index on are new."""
        self.first_audio = None
        return len(self.events)

    def after(self, since: int, name: str) -> Optional[tuple[float, dict[str, Any]]]:
        for at, kind, event in self.events[since:]:
            if kind == name:
                return at, event
        return None

    async def line(self, pcm: bytes, until: Any, timeout: float = ANSWER_TIMEOUT_S) -> float:
        """Send ``pcm`` then silence, 20 ms at a time at real time, until ``until()`` holds;
        the time the last frame of ``pcm`` went out."""
        loop_start = time.perf_counter()
        deadline = loop_start + len(pcm) / 32000 + timeout
        quiet = bytes(FRAME_BYTES)
        sent = 0
        ended = loop_start
        n = 0
        while True:
            if sent >= len(pcm) and until():
                return ended  # before waiting: the next call's first frame is due next
            # A frame goes out once it has been captured, as a phone sends it.
            due = loop_start + (n + 1) * FRAME_S
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if sent < len(pcm):
                await self.ws.send(pcm[sent : sent + FRAME_BYTES].ljust(FRAME_BYTES, b"\0"))
                sent += FRAME_BYTES
                ended = time.perf_counter()
            else:
                await self.ws.send(quiet)
            if self._reader.done():
                raise BenchError("the voice channel closed the call")
            if time.perf_counter() > deadline:
                raise BenchError(f"no answer within {timeout:.0f} s")
            n += 1

    async def turn(self, kind: str, text: str) -> TurnTiming:
        """Say ``text``; time the answer, then let it play out."""
        pcm, voiced = speech_pcm(text)
        since = self.expect()
        spoken_end: list[float] = []
        # The end of speech is when the last voiced frame went out: the speech is sent in
        # two parts so that moment is known exactly.
        head, tail = pcm[: voiced * FRAME_BYTES], pcm[voiced * FRAME_BYTES :]
        spoken_end.append(await self.line(head, lambda: True, timeout=5))
        await self.line(tail, lambda: self.after(since, "playback_end") is not None)
        eos = spoken_end[0]
        timing = TurnTiming(kind, text)
        heard = self.after(since, "transcript")
        if heard is not None:
            timing.transcript_s, timing.heard = heard[0] - eos, str(heard[1].get("text", ""))
        replies = self.after(since, "replies")
        if replies is not None:
            timing.replies_s, timing.replies = replies[0] - eos, list(replies[1]["texts"])
        if self.first_audio is not None:
            timing.audio_s = self.first_audio - eos
        return timing

    async def greeting(self) -> None:
        since = self.expect()
        await self.line(b"", lambda: self.after(since, "playback_end") is not None)

    async def close(self) -> None:
        await self.ws.send(json.dumps({"hangup": True}))
        await self.ws.close()
        self._reader.cancel()
        await asyncio.gather(self._reader, return_exceptions=True)


async def one_call(base: str, sender: str, kind: str, texts: Sequence[str]) -> list[TurnTiming]:
    from websockets.client import connect

    from anxin.config import rest_auth

    # No language hint: the transcriber detects it, as for a caller with no profile yet.
    url = f"{base}/webhooks/voice/stream?sender={sender}"
    async with connect(url, max_size=None, extra_headers=rest_auth()) as ws:
        call = Call(ws)
        try:
            await call.greeting()
            return [await call.turn(kind, text) for text in texts]
        finally:
            await call.close()


async def calls(base: str, run_id: str, singles: Sequence[str], bookings: int,
                day: date) -> list[TurnTiming]:  # fmt: skip
    """One call after another (never two at once: this is latency, not load)."""
    turns: list[TurnTiming] = []
    for i, text in enumerate(singles):
        turns += await one_call(base, f"{SENDER_PREFIX}{run_id}-s{i}", "single", [text])
    for i in range(bookings):
        said = booking_turns(day, NAMES[i % len(NAMES)])
        turns += await one_call(base, f"{SENDER_PREFIX}{run_id}-b{i}", "booking", said)
    return turns


def start_stack(tmp: Path, rasa_port: int, actions_port: int, model: Optional[str]) -> Stack:
    from anxin.config import RunSettings
    from anxin.stack import child_env, processes, setup, write_credentials, write_endpoints
    from care.config import CareSettings

    require_free(rasa_port, "--rasa-port")
    require_free(actions_port, "--actions-port")
    run = dataclasses.replace(
        RunSettings.from_env(), rasa_port=rasa_port, actions_port=actions_port
    )
    care = dataclasses.replace(  # on the real clock, whatever ANXIN_NOW says
        CareSettings.from_env(), db_url=f"sqlite:///{tmp / 'bench.db'}", clock_offset=None
    )
    rasa_model = setup(run, care)
    env = {**os.environ, **child_env(run, care), "ANXIN_TTS_ENGINE": "espeak"}
    if model:
        env["ANXIN_WHISPER_MODEL"] = model
    for other in ("ANXIN_NOW", "ANXIN_CLOCK_OFFSET_S", "ANXIN_TELEGRAM_TOKEN",
                  "ANXIN_WECHAT_TOKEN", "ANXIN_AUDIOSOCKET_PORT"):  # fmt: skip
        env.pop(other, None)  # the real clock; the voice channel only
    files = dataclasses.replace(run, var_dir=tmp)  # not the shared var/
    credentials, endpoints = write_credentials(files, env), write_endpoints(files)
    children = {
        name: Child(f"anxin {name}", argv, run.root, env, tmp / f"anxin-{name}.log")
        for name, argv in processes(run, rasa_model, credentials, endpoints).items()
    }
    return Stack(children, care.db_url, rasa_port, actions_port, model or "default (base, PyPI)")


def voice_ready(port: int) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/webhooks/voice/", timeout=5) as r:
            health = json.loads(r.read())
    except (OSError, ValueError):
        return False
    if not health.get("transcriber") or not health.get("synthesizer"):
        raise BenchError("the voice channel has no transcriber or no synthesizer")
    return True


def confirmed_voice_meals(care_url: str, prefix: str) -> int:
    from anxin.bench.dialogue import confirmed_meals
    from care.config import CareSettings
    from care.services import build

    care = build(dataclasses.replace(CareSettings.from_env(), db_url=care_url, clock_offset=None))
    try:
        return confirmed_meals(care, prefix, "voice")
    finally:
        care.close()


def measure(stack: Stack, singles: Sequence[str], bookings: int) -> VoiceCallResult:
    from anxin.bench.rest import webhook
    from channels.voice_session import SessionSettings

    children = list(stack.children.values())
    base = f"http://127.0.0.1:{stack.rasa_port}"
    result = VoiceCallResult(stack.model_name, SessionSettings.from_env().silence_s)
    actions = f"http://127.0.0.1:{stack.actions_port}/health"
    result.ready_s = wait_ready(
        webhook(base), "hello", children, lambda: voice_ready(stack.rasa_port) and http_ok(actions)
    )
    ws_base = base.replace("http://", "ws://")
    run_id = uuid.uuid4().hex[:6]
    day = booking_day(datetime.now(ZoneInfo("Asia/Shanghai")).date())
    # One call first, not counted: the first transcription sets up the VAD and caches.
    asyncio.run(calls(ws_base, f"{run_id}w", ["Hello"], 0, day))
    load_before = os.getloadavg()[0]
    machine, own = machine_busy_seconds(), own_cpu()
    cpu = {n: -tree_cpu(c.proc.pid) for n, c in stack.children.items()}
    started = time.perf_counter()
    result.turns = asyncio.run(calls(ws_base, run_id, singles, bookings, day))
    result.seconds = time.perf_counter() - started
    result.cpu_s = {n: cpu[n] + tree_cpu(c.proc.pid) for n, c in stack.children.items()}
    own = own_cpu() - own
    other = machine_busy_seconds() - machine - own - sum(result.cpu_s.values())
    result.other_cores = max(0.0, other) / result.seconds if machine else None
    result.load = (load_before, os.getloadavg()[0])
    for c in children:
        c.check()
    result.bookings_expected = bookings
    result.bookings_said = sum(
        1 for t in result.turns if t.kind == "booking" and t.said == CONFIRM
        and any("booked" in r for r in t.replies)
    )  # fmt: skip
    result.bookings_in_db = confirmed_voice_meals(stack.care_url, f"{SENDER_PREFIX}{run_id}-b")
    result.notes.append(f"lunch booked for {day:%A %Y-%m-%d}; database {stack.care_url}")
    return result


def bench(tmp: Path, rasa_port: int, actions_port: int, model: Optional[str],
          singles: Sequence[str], bookings: int) -> VoiceCallResult:  # fmt: skip
    stack = start_stack(tmp, rasa_port, actions_port, model)
    try:
        return measure(stack, singles, bookings)
    finally:
        for c in stack.children.values():
            c.stop()


def command_line(model: Optional[str], rasa_port: int, actions_port: int, singles: int,
                 bookings: int, write: Optional[str]) -> str:  # fmt: skip
    parts = ["anxin bench voice --stack"]
    if model:
        parts.append(f"--model {model}")
    if singles != len(SINGLE):
        parts.append(f"--singles {singles}")
    if bookings != 3:
        parts.append(f"--bookings {bookings}")
    if (rasa_port, actions_port) != (5045, 5095):
        parts.append(f"--rasa-port {rasa_port} --actions-port {actions_port}")
    if write:
        parts.append(f"--write {write}")
    return " ".join(parts)


def voice_call_bench(
    model: Optional[str] = None,
    rasa_port: int = 5045,
    actions_port: int = 5095,
    singles: int = len(SINGLE),
    bookings: int = 3,
    write: Optional[str] = None,
    keep: bool = False,
) -> int:
    """Exit code 1 when the bench broke, a turn got no speech back or a booking is missing.

    The latency target is printed as a verdict, not an exit code: a busy machine is not
    a broken channel.
    """
    from anxin.config import RunSettings
    from voice.bench import _cpu

    if not 0 <= singles <= len(SINGLE) or bookings < 0 or singles + bookings == 0:
        print(f"anxin: --singles between 0 and {len(SINGLE)}, --bookings not negative, "
              "and at least one call", file=sys.stderr)  # fmt: skip
        return 2
    result = in_scratch(
        "voice --stack", "voice", keep,
        lambda tmp: bench(tmp, rasa_port, actions_port, model, SINGLE[:singles], bookings),
    )  # fmt: skip
    if result is None:
        return 1
    command = command_line(model, rasa_port, actions_port, singles, bookings, write)
    table = format_table(result, command, _cpu(), commit_of(RunSettings.from_env().root))
    print("\n".join(result.notes))
    print(format_turns(result) + "\n")
    print(table)
    if write:
        append(Path(write), table)
    whole = all(t.answered for t in result.turns) and result.bookings_in_db == bookings
    return 0 if whole else 1
