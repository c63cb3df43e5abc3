"""Kept voice turns on SQLite and PostgreSQL: consent, retention, purge, path safety."""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError

from care import recordings
from care.models_voice import VoiceRecording
from care.recordings import (
    Recorder,
    RecordingNotFound,
    RecordingRefused,
    RecordingSettings,
    keep,
    open_for_review,
)
from care.recordings_purge import purge
from care.services import CareServices
from tests.conftest import MovableClock
from voice.base import SAMPLE_RATE, Audio
from voice.codecs import decode, encode, from_samples


def tone(seconds: float = 1.5) -> Audio:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return from_samples(0.3 * np.sin(2 * np.pi * 440 * t))


@pytest.fixture
def settings(tmp_path: Path) -> RecordingSettings:
    return RecordingSettings(enabled=True, retention_days=30, directory=tmp_path / "recordings")


def consenting(care: CareServices, sender: str, consent: bool = True) -> int:
    person = care.people.create("elder", "李秀兰", consent_voice_recording=consent)
    care.people.add_identity(person.id, "telegram", sender)
    return person.id


def row(care: CareServices, recording_id: int) -> VoiceRecording:
    with care.db.read() as s:
        found = s.get(VoiceRecording, recording_id)
        assert found is not None
        return found


def test_settings_from_env_have_safe_defaults(tmp_path: Path) -> None:
    default = RecordingSettings.from_env({})
    assert default.enabled and default.retention_days == 30
    assert default.directory.parts[-2:] == ("var", "recordings")
    custom = RecordingSettings.from_env({"ANXIN_RECORDINGS": "off",
                                         "ANXIN_RECORDING_RETENTION_DAYS": "7",
                                         "ANXIN_RECORDINGS_DIR": str(tmp_path)})  # fmt: skip
    assert (custom.enabled, custom.retention_days, custom.directory) == (False, 7, tmp_path)
    assert RecordingSettings.from_env({"ANXIN_RECORDING_RETENTION_DAYS": "x"}).retention_days == 30
    assert default.purge_every_s == 3600
    assert RecordingSettings.from_env({"ANXIN_RECORDING_PURGE_S": "2"}).purge_every_s == 2
    assert RecordingSettings.from_env({"ANXIN_RECORDING_PURGE_S": "-1"}).purge_every_s == 3600
    beside = RecordingSettings.from_env({"ANXIN_VAR_DIR": str(tmp_path)})
    assert beside.directory == tmp_path / "recordings"
    assert RecordingSettings.from_env({"ANXIN_RECORDING_RETENTION_DAYS": "0"}).retention_days == 1


def test_a_consented_turn_keeps_audio_and_transcript(
    care: CareServices, clock: MovableClock, settings: RecordingSettings
) -> None:
    person_id = consenting(care, "42")
    audio = tone(1.5)
    rid = keep(care.db, "telegram", "42", "7", audio, "I want lunch", "en", clock(),
               settings=settings)  # fmt: skip
    assert rid is not None
    kept = row(care, rid)
    assert (kept.channel, kept.sender_id, kept.message_id) == ("telegram", "42", "7")
    assert (kept.person_id, kept.transcript, kept.language) == (person_id, "I want lunch", "en")
    assert kept.expires_at == clock() + timedelta(days=30)
    assert kept.duration_s == pytest.approx(1.5)
    assert kept.path.startswith(f"{clock():%Y}/{clock():%m}/") and kept.path.endswith(".ogg")
    path, content_type = open_for_review(care.db, rid, settings)
    assert content_type == "audio/ogg"
    assert decode(path.read_bytes(), "ogg").seconds == pytest.approx(1.5, abs=0.05)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_an_ogg_as_received_is_kept_as_is(
    care: CareServices, clock: MovableClock, settings: RecordingSettings
) -> None:
    consenting(care, "43")
    audio = tone(1.0)
    ogg = encode(audio, "ogg_opus")
    rid = keep(care.db, "telegram", "43", "1", audio, "hello", "en", clock(),
               original=(ogg, "ogg"), settings=settings)  # fmt: skip
    assert rid is not None
    path, _ = open_for_review(care.db, rid, settings)
    assert path.read_bytes() == ogg


def test_without_consent_only_the_transcript_is_kept(
    care: CareServices, clock: MovableClock, settings: RecordingSettings
) -> None:
    consenting(care, "44", consent=False)
    for sender in ("44", "a-stranger"):
        rid = keep(care.db, "telegram", sender, "1", tone(), "hello", "en", clock(),
                   settings=settings)  # fmt: skip
        assert rid is not None
        assert row(care, rid).path is None and row(care, rid).transcript == "hello"
        with pytest.raises(RecordingNotFound):
            open_for_review(care.db, rid, settings)
    assert not settings.directory.exists() or not any(settings.directory.rglob("*.*"))


def test_recordings_off_keep_nothing(
    care: CareServices, clock: MovableClock, tmp_path: Path
) -> None:
    consenting(care, "45")
    off = RecordingSettings(enabled=False, directory=tmp_path / "r")
    assert keep(care.db, "telegram", "45", "1", tone(), "hi", "en", clock(), settings=off) is None
    with care.db.read() as s:
        assert s.scalars(select(VoiceRecording)).first() is None
    assert not (tmp_path / "r").exists()


def test_purge_removes_expired_files_and_rows_and_keeps_the_rest(
    care: CareServices, clock: MovableClock, settings: RecordingSettings
) -> None:
    consenting(care, "46")
    old = keep(care.db, "telegram", "46", "1", tone(), "old", "en", clock(), settings=settings)
    clock.advance(days=10)
    new = keep(care.db, "telegram", "46", "2", tone(), "new", "en", clock(), settings=settings)
    assert old is not None and new is not None
    old_path, _ = open_for_review(care.db, old, settings)
    new_path, _ = open_for_review(care.db, new, settings)
    assert purge(care.db, clock() + timedelta(days=19), settings).rows == 0
    done = purge(care.db, clock() + timedelta(days=20, seconds=1), settings)
    assert (done.rows, done.files) == (1, 1)
    assert not old_path.exists() and new_path.exists()
    with care.db.read() as s:
        assert [r.transcript for r in s.scalars(select(VoiceRecording))] == ["new"]
    with pytest.raises(RecordingNotFound):
        open_for_review(care.db, old, settings)
    assert purge(care.db, clock() + timedelta(days=31), settings).rows == 1
    assert not new_path.exists()


def test_purge_removes_orphan_files_after_a_grace(
    care: CareServices, clock: MovableClock, settings: RecordingSettings
) -> None:
    consenting(care, "47")
    kept = keep(care.db, "telegram", "47", "1", tone(), "kept", "en", clock(), settings=settings)
    assert kept is not None
    orphan = settings.directory / "2026" / "11" / "leftover.ogg"
    orphan.write_bytes(b"OggS")
    from datetime import datetime, timezone

    now = datetime.fromtimestamp(orphan.stat().st_mtime, timezone.utc)
    assert purge(care.db, now, settings).orphans == 0  # it may be a row on its way
    assert purge(care.db, now + timedelta(hours=2), settings).orphans == 1
    assert not orphan.exists()
    assert open_for_review(care.db, kept, settings)[0].exists()


@pytest.mark.parametrize("evil", ["../../etc/passwd", "/etc/passwd", "2026/../../outside.ogg"])
def test_paths_outside_the_directory_are_refused(
    care: CareServices, clock: MovableClock, settings: RecordingSettings, evil: str
) -> None:
    consenting(care, "48")
    rid = keep(care.db, "telegram", "48", "1", tone(), "x", "en", clock(), settings=settings)
    assert rid is not None
    (settings.directory.parent / "outside.ogg").write_bytes(b"OggS")
    with care.db.write() as s:
        s.execute(update(VoiceRecording).where(VoiceRecording.id == rid).values(path=evil))
    with pytest.raises((RecordingRefused, RecordingNotFound)) as refused:
        open_for_review(care.db, rid, settings)
    if Path(evil).is_absolute() or evil.endswith("outside.ogg"):
        assert isinstance(refused.value, RecordingRefused)  # it exists, and is still refused


def test_a_symlink_is_refused_and_purge_never_follows_it(
    care: CareServices, clock: MovableClock, settings: RecordingSettings, tmp_path: Path
) -> None:
    consenting(care, "49")
    rid = keep(care.db, "telegram", "49", "1", tone(), "x", "en", clock(), settings=settings)
    assert rid is not None
    path, _ = open_for_review(care.db, rid, settings)
    secret = tmp_path / "secret.txt"
    secret.write_text("not audio")
    path.unlink()
    os.symlink(secret, path)
    with pytest.raises(RecordingRefused):
        open_for_review(care.db, rid, settings)
    purge(care.db, clock() + timedelta(days=31), settings)
    assert secret.read_text() == "not audio" and not path.is_symlink()


def test_a_link_to_another_recording_is_refused(
    care: CareServices, clock: MovableClock, settings: RecordingSettings
) -> None:
    consenting(care, "52")
    first = keep(care.db, "telegram", "52", "1", tone(), "a", "en", clock(), settings=settings)
    second = keep(care.db, "telegram", "52", "2", tone(), "b", "en", clock(), settings=settings)
    assert first is not None and second is not None
    target, _ = open_for_review(care.db, first, settings)
    link, _ = open_for_review(care.db, second, settings)
    link.unlink()
    os.symlink(target, link)
    with pytest.raises(RecordingRefused):
        open_for_review(care.db, second, settings)


def test_unknown_ids_are_not_found(care: CareServices, settings: RecordingSettings) -> None:
    with pytest.raises(RecordingNotFound):
        open_for_review(care.db, 999_999, settings)


def test_a_database_failure_loses_the_file_and_never_reaches_the_turn(
    care: CareServices, clock: MovableClock, settings: RecordingSettings
) -> None:
    consenting(care, "50")
    with care.db.engine.begin() as conn:  # the table is gone: every insert fails
        conn.exec_driver_sql("DROP TABLE voice_recordings")
    with pytest.raises(DBAPIError):
        keep(care.db, "telegram", "50", "1", tone(), "x", "en", clock(), settings=settings)
    assert not any(p.is_file() for p in settings.directory.rglob("*"))

    async def turn() -> str:
        recorder = Recorder(care.db, settings, clock)
        recorder.record("telegram", "50", "2", tone(), "x", "en")
        await recorder.drain()
        return "answered"

    assert asyncio.run(turn()) == "answered"


def test_the_recorder_keeps_in_the_background(
    care: CareServices, clock: MovableClock, settings: RecordingSettings
) -> None:
    consenting(care, "51")

    async def turn() -> None:
        recorder = Recorder(care.db, settings, clock)
        recorder.record("telegram", "51", "9", tone(2.0), "two seconds", "en")
        await recorder.drain()

    asyncio.run(turn())
    with care.db.read() as s:
        kept = s.scalars(select(VoiceRecording)).one()
    assert (kept.message_id, kept.duration_s) == ("9", pytest.approx(2.0))
    assert recordings.open_for_review(care.db, kept.id, settings)[0].is_file()
