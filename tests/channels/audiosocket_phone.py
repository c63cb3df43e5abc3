"""A hotline for the AudioSocket stack tests: the Rasa server as the dialplan reaches it
(``Hotline``), and a phone call as Asterisk makes it (``Phone``: a plain asyncio TCP
client speaking AudioSocket — the call's UUID first, then 20 ms of 8 kHz PCM every
20 ms, quiet when the caller says nothing, keys as DTMF messages).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import wave
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from care.senders import sender_id
from channels import audiosocket_protocol as wire
from tests.channels.stacks import ChannelStack
from tests.integration.test_stack import ROOT, free_port, post, rasa_ready, start, stop
from tests.support.clock import stack_care
from tests.support.rasa_api import tracker_events

SECRET = "hotline-Secret_42"
RATE = 8_000
FRAME = 320  # 20 ms at 8 kHz


class Hotline(ChannelStack):
    def __init__(self, stack: ChannelStack, audiosocket_port: int) -> None:
        super().__init__(stack.port, stack.care, stack.out)
        self.audiosocket_port = audiosocket_port

    def register(self, call: uuid.UUID, caller: str, secret: Optional[str] = SECRET,
                 body: Optional[bytes] = None, json_body: bool = False) -> int:  # fmt: skip
        """The dialplan's ``CURL()`` before ``AudioSocket()``; the HTTP status."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if secret is not None:
            headers["X-Anxin-Secret"] = secret
        if body is None:
            fields = {"uuid": str(call), "caller": caller}
            if json_body:
                headers["Content-Type"] = "application/json"
                body = json.dumps(fields).encode()
            else:
                body = urllib.parse.urlencode(fields).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/webhooks/voice/audiosocket/calls",
            data=body,
            headers=headers,
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return int(resp.status)
        except urllib.error.HTTPError as err:
            assert b"Traceback" not in err.read()
            return int(err.code)

    def health(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/webhooks/voice/") as resp:
            return dict(json.loads(resp.read()))

    def tracker(self, sender: str) -> list[dict[str, Any]]:
        """The events of a caller's conversation (Rasa's id: ``voice:<sender>``)."""
        return tracker_events(self.port, sender_id("voice", sender))


@contextlib.contextmanager
def running_hotline(tmp: Path) -> Iterator[Hotline]:
    """`anxin run` with the AudioSocket bridge on (Rasa, actions, Whisper real)."""
    # Train first, as `anxin run` would, but with all the time a busy machine needs: the
    # stack then only has to load the model within its own start-up limit.
    trained = subprocess.run([sys.executable, "-m", "anxin", "train"], cwd=ROOT,
                             capture_output=True, text=True, timeout=1800)  # fmt: skip
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    port = free_port()
    proc, env, out = start(tmp, ANXIN_AUDIOSOCKET_PORT=str(port),
                           ANXIN_AUDIOSOCKET_SECRET=SECRET)  # fmt: skip
    try:
        rasa_port = int(env["ANXIN_RASA_PORT"])
        try:
            rasa_ready(rasa_port, proc)
        except AssertionError:
            raise AssertionError(out.text[-4000:]) from None
        post(rasa_port, "warm-up", "你们都有啥服务")
        care = stack_care(f"sqlite:///{tmp / 'var' / 'anxin.db'}", env)  # on its clock
        try:
            yield Hotline(ChannelStack(rasa_port, care, out), port)
        finally:
            care.close()
    finally:
        stop(proc, out)


def speech(text: str, tmp: Path) -> bytes:
    """English from espeak-ng, a little slow as an elder speaks, as 8 kHz phone audio."""
    assert shutil.which("espeak-ng"), "espeak-ng is not installed (.ci/run installs it)"
    path = tmp / "said.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(path), text], check=True)
    with wave.open(io.BytesIO(path.read_bytes())) as w:
        rate, pcm = w.getframerate(), np.frombuffer(w.readframes(w.getnframes()), "<i2")
    count = int(pcm.size * RATE / rate)
    return (
        np.interp(np.arange(count) * rate / RATE, np.arange(pcm.size), pcm).astype("<i2").tobytes()
    )


def silence(seconds: float) -> bytes:
    return bytes(int(RATE * seconds) * 2)


class Phone:
    """One call as Asterisk makes it, over a plain TCP connection."""

    def __init__(self, port: int, call: uuid.UUID) -> None:
        self.port, self.call = port, call
        self.heard: list[tuple[float, bytes]] = []  # (when, 8 kHz PCM) of our audio
        self.kinds: list[int] = []  # every message kind Anxin sent
        self.sizes: set[int] = set()  # the sizes of its audio messages
        self.ended = asyncio.Event()  # Anxin closed the connection
        self._outgoing = bytearray()
        self._tasks: list[asyncio.Task[None]] = []

    async def dial(self, first: Optional[bytes] = None) -> Phone:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(first if first is not None else wire.uuid_frame(self.call))
        self._tasks = [asyncio.ensure_future(self._send()), asyncio.ensure_future(self._listen())]
        return self

    async def _send(self) -> None:
        """20 ms of audio every 20 ms, as a phone line does: what the caller says, else quiet."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not self.writer.is_closing():
            chunk = bytes(self._outgoing[:FRAME]).ljust(FRAME, b"\0")
            del self._outgoing[:FRAME]
            self.writer.write(wire.audio_frame(chunk))
            try:
                await self.writer.drain()
            except ConnectionError:
                return
            due += 0.02
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def _listen(self) -> None:
        while True:
            try:
                frame = await wire.read_frame(self.reader)
            except ConnectionError:  # closed by Anxin while we were still sending
                frame = None
            if frame is None:
                self.ended.set()
                return
            self.kinds.append(frame.kind)
            if frame.kind == wire.AUDIO:
                self.sizes.add(len(frame.payload))
                self.heard.append((time.monotonic(), frame.payload))

    async def say(self, pcm: bytes) -> float:
        """Speak, then the pause that ends a turn; returns when the speech has gone out."""
        self._outgoing += pcm + silence(1.3)
        while self._outgoing:
            await asyncio.sleep(0.02)
        return time.monotonic()

    def key(self, key: str) -> float:
        self.writer.write(wire.dtmf_frame(key))
        return time.monotonic()

    async def reply(self, after: float, quiet_s: float = 1.5, timeout: float = 120) -> bytes:
        """Our speech that started after ``after``, once it has stopped for ``quiet_s``."""
        deadline = time.monotonic() + timeout
        while True:
            assert time.monotonic() < deadline, "no spoken reply in time"
            spoken = [t for t, _ in self.heard if t > after]
            if spoken and time.monotonic() - spoken[-1] >= quiet_s:
                return b"".join(pcm for t, pcm in self.heard if t > after)
            await asyncio.sleep(0.1)

    async def hang_up(self, abort: bool = False) -> None:
        """Hang up (again is harmless: a test that failed mid-call leaves no line open)."""
        if abort:  # the line goes dead: no hang-up message, no FIN handshake
            self.writer.transport.abort()
        elif not self.writer.is_closing():
            self.writer.write(wire.hangup())
            self.writer.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def bot_texts(events: list[dict[str, Any]], after_user: int) -> str:
    """What Rasa answered after the caller's ``after_user``-th turn (1-based)."""
    users = 0
    said: list[str] = []
    for event in events:
        if event["event"] == "user":
            users += 1
        elif event["event"] == "bot" and users == after_user:
            buttons = (event.get("data") or {}).get("buttons") or []
            choices = [f"{n}. {b.get('title', '')}" for n, b in enumerate(buttons, 1)]
            said.append(" ".join([event.get("text") or "", *choices]))  # as it is spoken
    return " ".join(said)


async def answered(hotline: Hotline, sender: str, turns: int, timeout: float = 120) -> str:
    """Rasa's answer to the caller's ``turns``-th turn, once it is there."""
    deadline = time.monotonic() + timeout
    while True:
        events = await asyncio.to_thread(hotline.tracker, sender)
        users = sum(1 for e in events if e["event"] == "user")
        if users >= turns and events[-1]["event"] == "action" and \
                events[-1].get("name") == "action_listen" and bot_texts(events, turns):  # fmt: skip
            return bot_texts(events, turns)
        assert time.monotonic() < deadline, f"no answer to turn {turns}: {events[-3:]}"
        await asyncio.sleep(0.3)


def pieces(pcm_8k: bytes, at_least_s: float = 5.0, pause_s: float = 0.3) -> list[bytes]:
    """Our speech cut at its pauses into pieces of a few seconds, each to transcribe alone.

    A greeting and a notice heard as one run over Whisper's 30-second window, and the
    words where the window happened to fall were lost; where it falls moved with the
    length of the date the notice says. A piece ends at the first pause of ``pause_s``
    once it is ``at_least_s`` long (espeak-ng pauses about 0.38 s between sentences)."""
    frame = RATE // 50  # 20 ms
    samples = np.frombuffer(pcm_8k[: len(pcm_8k) // (2 * frame) * 2 * frame], "<i2")
    quiet = np.abs(samples.reshape(-1, frame).astype(np.int32)).max(axis=1) < 300
    cuts, start, run = [], 0, 0
    for i, still in enumerate(quiet):
        run = run + 1 if still else 0
        if run * 0.02 >= pause_s and (i - start) * 0.02 >= at_least_s:
            cuts.append(i)
            start, run = i, 0
    bounds = [0, *(c * 2 * frame for c in cuts), len(pcm_8k)]
    return [pcm_8k[a:b] for a, b in itertools.pairwise(bounds) if b > a]


def transcribe(pcm_8k: bytes) -> str:
    """What a listener hears in our speech: the real Whisper model, in this process."""
    from voice.base import Audio
    from voice.stt import WhisperTranscriber, load_whisper

    up = wire.Resampler(RATE, 16_000).feed(pcm_8k)
    heard = asyncio.run(WhisperTranscriber(load_whisper()).transcribe(Audio(up), "en"))
    return heard.text.lower()


def tone(seconds: float, amplitude: int = 4000) -> bytes:
    t = np.arange(int(RATE * seconds)) / RATE
    return (amplitude * np.sin(2 * np.pi * 300 * t)).astype("<i2").tobytes()
