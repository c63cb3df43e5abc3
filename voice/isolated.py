"""People's audio decoded in separate processes, so that no upload can take the server down.

ffmpeg is C: a file it mishandles can crash or hang the process that decodes it, and in
the Rasa process that is every conversation at once. So audio that came from people
(voice uploads, Telegram voice notes, WeChat voice messages) is checked here first
(voice/probe.py, pure Python: the reason for a refusal is precise and costs no decoder),
then decoded by a decoder process (voice/decode_worker.py) under limits:

- a wall-time limit per decode (``ANXIN_DECODER_TIMEOUT_S``, 10 s; a 60 s upload decodes
  in well under a second): past it the process is killed;
- a memory limit (``RLIMIT_AS``: what the process had after start-up plus
  ``ANXIN_DECODER_MEMORY_MB``, 256), and no core files (people's audio);
- ``ANXIN_DECODER_WORKERS`` processes (2) at most, started when first needed and kept
  for the next turn (a new interpreter per turn would cost ~0.2 s of the voice latency);
  a turn waits for a free one at most 10 s (then 503), and that wait is not counted
  against its decode.

A decoder process that crashes, hangs or runs out of memory raises UnsupportedAudio for
that audio (HTTP 415, a kind "please say it again" on the messaging channels) and is
replaced by a fresh one at the next decode. It is a new interpreter (``subprocess`` with
``close_fds``), never a fork of the server: it holds no database connection, event loop
or lock of the server's, and its environment carries none of the server's secrets. If
the server's process is itself forked after decoders started (Sanic's workers), the new
process leaves them to their owner and starts its own.

Raw telephony audio (16-bit PCM, μ-law) never reaches a demuxer (``codecs.decode_raw``)
and is converted in the caller's process. The server and a decoder process speak over a
socket pair: a message is two lengths (``<IQ``), a JSON header and a body of bytes.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from voice import codecs, probe
from voice.base import (
    SAMPLE_RATE,
    SAMPLE_WIDTH,
    Audio,
    AudioTooLarge,
    DecoderUnavailable,
    UnsupportedAudio,
)

log = logging.getLogger(__name__)

_FRAME = struct.Struct("<IQ")  # header length, body length
MAX_HEADER = 64 * 1024
# The most a decoder may answer: a minute of 16 kHz PCM (codecs stops just past it).
MAX_PCM = int((probe.MAX_SECONDS + 1) * SAMPLE_RATE) * SAMPLE_WIDTH
START_TIMEOUT_S = 30.0  # a busy machine starts an interpreter slowly; never a turn's limit
ROOT = Path(__file__).resolve().parent.parent  # where the voice package is imported from
_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "VIRTUAL_ENV")


@dataclass(frozen=True)
class DecoderSettings:
    workers: int = 2
    timeout_s: float = 10.0  # one decode
    memory_mb: int = 256
    wait_s: float = 10.0  # for a free decoder, when every one is busy

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> DecoderSettings:
        env = os.environ if env is None else env
        return cls(
            workers=max(1, int(env.get("ANXIN_DECODER_WORKERS", cls.workers))),
            timeout_s=max(0.1, float(env.get("ANXIN_DECODER_TIMEOUT_S", cls.timeout_s))),
            memory_mb=max(1, int(env.get("ANXIN_DECODER_MEMORY_MB", cls.memory_mb))),
        )


# The wire ---------------------------------------------------------------------------


def send_message(sock: socket.socket, header: dict[str, Any], body: bytes = b"") -> None:
    head = json.dumps(header).encode()
    sock.sendall(_FRAME.pack(len(head), len(body)) + head)
    if body:
        sock.sendall(body)


def recv_message(
    sock: socket.socket, max_body: int, deadline: Optional[float] = None
) -> tuple[dict[str, Any], bytes]:
    """One message; EOFError when the other end closed, socket.timeout past ``deadline``."""
    head_len, body_len = _FRAME.unpack(_recv_exactly(sock, _FRAME.size, deadline))
    if head_len > MAX_HEADER or body_len > max_body:
        raise ValueError(f"message of {head_len} + {body_len} bytes")
    header = json.loads(_recv_exactly(sock, head_len, deadline))
    if not isinstance(header, dict):
        raise ValueError("message header is not an object")
    return header, _recv_exactly(sock, body_len, deadline)


def _recv_exactly(sock: socket.socket, count: int, deadline: Optional[float]) -> bytes:
    buf = bytearray()
    while len(buf) < count:
        if deadline is not None:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
        chunk = sock.recv(min(count - len(buf), 1 << 20))
        if not chunk:
            raise EOFError("the other end closed")
        buf += chunk
    return bytes(buf)


# One decoder process ------------------------------------------------------------------


class _Child:
    """A decoder process and the server's end of its socket."""

    def __init__(self, settings: DecoderSettings) -> None:
        ours, theirs = socket.socketpair()
        # Only what an interpreter needs: none of the server's secrets (tokens, the
        # database URL) is within reach of a decoder that a crafted file took over.
        env = {k: v for k, v in os.environ.items() if k in _ENV or k.startswith("PYTHON")}
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
        )
        # One thread each for numpy's BLAS: its per-thread arenas would eat the memory limit.
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "voice.decode_worker", str(theirs.fileno()),
                 str(settings.memory_mb)],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                env=env,
                cwd=str(ROOT),
            )  # fmt: skip
        except OSError as exc:  # no process to be had (limits, memory): the server's trouble
            ours.close()
            raise DecoderUnavailable("the audio decoder could not start") from exc
        finally:
            theirs.close()
        self.sock = ours
        self.owner = os.getpid()
        try:
            header, _ = recv_message(ours, 0, time.monotonic() + START_TIMEOUT_S)
            if not header.get("ready"):
                raise ValueError("no ready message")
        except (OSError, EOFError, ValueError) as exc:
            self.kill()
            raise DecoderUnavailable("the audio decoder did not start") from exc

    @property
    def pid(self) -> int:
        return int(self.proc.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def decode(self, data: bytes, demuxer: str, deadline: float) -> Audio:
        """The decoder's answer; UnsupportedAudio (the process killed or dead) when it
        does not come, AudioTooLarge / UnsupportedAudio as the decoder says."""
        try:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            send_message(self.sock, {"demuxer": demuxer}, data)
            header, pcm = recv_message(self.sock, MAX_PCM, deadline)
        except TimeoutError:  # socket.timeout is TimeoutError since Python 3.10
            self.kill()
            log.warning("audio decoder %d: no answer in time for %d bytes of %s: killed",
                        self.pid, len(data), demuxer)  # fmt: skip
            raise UnsupportedAudio("audio took too long to decode") from None
        except (OSError, EOFError, ValueError) as exc:
            self.kill()
            log.warning("audio decoder %d ended (%s) on %d bytes of %s: it will be replaced",
                        self.pid, _ending(self.proc.returncode), len(data), demuxer)  # fmt: skip
            raise UnsupportedAudio("audio could not be decoded") from exc
        if header.get("exit"):  # it ran out of memory: it answered, then ends
            self.kill()
        if header.get("ok"):
            return Audio(pcm)
        reason = str(header.get("reason") or "audio could not be decoded")
        if header.get("status") == AudioTooLarge.status:
            raise AudioTooLarge(reason)
        raise UnsupportedAudio(reason)

    def kill(self) -> None:
        try:
            self.sock.close()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.error("audio decoder %d did not end after SIGKILL", self.pid)

    def forget(self) -> None:
        """In a forked copy of the server: the process is not ours to stop, only our copy
        of its socket is ours to close (else it never sees its owner go away)."""
        self.sock.close()


def _ending(returncode: Optional[int]) -> str:
    if returncode is None:
        return "still running"
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


# The pool -----------------------------------------------------------------------------


class IsolatedDecoder:
    """Callable as ``decode(data, fmt_hint)``, like ``voice.codecs.decode``; thread-safe
    (channels call it through ``asyncio.to_thread``)."""

    def __init__(self, settings: DecoderSettings = DecoderSettings()) -> None:
        self.settings = settings
        self._reset()

    @classmethod
    def from_env(cls) -> IsolatedDecoder:
        return cls(DecoderSettings.from_env())

    def _reset(self) -> None:
        self._owner = os.getpid()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.settings.workers)
        self._idle: list[_Child] = []

    def _forked(self) -> None:
        """Fresh state in a process forked from the one that made this decoder."""
        if os.getpid() != self._owner:
            for child in self._idle:
                child.forget()
            self._reset()

    def __call__(self, data: bytes, fmt_hint: Optional[str] = None) -> Audio:
        return self.decode(data, fmt_hint)

    def decode(self, data: bytes, fmt_hint: Optional[str] = None) -> Audio:
        """16 kHz mono PCM; AudioTooLarge (413), UnsupportedAudio (415: not audio we take,
        or its decoder crashed or ran out of time or memory), DecoderUnavailable (503)."""
        hint = codecs.normalise_hint(data, fmt_hint)
        if hint in codecs.RAW_FORMATS:
            return codecs.decode_raw(data, hint)
        demuxer = probe.check(data, hint).demuxer
        # Waiting for a free decoder is bounded (then 503), but never eats into the time
        # the decode itself is given: a 415 must be about the audio, not the queue.
        child = self._take(time.monotonic() + self.settings.wait_s)
        try:
            return child.decode(data, demuxer, time.monotonic() + self.settings.timeout_s)
        finally:
            self._give_back(child)

    def warm(self) -> None:
        """Start a decoder process now (at server start), so the first turn does not wait."""
        self._give_back(self._take(time.monotonic() + self.settings.wait_s))

    def pids(self) -> list[int]:
        """The idle decoder processes (for operators and tests)."""
        self._forked()
        with self._lock:
            return [c.pid for c in self._idle]

    def close(self) -> None:
        self._forked()
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.kill()

    def _take(self, deadline: float) -> _Child:
        self._forked()
        if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise DecoderUnavailable("every audio decoder is busy")
        try:
            while True:
                with self._lock:
                    child = self._idle.pop() if self._idle else None
                if child is None:
                    return _Child(self.settings)
                if child.alive():
                    return child
                log.warning("audio decoder %d ended while idle (%s): replaced",
                            child.pid, _ending(child.proc.returncode))  # fmt: skip
                child.kill()
        except BaseException:
            self._slots.release()
            raise

    def _give_back(self, child: _Child) -> None:
        if child.owner != os.getpid():
            return  # taken before a fork: neither the process nor its slot is ours
        if child.alive() and child.sock.fileno() != -1:
            with self._lock:
                self._idle.append(child)
        self._slots.release()
