"""The servers a benchmark starts and what they cost (used by ``anxin bench dialogue``).

A server runs as a :class:`Child` in its own process group with its output in a
log file; :func:`wait_ready` waits for its first answer. Memory (peak RSS) and
CPU time of a server's whole process tree are read from Linux ``/proc``.
"""

from __future__ import annotations

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
from pathlib import Path
from typing import IO, Callable, Optional, Sequence, TypeVar

from anxin.bench.rest import post

READY_TIMEOUT_S = 300
STOP_TIMEOUT_S = 30

T = TypeVar("T")


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


def _tree_sum(pid: int, read: Callable[[int], float]) -> float:
    """``read(p)`` summed over a process and its descendants; one that cannot be read adds 0."""
    total: float = 0
    for p in tree(pid):
        try:
            total += read(p)
        except (OSError, IndexError, ValueError):
            pass
    return total


def tree_rss(pid: int) -> int:
    """Resident memory of a process and its descendants, in bytes (0 once it is gone)."""
    page = os.sysconf("SC_PAGE_SIZE")

    def rss(p: int) -> int:
        return int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page

    return int(_tree_sum(pid, rss))


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and its live descendants."""
    ticks = os.sysconf("SC_CLK_TCK")

    def cpu(p: int) -> float:
        fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks

    return float(_tree_sum(pid, cpu))


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (0.0 without /proc/stat)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    # guest time is already counted in user time
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
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


def require_free(port: int, option: str) -> None:
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


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status == 200
    except OSError:
        return False


def in_scratch(name: str, prefix: str, keep: bool, run: Callable[[Path], T]) -> Optional[T]:
    """``run`` in a throwaway directory; None, with the reason printed, when it broke.

    The directory (server logs, the bench's database) is kept when asked, or when the
    bench broke, so its logs can be read.
    """
    tmp = Path(tempfile.mkdtemp(prefix=f"anxin-bench-{prefix}-"))
    try:
        return run(tmp)
    except BenchError as exc:
        print(f"anxin: bench {name}: {exc}", file=sys.stderr)
        if exc.child is not None:
            print(f"--- last lines of {exc.child.log}:\n{exc.child.tail()}", file=sys.stderr)
        keep = True
        return None
    finally:
        if keep:
            print(f"anxin: logs and the throwaway database are in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
