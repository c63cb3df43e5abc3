"""Run a piece of a test in a forked child, as Sanic runs its workers."""

from __future__ import annotations

import os
import time
from typing import Any, Callable


def in_child(work: Callable[[], Any], timeout_s: float = 30.0) -> str:
    """Fork, run ``work()`` in the child; what it returned (as text), else "failed: …"
    (an exception, or no answer within ``timeout_s``: the child is then killed)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report, and leave without running the parent's cleanup
        code = 0
        try:
            os.write(write, str(work()).encode())
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            os.write(write, f"failed: {type(exc).__name__}: {exc}".encode()[:4000])
            code = 1
        finally:
            os._exit(code)
    os.close(write)
    deadline = time.monotonic() + timeout_s
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            os.close(read)
            return "failed: the child hung"
        time.sleep(0.02)
    with os.fdopen(read, "rb") as got:
        return got.read().decode()
