"""A Sanic 21.12 server in a process of its own, with anxin/http_guard.py installed as the
Rasa and action servers install it: a small app (``app``: an HTTP route and a WebSocket
route) or rasa-sdk's own action server (``sdk``, with no actions).

``python -m tests.support.guarded_sanic PORT app|sdk``; tests use ``serving``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(kind: str, timeout: float = 60) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.guarded_sanic", str(port), kind],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert proc.poll() is None, f"the {kind} server stopped"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"the {kind} server did not start"
                time.sleep(0.1)
        yield port, proc
    finally:
        proc.kill()  # a frozen event loop would not act on SIGTERM
        proc.wait()


def _app(port: int) -> None:
    from sanic import Sanic, response

    from anxin import http_guard

    http_guard.install()
    app = Sanic("guarded")

    @app.route("/x", methods=["GET", "POST", "HEAD"])
    async def x(request):  # type: ignore[no-untyped-def]
        return response.json({"bytes": len(request.body)})

    @app.websocket("/ws")
    async def ws(request, ws):  # type: ignore[no-untyped-def]
        await ws.send("hello")

    app.run(host="127.0.0.1", port=port, access_log=False)


def _sdk(port: int) -> None:
    import types

    from rasa_sdk.endpoint import run

    from anxin import http_guard

    http_guard.install_action_server()
    os.environ["SANIC_HOST"] = "127.0.0.1"
    run(types.ModuleType("no_actions"), port=port)


if __name__ == "__main__":
    {"app": _app, "sdk": _sdk}[sys.argv[2]](int(sys.argv[1]))
