"""Deleting voice recordings: expired rows and their files, and files no row names.

``purge`` deletes rows past ``expires_at`` (one transaction), then their audio files,
then files no row names (a crash between writing a file and its row), after a grace
period. ``Purger`` runs it in a daemon thread of the action server; ``purge_command``
is ``anxin recordings purge``. Split from care.recordings, which still exports these
names. Logs carry counts only, never what was said or who said it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional

from sqlalchemy import delete, select

from care.clock import Clock, system_clock
from care.db import Database
from care.models_voice import VoiceRecording
from care.periodic import Every
from care.recordings import RecordingSettings

log = logging.getLogger(__name__)

# A file no row names is left alone this long: its row may be on its way.
ORPHAN_GRACE = timedelta(hours=1)


@dataclass(frozen=True)
class Purged:
    rows: int
    files: int
    orphans: int


def purge(db: Database, now: datetime, settings: Optional[RecordingSettings] = None) -> Purged:
    """Delete expired recordings (rows and files) and files no row names."""
    settings = settings or RecordingSettings.from_env()
    with db.write() as s:
        expired = s.execute(
            select(VoiceRecording.id, VoiceRecording.path).where(VoiceRecording.expires_at <= now)
        ).all()
        ids = [row[0] for row in expired]
        if ids:
            s.execute(delete(VoiceRecording).where(VoiceRecording.id.in_(ids)))
    files = 0
    # After the commit: a file whose unlink fails is an orphan the next purge removes.
    for _, relative in expired:
        if relative and _unlink_inside(settings.directory, relative):
            files += 1
    orphans = _purge_orphans(db, settings.directory, now)
    if ids or orphans:
        log.info("recordings purged: %d rows, %d files, %d orphan files", len(ids), files, orphans)
    return Purged(len(ids), files, orphans)


class Purger:
    """Purges in a daemon thread, at start and every ``every_s``: the action server runs
    one (anxin/action_server.py), so expired voices go without an operator's cron.
    Several processes purging at once is harmless: deletes are by id, unlinks tolerant."""

    def __init__(
        self,
        db: Database,
        settings: Optional[RecordingSettings] = None,
        clock: Clock = system_clock,
        every_s: Optional[float] = None,  # default: settings.purge_every_s
    ) -> None:
        self.db, self.clock = db, clock
        self.settings = settings or RecordingSettings.from_env()
        self.every_s = every_s or self.settings.purge_every_s
        self._every = Every("recordings-purge", self.every_s, self._round,
                            "recordings were not purged")  # fmt: skip

    def start(self) -> Purger:
        self._every.start()
        return self

    @property
    def running(self) -> bool:
        return self._every.running

    def stop(self) -> None:
        self._every.stop()

    def _round(self) -> None:
        purge(self.db, self.clock(), self.settings)


def purge_command(db: Database, now: datetime) -> int:
    """``anxin recordings purge``: one purge, and what it removed."""
    done = purge(db, now)
    print(f"anxin: recordings purged: {done.rows} expired, {done.files} audio files, "
          f"{done.orphans} orphan files")  # fmt: skip
    return 0


def _unlink_inside(directory: Path, relative: str) -> bool:
    target = directory / relative
    try:
        parent = target.parent.resolve(strict=True)
    except OSError:
        return False
    # The link itself is removed, never what it points to; and nothing outside the root.
    if not parent.is_relative_to(directory.resolve()):
        log.warning("a recording path outside the recordings directory was not deleted")
        return False
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    return True


def _purge_orphans(db: Database, directory: Path, now: datetime) -> int:
    if not directory.is_dir():
        return 0
    with db.read() as s:
        named = {p for (p,) in s.execute(select(VoiceRecording.path)) if p}
    cutoff = (now - ORPHAN_GRACE).timestamp()
    removed = 0
    for path in directory.glob("*/*/*"):
        relative = path.relative_to(directory).as_posix()
        if relative in named or not (path.is_file() or path.is_symlink()):
            continue
        try:
            if path.lstat().st_mtime <= cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue
    return removed
