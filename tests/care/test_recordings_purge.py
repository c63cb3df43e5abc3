"""Expired recordings go by themselves (the action server's purge thread) and on command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from care.models_voice import VoiceRecording
from care.recordings import RecordingSettings, keep, open_for_review
from care.recordings_purge import Purger
from care.services import CareServices
from tests.care.test_recordings import consenting, tone
from tests.conftest import MovableClock

REPO = Path(__file__).resolve().parents[2]


def count(care: CareServices) -> int:
    with care.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(VoiceRecording)) or 0)


def test_the_purge_thread_deletes_what_expired(
    care: CareServices, clock: MovableClock, tmp_path: Path
) -> None:
    settings = RecordingSettings(retention_days=1, directory=tmp_path / "rec")
    consenting(care, "60")
    rid = keep(care.db, "telegram", "60", "1", tone(), "x", "en", clock(), settings=settings)
    assert rid is not None
    path, _ = open_for_review(care.db, rid, settings)
    clock.advance(days=2)
    purger = Purger(care.db, settings, clock, every_s=0.2).start()
    try:
        deadline = time.monotonic() + 30
        while count(care) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        purger.stop()
    assert count(care) == 0 and not path.exists()


def test_the_purge_thread_survives_a_database_failure(
    care: CareServices, clock: MovableClock, tmp_path: Path
) -> None:
    settings = RecordingSettings(directory=tmp_path / "rec")
    with care.db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE voice_recordings")
    purger = Purger(care.db, settings, clock, every_s=0.1).start()
    time.sleep(0.5)  # several rounds fail; none may end the thread
    assert purger.running
    purger.stop()
    assert not purger.running


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_anxin_recordings_purge(care: CareServices, tmp_path: Path) -> None:
    settings = RecordingSettings(retention_days=1, directory=tmp_path / "rec")
    consenting(care, "61")
    now = care.clock()  # the command's clock starts there too (ANXIN_NOW)
    old = keep(care.db, "telegram", "61", "1", tone(), "old", "en", now - timedelta(days=2),
               settings=settings)  # fmt: skip
    new = keep(care.db, "telegram", "61", "2", tone(), "new", "en", now, settings=settings)
    assert old is not None and new is not None
    old_path, _ = open_for_review(care.db, old, settings)
    env = dict(os.environ, ANXIN_DB_URL=care.db.url, ANXIN_RECORDINGS_DIR=str(settings.directory),
               ANXIN_NOW=now.isoformat())  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "anxin", "recordings", "purge"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 expired, 1 audio files" in done.stdout
    assert count(care) == 1 and not old_path.exists()
    assert open_for_review(care.db, new, settings)[0].exists()
