"""``anxin call``: a phone-style session from the terminal against a running Anxin.

Each ``--wav`` file is one spoken turn, posted to the voice channel
(``POST /webhooks/voice/turn``) in order, as one caller; what was heard and the replies
are printed, and the reply speech is saved as ``turn-N.wav`` under ``--out``.

``--audiosocket HOST:PORT`` calls the telephony bridge instead, as a hotline's Asterisk
would (docs/telephony.md): 8 kHz audio in 20 ms messages, ``key:N`` turns pressed as
DTMF, ``--caller NUMBER`` registered first (with ``ANXIN_AUDIOSOCKET_SECRET``). A phone
line carries only sound, so what is saved is what the caller heard.
"""

from __future__ import annotations

import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Optional, Sequence

CONTENT_TYPES = {
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".amr": "audio/amr",
}


def turn(
    base_url: str, sender: str, audio: bytes, content_type: str, language: Optional[str] = None
) -> tuple[int, dict[str, Any]]:
    """One spoken turn: the HTTP status and the channel's JSON answer (ANXIN_REST_TOKEN
    is sent when set)."""
    from anxin.config import rest_auth

    query = {"sender": sender, **({"language": language} if language else {})}
    url = f"{base_url.rstrip('/')}/webhooks/voice/turn?{urllib.parse.urlencode(query)}"
    headers = {"Content-Type": content_type, **rest_auth()}
    req = urllib.request.Request(url, data=audio, headers=headers)
    try:
        # A first transcription loads nothing (models load at start-up) but a busy
        # machine may take a while on a long turn.
        with urllib.request.urlopen(req, timeout=120) as resp:
            return int(resp.status), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        try:
            body = json.loads(err.read())
        except ValueError:
            body = {}
        return int(err.code), body if isinstance(body, dict) else {}


def call(
    base_url: str,
    wavs: Sequence[str],
    out_dir: Optional[str] = None,
    sender: Optional[str] = None,
    language: Optional[str] = None,
) -> int:
    sender = sender or f"call-{uuid.uuid4().hex[:12]}"
    out = Path(out_dir) if out_dir else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    print(f"anxin call: {base_url} as {sender}")
    for number, name in enumerate(wavs, 1):
        path = Path(name)
        try:
            audio = path.read_bytes()
        except OSError as exc:
            print(f"anxin call: {path}: {exc.strerror}", file=sys.stderr)
            return 2
        content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
        try:
            status, answer = turn(base_url, sender, audio, content_type, language)
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            print(f"anxin call: no Anxin at {base_url} ({reason}); start it with `anxin run`",
                  file=sys.stderr)  # fmt: skip
            return 1
        if status != 200:
            print(f"anxin call: {path.name}: HTTP {status} {answer.get('error', '')}",
                  file=sys.stderr)  # fmt: skip
            return 1
        heard = answer.get("transcript") or "(nothing heard)"
        print(f"[{number}] you ({answer.get('language', '?')}): {heard}")
        for reply in answer.get("replies", []):
            print(f"[{number}] anxin: {reply}")
        if out is not None and answer.get("audio"):
            saved = out / f"turn-{number}.{answer.get('format', 'wav')}"
            saved.write_bytes(base64.b64decode(answer["audio"]))
            print(f"[{number}] reply audio: {saved}")
    return 0


def microphone() -> int:
    """``--mic``: only where there is a sound input device."""
    try:
        import sounddevice  # type: ignore[import-not-found]

        has_input = any(d.get("max_input_channels", 0) > 0 for d in sounddevice.query_devices())
    except Exception:  # not installed, or no PortAudio: either way no microphone to use
        has_input = False
    if not has_input:
        print("anxin call --mic needs a microphone, and this machine has no sound input "
              "device; record a WAV and use `anxin call --wav FILE`", file=sys.stderr)  # fmt: skip
        return 2
    print("anxin call --mic: live microphone calls are not implemented yet; record a WAV "
          "and use `anxin call --wav FILE`", file=sys.stderr)  # fmt: skip
    return 2


# ``anxin call --audiosocket HOST:PORT``: the call as a hotline's Asterisk makes it ---------

FRAME_S = 0.02
PHONE_RATE = 8_000


def audiosocket_call(
    address: str,
    turns: Sequence[str],
    out_dir: Optional[str] = None,
    caller: Optional[str] = None,
    base_url: Optional[str] = None,
) -> int:
    """One call to the AudioSocket bridge: each of ``turns`` is a WAV file said in turn,
    or ``key:N`` for a key pressed; the replies are saved as ``turn-N.wav`` (8 kHz).

    With ``caller``, the number is first registered at ``base_url`` as a dialplan does,
    with the secret from ``ANXIN_AUDIOSOCKET_SECRET``.
    """
    import asyncio
    import os

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        print(f"anxin call: --audiosocket {address!r} is not HOST:PORT", file=sys.stderr)
        return 2
    call_id = uuid.uuid4()
    if caller:
        secret = os.environ.get("ANXIN_AUDIOSOCKET_SECRET", "")
        status = register(base_url or "", call_id, caller, secret)
        if status != 200:
            print(f"anxin call: caller registration answered HTTP {status}", file=sys.stderr)
            return 1
    out = Path(out_dir) if out_dir else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    try:
        return asyncio.run(_phone(host, int(port), call_id, turns, out))
    except OSError as exc:
        print(f"anxin call: no AudioSocket server at {address} ({exc.strerror or exc})",
              file=sys.stderr)  # fmt: skip
        return 1


def register(base_url: str, call_id: uuid.UUID, caller: str, secret: str) -> int:
    """``POST /webhooks/voice/audiosocket/calls``, as the dialplan's ``CURL()`` does."""
    data = urllib.parse.urlencode({"uuid": str(call_id), "caller": caller}).encode()
    req = urllib.request.Request(
        f"{base_url.rstrip('/')}/webhooks/voice/audiosocket/calls",
        data=data,
        headers={"X-Anxin-Secret": secret},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except (urllib.error.URLError, OSError):
        return 0


def phone_audio(path: Path) -> bytes:
    """Any WAV as 8 kHz mono 16-bit PCM, what a phone line carries."""
    from channels.audiosocket_protocol import Resampler
    from channels.voice_engines import read_wav

    return Resampler(16_000, PHONE_RATE).feed(read_wav(path.read_bytes()).pcm)


async def _phone(host: str, port: int, call_id: uuid.UUID, turns: Sequence[str],
                 out: Optional[Path]) -> int:  # fmt: skip
    import asyncio
    import time

    from channels import audiosocket_protocol as wire

    frame_bytes = int(PHONE_RATE * FRAME_S) * 2
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(wire.uuid_frame(call_id))
    outgoing = bytearray()
    heard: list[tuple[float, bytes]] = []

    async def send() -> None:  # a phone line never stops: quiet when nobody speaks
        loop = asyncio.get_running_loop()
        due = loop.time()
        while not writer.is_closing():
            chunk = bytes(outgoing[:frame_bytes]).ljust(frame_bytes, b"\0")
            del outgoing[:frame_bytes]
            writer.write(wire.audio_frame(chunk))
            await writer.drain()
            due += FRAME_S
            await asyncio.sleep(max(0.0, due - loop.time()))

    async def listen() -> None:
        while (frame := await wire.read_frame(reader)) is not None:
            if frame.kind == wire.AUDIO:
                heard.append((time.monotonic(), frame.payload))
            elif frame.kind == wire.HANGUP:
                return

    async def reply(after: float, timeout: float = 120) -> bytes:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not listener.done():
            spoken = [t for t, _ in heard if t > after]
            if spoken and time.monotonic() - spoken[-1] >= 1.5:
                break
            await asyncio.sleep(0.1)
        return b"".join(pcm for t, pcm in heard if t > after)

    sender, listener = asyncio.ensure_future(send()), asyncio.ensure_future(listen())
    print(f"anxin call: {host}:{port}, call {call_id}")
    try:
        for number, turn in enumerate(["(greeting)", *turns]):
            started = time.monotonic()
            if turn.startswith("key:"):
                writer.write(wire.dtmf_frame(turn[4:5]))
            elif number:
                try:
                    outgoing += phone_audio(Path(turn)) + bytes(int(PHONE_RATE * 1.3) * 2)
                except (OSError, ValueError) as exc:
                    print(f"anxin call: {turn}: {exc}", file=sys.stderr)
                    return 2
                while outgoing:
                    await asyncio.sleep(FRAME_S)
                started = time.monotonic()
            speech = await reply(started)
            print(f"[{number}] {turn} → {len(speech) / (PHONE_RATE * 2):.1f} s of reply")
            if out is not None and speech:
                saved = out / f"turn-{number}.wav"
                saved.write_bytes(_wav(speech, PHONE_RATE))
                print(f"[{number}] reply audio: {saved}")
            if listener.done():
                print("anxin call: Anxin hung up", file=sys.stderr)
                return 1
        writer.write(wire.hangup())
        await writer.drain()
        return 0
    finally:
        writer.close()
        for task in (sender, listener):
            task.cancel()
        await asyncio.gather(sender, listener, return_exceptions=True)


def _wav(pcm: bytes, rate: int) -> bytes:
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()
