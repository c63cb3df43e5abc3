"""The WebSocket transport of a call (``/webhooks/voice/stream``): JSON events and PCM.

WebSocket protocol, ``/webhooks/voice/stream?sender=…[&language=zh|en]``:
caller → Anxin: binary frames of 16 kHz mono 16-bit little-endian PCM (any size), and
text frames of JSON control: ``{"dtmf": "1"}`` (a key pressed), ``{"hangup": true}``.
Anxin → caller: text frames of JSON events — ``ready``; ``transcript`` (what we heard);
``replies`` (the texts, ``keypad`` true when the keypad was offered);
``replies`` with ``staff`` true (what a person wrote, said first); ``replies`` with
``notification`` true (the care centre's messages, after the greeting); ``playback_start``
/ ``playback_end`` around our speech, which comes as binary PCM frames of 0.1 s;
``barge_in`` (the caller spoke or pressed a key over us: drop what is buffered).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Optional

from sanic.exceptions import WebsocketClosed
from websockets.exceptions import ConnectionClosed

from channels.voice_call import CallEngine
from channels.voice_engines import Engines
from channels.voice_session import SessionSettings
from voice.base import SAMPLE_RATE

if TYPE_CHECKING:
    from channels.voice_conversations import Conversations


class WebSocketCall:
    """The WebSocket transport: JSON events and 0.1 s binary frames over one socket."""

    frame_s = 0.1
    # Sent a little faster than real time, so the caller's buffer never runs dry.
    pace = 0.9
    closed: tuple[type[BaseException], ...] = (ConnectionClosed, WebsocketClosed)

    def __init__(
        self,
        ws: Any,
        sender: str,
        language: str,
        engines: Engines,
        conversations: Conversations,
        settings: SessionSettings = SessionSettings(),
        hint: Optional[str] = None,
    ) -> None:
        self.ws = ws
        self.call = CallEngine(self, sender, language, engines, conversations, settings, hint)

    async def run(self) -> None:
        try:
            await self.event({"event": "ready", "sample_rate": SAMPLE_RATE,
                              "format": "pcm_s16le", "language": self.call.language})  # fmt: skip
            await self.call.open()
            while True:
                message = await self.ws.recv()
                if message is None:
                    break
                if isinstance(message, (bytes, bytearray, memoryview)):
                    await self.call.audio(bytes(message))
                elif not await self._control(message):
                    break
        except self.closed:
            pass  # the caller hung up or the line dropped: the call simply ends
        finally:
            await self.call.close()

    async def _control(self, message: str) -> bool:
        """A control message; False when the caller hangs up."""
        try:
            control = json.loads(message)
        except ValueError:
            return True  # not ours to understand: ignored, the call goes on
        if not isinstance(control, dict):
            return True
        if control.get("hangup"):
            return False
        digit = control.get("dtmf")
        if isinstance(digit, (str, int)) and not isinstance(digit, bool):
            await self.call.key(str(digit))
        return True

    async def event(self, event: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(event, ensure_ascii=False))

    async def audio(self, pcm: bytes) -> None:
        await self.ws.send(pcm)
