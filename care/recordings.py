"""Voice turns kept for staff review, for a retention period, then deleted.

Each heard voice turn leaves a row (channel, the caller's id on it and message id — the
ids of its turn in Rasa's events, whose sender id is ``channel:caller``, care.senders —
transcript, language, duration) and, only when the person
consented to it (``Person.consent_voice_recording``), its audio as a file under
``<dir>/<yyyy>/<mm>/<random>.<ext>``. A stranger has not consented: transcript only.
The audio is kept as received when browsers play that format (Telegram's OGG/Opus),
otherwise re-encoded from the decoded 16 kHz PCM to OGG/Opus (WeChat's AMR plays in no
browser, and Opus is the smaller). File names are ours, never the caller's.

``purge`` (care.recordings_purge) deletes rows past
``expires_at`` and their files, and files no row names (a crash between writing the
file and its row). ``open_for_review`` gives the staff
console a file only for an id in the table, and only inside the recordings directory;
``of_turns`` finds the recordings of a conversation's turns for its view.

Settings (environment): ``ANXIN_RECORDINGS`` (on/off, default on),
``ANXIN_RECORDING_RETENTION_DAYS`` (default 30), ``ANXIN_RECORDINGS_DIR`` (default
``$ANXIN_VAR_DIR/recordings``), ``ANXIN_RECORDING_PURGE_S`` (seconds between purges,
default 3600). Logs carry ids and sizes, never what was said or who said it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional

from sqlalchemy import select

from care import models as m
from care.clock import Clock, system_clock
from care.config import REPO_ROOT
from care.db import Database
from care.errors import CareError, NotFound
from care.models_voice import VoiceRecording
from care.senders import UNKNOWN, split_sender
from voice.base import Audio

log = logging.getLogger(__name__)

# Formats kept as received: browsers play them, so the console needs no converter.
KEPT_AS_IS = {"ogg": ("ogg", "audio/ogg"), "ogg_opus": ("ogg", "audio/ogg"),
              "oga": ("ogg", "audio/ogg"), "opus": ("ogg", "audio/ogg"),
              "mp3": ("mp3", "audio/mpeg")}  # fmt: skip
ENCODED = ("ogg_opus", "ogg", "audio/ogg")  # voice.codecs format, extension, content type
CONTENT_TYPES = {".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
PURGE_EVERY_S = 3600.0  # retention is counted in days: hourly is prompt enough
_OFF = {"0", "off", "false", "no"}


class RecordingNotFound(NotFound):
    code = "recording_not_found"


class RecordingRefused(CareError):
    """A stored path that leads outside the recordings directory (or is no file)."""

    code = "recording_refused"


@dataclass(frozen=True)
class RecordingSettings:
    enabled: bool = True
    retention_days: int = 30
    directory: Path = field(default_factory=lambda: REPO_ROOT / "var" / "recordings")
    purge_every_s: float = PURGE_EVERY_S

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> RecordingSettings:
        env = os.environ if environ is None else environ
        try:
            days = int(env.get("ANXIN_RECORDING_RETENTION_DAYS", "30"))
        except ValueError:
            log.warning("ANXIN_RECORDING_RETENTION_DAYS is not a number: keeping 30 days")
            days = 30
        if days < 1:  # zero or less would delete at once what staff are meant to review
            log.warning("ANXIN_RECORDING_RETENTION_DAYS below 1: keeping 1 day")
            days = 1
        # Beside the database by default: one var directory to back up, or to wipe.
        var_dir = Path(env.get("ANXIN_VAR_DIR") or REPO_ROOT / "var")
        directory = env.get("ANXIN_RECORDINGS_DIR") or str(var_dir / "recordings")
        return cls(
            enabled=env.get("ANXIN_RECORDINGS", "on").strip().lower() not in _OFF,
            retention_days=days,
            directory=Path(directory),
            purge_every_s=_positive(env.get("ANXIN_RECORDING_PURGE_S"), PURGE_EVERY_S),
        )


def _positive(value: Optional[str], default: float) -> float:
    try:
        number = float(value) if value else default
    except ValueError:
        return default
    return number if number > 0 else default


def _consenting_person(db: Database, channel: str, sender_id: str) -> tuple[Optional[int], bool]:
    with db.read() as s:
        row = s.execute(
            select(m.Person.id, m.Person.consent_voice_recording)
            .join(m.ChannelIdentity, m.ChannelIdentity.person_id == m.Person.id)
            .where(m.ChannelIdentity.channel == channel)
            .where(m.ChannelIdentity.external_id == sender_id)
        ).first()
    return (None, False) if row is None else (int(row[0]), bool(row[1]))


def _audio_bytes(audio: Audio, original: Optional[tuple[bytes, str]]) -> tuple[bytes, str]:
    """The bytes to keep and their extension."""
    if original is not None:
        data, fmt = original
        kept = KEPT_AS_IS.get((fmt or "").strip().lower())
        if kept is not None and data:
            return data, kept[0]
    from voice.codecs import encode  # PyAV: loaded only by a process that records

    return encode(audio, ENCODED[0]), ENCODED[1]


def _write_file(directory: Path, at: datetime, data: bytes, ext: str) -> str:
    """Write ``data`` under a random name; the path relative to ``directory``."""
    relative = Path(f"{at:%Y}", f"{at:%m}", f"{secrets.token_hex(16)}.{ext}")
    target = directory / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: never through a file or link someone put there.
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return relative.as_posix()


def keep(
    db: Database,
    channel: str,
    sender_id: str,
    message_id: Optional[str],
    audio: Audio,
    transcript: str,
    language: Optional[str],
    at: datetime,
    original: Optional[tuple[bytes, str]] = None,
    settings: Optional[RecordingSettings] = None,
) -> Optional[int]:
    """Keep one voice turn; its row id, or None when recordings are off. Blocking.

    ``audio`` is the decoded turn (its duration; encoded when ``original`` — the bytes
    as received and their format — is absent or a format browsers do not play).
    """
    settings = settings or RecordingSettings.from_env()
    if not settings.enabled:
        return None
    person_id, consent = _consenting_person(db, channel, sender_id)
    relative: Optional[str] = None
    content_type: Optional[str] = None
    if consent:
        data, ext = _audio_bytes(audio, original)
        relative = _write_file(settings.directory, at, data, ext)
        content_type = CONTENT_TYPES.get(f".{ext}")
    try:
        with db.write() as s:
            row = VoiceRecording(
                channel=channel,
                sender_id=sender_id,
                message_id=message_id,
                person_id=person_id,
                transcript=transcript,
                language=language,
                duration_s=round(audio.seconds, 3),
                path=relative,
                content_type=content_type,
                created_at=at,
                expires_at=at + timedelta(days=settings.retention_days),
            )
            s.add(row)
            s.flush()
            recording_id = int(row.id)
    except BaseException:
        if relative is not None:  # no row names it: do not leave the voice behind
            (settings.directory / relative).unlink(missing_ok=True)
        raise
    log.info("voice turn kept: recording %d (%.1f s, audio %s)", recording_id,
             audio.seconds, "kept" if relative else "not kept")  # fmt: skip
    return recording_id


class Recorder:
    """Keeps voice turns off the event loop, in the background: a turn never waits
    on its recording, and a recording that fails is logged and costs the turn nothing."""

    def __init__(
        self,
        db: Database,
        settings: Optional[RecordingSettings] = None,
        clock: Clock = system_clock,
    ) -> None:
        self.db = db
        self.settings = settings or RecordingSettings.from_env()
        self.clock = clock
        self._tasks: set[asyncio.Task[Any]] = set()

    def record(
        self,
        channel: str,
        sender_id: str,
        message_id: Optional[str],
        audio: Audio,
        transcript: str,
        language: Optional[str],
        original: Optional[tuple[bytes, str]] = None,
    ) -> None:
        """Schedule the keeping of one voice turn; returns at once."""
        if not self.settings.enabled:
            return
        at = self.clock()
        work = asyncio.to_thread(keep, self.db, channel, sender_id, message_id, audio,
                                 transcript, language, at, original, self.settings)  # fmt: skip
        task = asyncio.ensure_future(self._guarded(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, work: Any) -> None:
        try:
            await work
        except Exception as exc:  # the type only: the message may carry the transcript
            log.warning("a voice turn was not kept: %s", type(exc).__name__)

    async def drain(self) -> None:
        """Wait for the recordings under way (a channel shutting down)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


@dataclass(frozen=True)
class TurnRecording:
    """What the conversation view needs of a turn's recording: its id, and whether its
    audio is kept (a transcript alone has nothing to play)."""

    id: int
    has_audio: bool
    duration_s: float


def of_turns(
    db: Database, conversation_id: str, turns: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], TurnRecording]:
    """The recordings of one conversation's turns, by ``(channel, message id)``: the ids
    Rasa's events carry. The conversation's id (``voice:<caller>``) says whose they are."""
    owner, sender_id = split_sender(conversation_id)
    wanted = {(c, mid) for c, mid in turns if c and mid and c == owner}
    if not wanted or owner == UNKNOWN:
        return {}
    found: dict[tuple[str, str], TurnRecording] = {}
    ids = sorted({mid for _, mid in wanted})
    with db.read() as s:
        for start in range(0, len(ids), 500):  # bound the IN list on long conversations
            rows = s.execute(
                select(VoiceRecording.id, VoiceRecording.channel, VoiceRecording.message_id,
                       VoiceRecording.path, VoiceRecording.duration_s)
                .where(VoiceRecording.channel == owner, VoiceRecording.sender_id == sender_id,
                       VoiceRecording.message_id.in_(ids[start : start + 500]))
                .order_by(VoiceRecording.id)
            ).all()  # fmt: skip
            for rid, channel, message_id, path, seconds in rows:
                kept = TurnRecording(int(rid), path is not None, float(seconds))
                if (channel, message_id) in wanted:  # a retried turn: its first recording
                    found.setdefault((channel, message_id), kept)
    return found


def open_for_review(
    db: Database, recording_id: int, settings: Optional[RecordingSettings] = None
) -> tuple[Path, str]:
    """The audio file of a recording and its content type, for the staff console.

    Only ids from the table resolve; a path that leads outside the recordings
    directory (``..``, an absolute path, a symbolic link) is refused.
    """
    settings = settings or RecordingSettings.from_env()
    with db.read() as s:
        row = s.get(VoiceRecording, int(recording_id))
        relative = row.path if row is not None else None
        content_type = (row.content_type if row is not None else None) or ""
    if relative is None:
        raise RecordingNotFound("no audio is kept for that recording", recording_id=recording_id)
    root = settings.directory.resolve()
    if Path(relative).is_absolute():
        raise RecordingRefused("a recording path must be relative", recording_id=recording_id)
    try:
        resolved = (root / relative).resolve(strict=True)
    except (OSError, RuntimeError):  # gone, or a loop of links
        raise RecordingNotFound(
            "the recording's audio is gone", recording_id=recording_id
        ) from None
    if not resolved.is_relative_to(root) or not resolved.is_file():
        raise RecordingRefused("a recording path outside the recordings directory",
                               recording_id=recording_id)  # fmt: skip
    if (root / relative) != resolved:  # a link, even one pointing inside: not ours
        raise RecordingRefused("a recording path through a link", recording_id=recording_id)
    if content_type not in CONTENT_TYPES.values():  # only audio types we write: never HTML
        content_type = CONTENT_TYPES.get(resolved.suffix, "application/octet-stream")
    return resolved, content_type
