"""Stand-ins for Microsoft's edge-tts service, which this machine cannot reach.

``FakeEdgeService`` speaks edge-tts's real WebSocket protocol (speech.config and SSML in;
turn.start, binary audio frames with a 2-byte header length, turn.end out) and answers
with a 440 Hz tone as MP3, so a test can tell its audio from espeak-ng's. ``Blackhole``
accepts TCP connections and never answers: an unreachable service, as a firewall makes it.
"""

from __future__ import annotations

import re
import socket
import uuid
from typing import List

import numpy as np
from aiohttp import WSMsgType, web

from voice import codecs

TONE_HZ = 440.0


def _tone_mp3(seconds: float) -> bytes:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return codecs.encode(codecs.from_samples(0.4 * np.sin(2 * np.pi * TONE_HZ * t)), "mp3")


class FakeEdgeService:
    def __init__(self) -> None:
        self.ssml: List[str] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        # edge-tts appends "&ConnectionId=…", so the URL carries a query already.
        return f"ws://127.0.0.1:{self.port}/edge/v1?TrustedClientToken=test"

    async def start(self) -> FakeEdgeService:
        app = web.Application()
        app.router.add_get("/edge/v1", self._ws)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        request_id = uuid.uuid4().hex
        async for msg in ws:
            if msg.type != WSMsgType.TEXT or "Path:ssml" not in msg.data:
                continue  # speech.config first; the SSML is the turn
            ssml = msg.data.split("\r\n\r\n", 1)[1]
            self.ssml.append(ssml)
            text = re.sub(r"<[^>]+>", "", ssml)
            await ws.send_str(self._text(request_id, "turn.start", "{}"))
            mp3 = _tone_mp3(0.2 + 0.1 * len(text))
            for start in range(0, len(mp3), 4096):  # the service streams in pieces
                await ws.send_bytes(self._audio(request_id, mp3[start : start + 4096]))
            await ws.send_str(self._text(request_id, "turn.end", "{}"))
        return ws

    @staticmethod
    def _text(request_id: str, path: str, body: str) -> str:
        return (
            f"X-RequestId:{request_id}\r\nContent-Type:application/json; charset=utf-8\r\n"
            f"Path:{path}\r\n\r\n{body}"
        )

    @staticmethod
    def _audio(request_id: str, data: bytes) -> bytes:
        headers = (
            f"X-RequestId:{request_id}\r\nContent-Type:audio/mpeg\r\nPath:audio\r\n"
        ).encode()
        return len(headers).to_bytes(2, "big") + headers + data


class Blackhole:
    """A listening socket whose connections are accepted by the kernel and never served."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/edge/v1?TrustedClientToken=test"

    def close(self) -> None:
        self.sock.close()
