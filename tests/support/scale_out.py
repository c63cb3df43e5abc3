"""A scaled-out stack for the tests: a private PostgreSQL schema, a private Redis prefix,
a second Rasa server beside ``anxin run`` (a replica sharing Redis and the action server),
and messages sent at one instant.

Used by the tests that prove several processes never share a connection nor a
conversation's turn (tests/integration/test_scale_out.py).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Sequence, TypeVar

from sqlalchemy import create_engine, text

from anxin.config import RunSettings
from anxin.stack import child_env, processes
from care.config import CareSettings
from tests.support.rasa_api import api_url

PG_URL = os.environ.get("ANXIN_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("ANXIN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

T = TypeVar("T")


@contextmanager
def private_pg_database() -> Iterator[str]:
    """A URL of the test database whose tables live in a schema of their own, dropped after."""
    schema = f"anxin_scale_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL, future=True)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@contextmanager
def private_redis_prefix() -> Iterator[str]:
    """A key prefix (letters and digits, as Rasa's stores want) whose keys go afterwards."""
    import redis

    prefix = f"test{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
        client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def replica(stack_env: dict[str, str], log: Path) -> Iterator[int]:
    """A second Rasa server for the stack ``anxin run`` started with ``stack_env``: the same
    model, endpoints (Redis tracker and lock stores) and channels, its own port, the same
    action server and database; its output in ``log``. Yields its port once its model is
    loaded. The command line is the one ``anxin run`` uses (anxin.stack.processes)."""
    port = free_port()
    env = {**stack_env, "ANXIN_RASA_PORT": str(port)}
    run = RunSettings.from_env(env)
    var = run.var_dir
    model = max(run.models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    argv = processes(run, model, var / "credentials.yml", var / "endpoints.yml")["rasa"]
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            argv,
            cwd=run.root,
            env={**env, **child_env(run, CareSettings.from_env(env))},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        while not _model_loaded(port):
            assert proc.poll() is None, log.read_text(encoding="utf-8")[-4000:]
            assert time.monotonic() < deadline, log.read_text(encoding="utf-8")[-4000:]
            time.sleep(1)
        yield port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _model_loaded(port: int) -> bool:
    try:
        with urllib.request.urlopen(api_url(port, "/status"), timeout=5) as resp:
            return bool(json.loads(resp.read()).get("model_file"))
    except OSError:
        return False


def at_once(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call on its own thread, all released at the same instant; their results
    in order (an exception is re-raised here)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    for r in results:
        if isinstance(r, BaseException):
            raise r
    return results


def rest_post(port: int, sender: str, message: str, timeout: float = 60) -> tuple[int, Any]:
    """One message through the REST channel: (status, the JSON answer or the error body)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return int(err.code), err.read().decode("utf-8", "replace")
    except OSError as exc:  # no answer at all (a timeout, a reset)
        return 0, type(exc).__name__


@dataclass(frozen=True)
class Turns:
    """A tracker read as turns: each user message and what followed it up to the next."""

    texts: list[str]  # the user messages, in the tracker's order
    problems: list[str]  # turns that overlapped or never ended

    @classmethod
    def of(cls, events: Sequence[dict[str, Any]]) -> Turns:
        texts: list[str] = []
        problems: list[str] = []
        turn: list[dict[str, Any]] = []

        def close(turn: list[dict[str, Any]]) -> None:
            if not turn:
                return
            bots = [e for e in turn if e["event"] == "bot"]
            ends = turn[-1]["event"] == "action" and turn[-1].get("name") == "action_listen"
            if not bots or not ends:
                # A second message came in before this one's answer was done.
                problems.append(f"turn {len(texts)}: {len(bots)} bot message(s), ended={ends}")

        for e in events:
            if e["event"] == "user":
                close(turn)
                texts.append(str(e.get("text")))
                turn = [e]
            elif turn:
                turn.append(e)
        close(turn)
        return cls(texts, problems)


def rasa_processes(port: int) -> list[int]:
    """Pids of the Rasa server on ``port``: its main process and the workers it forked."""
    return _processes(["anxin.rasa_server"], f"ANXIN_RASA_PORT={port}")


def action_server_processes(port: int) -> list[int]:
    """Pids of the action server on ``port`` (``python -m anxin actions``) and its workers."""
    return _processes(["anxin", "actions"], f"ANXIN_ACTIONS_PORT={port}")


def _processes(args: list[str], env: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if all(a.encode() in argv for a in args) and env.encode() in environ:
            found.append(int(entry.name))
    return found


def _owner(server_port: int, client_port: int, pids: Sequence[int]) -> Optional[int]:
    """The process holding the server's end of a loopback TCP connection (from /proc)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{server_port:04X}") and fields[2].endswith(f":{client_port:04X}"):
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


class Connection:
    """A kept-alive HTTP connection to a Rasa server (and, given the server's pids, the
    worker process that accepted it: it stays with that worker).

    ``ready`` sends a REST message but its last byte, ``go`` that byte and reads the
    answer: requests made ready on several connections and then let go at once reach
    their servers within a fraction of a millisecond of each other."""

    def __init__(self, port: int, pids: Sequence[int] = ()) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.sendall(b"GET /version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        self._answer()
        self.worker = _owner(port, self.sock.getsockname()[1], pids) if pids else None
        self._last = b""

    def _answer(self) -> tuple[int, bytes]:
        resp = http.client.HTTPResponse(self.sock)
        resp.begin()
        return int(resp.status), resp.read()

    def ready(self, sender: str, message: str) -> None:
        body = json.dumps({"sender": sender, "message": message}).encode()
        request = (
            "POST /webhooks/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.sock.sendall(request[:-1])
        self._last = request[-1:]

    def go(self) -> tuple[int, Any]:
        """(status, the JSON answer or the error body); status 0: no answer at all."""
        try:
            self.sock.sendall(self._last)
            status, raw = self._answer()
        except OSError as exc:
            return 0, type(exc).__name__
        return status, json.loads(raw) if status == 200 else raw.decode("utf-8", "replace")

    def request(
        self, path: str, body: bytes, content_type: str, timeout: float = 120
    ) -> tuple[int, Any]:
        """POST ``body`` to ``path`` on this connection's worker: (status, JSON answer)."""
        self.sock.settimeout(timeout)
        self.sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status, raw = self._answer()
        return status, json.loads(raw) if raw.startswith(b"{") or raw.startswith(b"[") else raw

    def close(self) -> None:
        self.sock.close()


@contextmanager
def connections(ports: Sequence[int], pairs: int) -> Iterator[list[tuple[Connection, ...]]]:
    """``pairs`` pairs of connections, the first of each to ``ports[0]``, the second to
    ``ports[1]`` (two servers)."""
    made = [tuple(Connection(port) for port in ports) for _ in range(pairs)]
    try:
        yield made
    finally:
        for pair in made:
            for conn in pair:
                conn.close()


@contextmanager
def one_on_each_worker(port: int, pairs: int) -> Iterator[list[tuple[Connection, ...]]]:
    """``pairs`` pairs of connections to a server of two workers, the two of each pair
    served by different workers: two requests sent on a pair at once are handled by two
    processes at once (Sanic's workers accept connections as they come, and one idle
    worker takes a whole burst of them)."""
    pids = rasa_processes(port)
    by_worker: dict[Optional[int], list[Connection]] = {}
    try:
        for _ in range(pairs * 40):
            conn = Connection(port, pids)
            by_worker.setdefault(conn.worker, []).append(conn)
            found = [conns for worker, conns in by_worker.items() if worker is not None]
            if len(found) >= 2 and all(len(conns) >= pairs for conns in found[:2]):
                yield list(zip(found[0][:pairs], found[1][:pairs], strict=True))
                return
        counts = {worker: len(conns) for worker, conns in by_worker.items()}
        raise AssertionError(f"connections by worker: {counts}")
    finally:
        for conns in by_worker.values():
            for conn in conns:
                conn.close()
