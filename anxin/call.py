"""``anxin call``: a phone-style session from the terminal against a running Anxin.

Each ``--wav`` file is one spoken turn, posted to the voice channel
(``POST /webhooks/voice/turn``) in order, as one caller; what was heard and the replies
are printed, and the reply speech is saved as ``turn-N.wav`` under ``--out``.
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
    """One spoken turn: the HTTP status and the channel's JSON answer."""
    query = {"sender": sender, **({"language": language} if language else {})}
    url = f"{base_url.rstrip('/')}/webhooks/voice/turn?{urllib.parse.urlencode(query)}"
    req = urllib.request.Request(url, data=audio, headers={"Content-Type": content_type})
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
