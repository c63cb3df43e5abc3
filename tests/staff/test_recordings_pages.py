"""The conversation view's voice turns and their audio player, and the same marks in the
JSON API, on SQLite and PostgreSQL: the real console app, Rasa's events through the real
broker, recordings kept by care.recordings into a directory of the test's own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from care import models as m
from care.models_voice import VoiceRecording
from care.recordings import RecordingSettings, keep
from care.services import CareServices
from care.staff_sessions import StaffSessions
from tests.staff.conftest import SETTINGS, Recorder
from voice.base import SAMPLE_RATE, Audio
from voice.codecs import from_samples

As = Callable[[str], TestClient]
SAID = "I would like lunch on Friday"


def tone(seconds: float = 2.0) -> Audio:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return from_samples(0.3 * np.sin(2 * np.pi * 440 * t))


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RecordingSettings:
    directory = tmp_path / "recordings"
    monkeypatch.setenv("ANXIN_RECORDINGS_DIR", str(directory))  # the console reads it
    return RecordingSettings(directory=directory)


def voice_turn(care: CareServices, recorder: Recorder, settings: RecordingSettings,
               sender: str, consent: bool) -> int:  # fmt: skip
    """A caller's spoken turn as the voice channel leaves it: Rasa's events, and its
    recording under the turn's message id."""
    person = care.people.create("elder", "Mary Jones", consent_voice_recording=consent)
    care.people.add_identity(person.id, "voice", sender)
    conversation = f"voice:{sender}"  # Rasa's events name the caller's conversation
    recorder.session(conversation)
    message_id = recorder.turn(conversation, SAID, "book_meal", channel="voice", language="en",
                               replies=("Lunch at the canteen, or delivered?",))  # fmt: skip
    recorder.turn(conversation, "typed later", "affirm", channel="voice", language="en")
    recorder.flush()
    rid = keep(care.db, "voice", sender, message_id, tone(), SAID, "en", care.clock(),
               settings=settings)  # fmt: skip
    assert rid is not None
    return rid


def audits(care: CareServices, action: str) -> list[m.AuditEntry]:
    with care.db.read() as s:
        return list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.action == action)))


def players(html: str) -> list[str]:
    return re.findall(r'<audio controls preload="none" src="([^"]+)"', html)


def test_staff_see_a_voice_turn_with_a_player_and_hear_it(
    care: CareServices, recorder: Recorder, settings: RecordingSettings, client_as: As
) -> None:
    rid = voice_turn(care, recorder, settings, "call-1", consent=True)
    staff = client_as("staff")
    html = staff.get("/conversations/voice:call-1").text
    assert players(html) == [f"/recordings/{rid}/audio"]  # one spoken turn, one player
    assert f'data-recording="{rid}"' in html and SAID in html
    assert html.count('class="voice"') == 1  # the typed turn is not marked as voice

    heard = staff.get(f"/recordings/{rid}/audio")
    assert heard.status_code == 200 and heard.headers["content-type"] == "audio/ogg"
    assert heard.headers["cache-control"] == "no-store"
    with care.db.read() as s:
        path = s.get(VoiceRecording, rid).path  # type: ignore[union-attr]
    assert heard.content == (settings.directory / path).read_bytes()
    assert heard.content[:4] == b"OggS"
    [listened] = audits(care, "recording.listen")
    assert listened.subject == f"recording:{rid}" and listened.actor == "staff:staff.0"
    # The player seeking: the same listen, served in part, not audited again.
    part = staff.get(f"/recordings/{rid}/audio", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == heard.content[100:200]
    assert len(audits(care, "recording.listen")) == 1


def test_volunteers_see_that_it_was_spoken_but_may_not_hear_it(
    care: CareServices, recorder: Recorder, settings: RecordingSettings, client_as: As
) -> None:
    rid = voice_turn(care, recorder, settings, "call-2", consent=True)
    volunteer = client_as("volunteer")
    html = volunteer.get("/conversations/voice:call-2").text
    assert 'class="voice"' in html and SAID not in html and players(html) == []
    assert volunteer.get(f"/recordings/{rid}/audio").status_code == 403
    assert audits(care, "recording.listen") == []
    admin = client_as("admin")
    assert admin.get(f"/recordings/{rid}/audio").status_code == 200


def test_without_consent_there_is_a_transcript_and_nothing_to_play(
    care: CareServices, recorder: Recorder, settings: RecordingSettings, client_as: As
) -> None:
    rid = voice_turn(care, recorder, settings, "call-3", consent=False)
    staff = client_as("staff")
    html = staff.get("/conversations/voice:call-3").text
    assert SAID in html and 'class="voice"' in html and players(html) == []
    assert "audio not kept" in staff.get("/conversations/voice:call-3?lang=en").text
    assert staff.get(f"/recordings/{rid}/audio").status_code == 404


@pytest.mark.parametrize(
    "url", ["/recordings/999999/audio", "/recordings/abc/audio", "/recordings/-1/audio",
            "/recordings/1.5/audio", "/recordings/..%2F..%2Fetc%2Fpasswd/audio",
            "/recordings/../../etc/passwd/audio"],
)  # fmt: skip
def test_anything_but_a_known_id_is_not_found(client_as: As, url: str) -> None:
    response = client_as("staff").get(url)
    assert response.status_code == 404 and b"root:" not in response.content


def test_a_path_tampered_to_lead_outside_is_refused_and_audited(
    care: CareServices, recorder: Recorder, settings: RecordingSettings, client_as: As,
    tmp_path: Path,
) -> None:  # fmt: skip
    rid = voice_turn(care, recorder, settings, "call-4", consent=True)
    secret = tmp_path / "secret.ogg"
    secret.write_bytes(b"OggS not yours")
    staff = client_as("staff")
    tampered: list[Any] = ["../secret.ogg", str(secret)]
    link = settings.directory / "2026" / "link.ogg"
    link.symlink_to(secret)
    tampered.append("2026/link.ogg")
    for path in tampered:
        with care.db.write() as s:
            s.execute(update(VoiceRecording).where(VoiceRecording.id == rid).values(path=path))
        refused = staff.get(f"/recordings/{rid}/audio")
        assert refused.status_code == 403, path
        assert b"not yours" not in refused.content
    assert len(audits(care, "recording.refused")) == len(tampered)
    assert audits(care, "recording.listen") == []


def test_a_stored_content_type_is_never_served_as_a_page(
    care: CareServices, recorder: Recorder, settings: RecordingSettings, client_as: As
) -> None:
    rid = voice_turn(care, recorder, settings, "call-5", consent=True)
    with care.db.write() as s:
        s.execute(update(VoiceRecording).where(VoiceRecording.id == rid)
                  .values(content_type="text/html"))  # fmt: skip
    served = client_as("staff").get(f"/recordings/{rid}/audio")
    assert served.status_code == 200 and served.headers["content-type"] == "audio/ogg"


def test_someone_not_logged_in_is_sent_to_the_login(
    care: CareServices, recorder: Recorder, settings: RecordingSettings, anonymous: TestClient
) -> None:
    rid = voice_turn(care, recorder, settings, "call-6", consent=True)
    response = anonymous.get(f"/recordings/{rid}/audio", follow_redirects=False)
    assert response.status_code == 303 and "/login" in response.headers["location"]


# -- the JSON API: GET /api/conversations/{id} -------------------------------------------


def bearer(care: CareServices, role: str) -> dict[str, str]:
    token = StaffSessions(care.db, care.clock, SETTINGS.session_lifetime).create_token(
        f"ops-{role}", role, "admin"
    )
    return {"Authorization": f"Bearer {token}"}


def api_turns(client: TestClient, sender: str, **kwargs: Any) -> list[dict[str, Any]]:
    response = client.get(f"/api/conversations/voice:{sender}", **kwargs)
    assert response.status_code == 200
    [session] = response.json()["sessions"]
    return session["turns"]


def test_the_api_gives_staff_the_recording_of_each_spoken_turn(
    care: CareServices, recorder: Recorder, settings: RecordingSettings, client_as: As,
    anonymous: TestClient,
) -> None:  # fmt: skip
    rid = voice_turn(care, recorder, settings, "call-7", consent=True)
    staff = client_as("staff")
    spoken, typed = api_turns(staff, "call-7")
    assert spoken["text"] == SAID and typed["text"] == "typed later"
    assert spoken["voice"] == {"recording_id": rid, "seconds": 2.0, "has_audio": True}
    assert typed["voice"] is None
    # The id is the one the audio route serves; a token reads the same as a session.
    assert staff.get(f"/recordings/{rid}/audio").content[:4] == b"OggS"
    by_token = api_turns(anonymous, "call-7", headers=bearer(care, "staff"))
    assert by_token[0]["voice"] == spoken["voice"]
    viewed = [a.subject for a in audits(care, "conversation.view")]
    assert viewed == ["conversation:voice:call-7"] * 2


def test_the_api_tells_volunteers_a_turn_was_spoken_but_not_its_recording(
    care: CareServices, recorder: Recorder, settings: RecordingSettings, client_as: As,
    anonymous: TestClient,
) -> None:  # fmt: skip
    rid = voice_turn(care, recorder, settings, "call-8", consent=True)
    volunteer = client_as("volunteer")
    for turns in (api_turns(volunteer, "call-8"),
                  api_turns(anonymous, "call-8", headers=bearer(care, "volunteer"))):  # fmt: skip
        spoken, typed = turns
        assert spoken["voice"] == {"recording_id": None, "seconds": 2.0, "has_audio": False}
        assert typed["voice"] is None and SAID not in str(turns)
    # The page follows the same rule: no recording id in what a volunteer is sent.
    html = volunteer.get("/conversations/voice:call-8").text
    assert 'class="voice"' in html and "data-recording" not in html
    assert f"/recordings/{rid}/" not in html


def test_the_api_says_when_only_the_transcript_was_kept(
    care: CareServices, recorder: Recorder, settings: RecordingSettings, client_as: As
) -> None:
    rid = voice_turn(care, recorder, settings, "call-9", consent=False)
    spoken, typed = api_turns(client_as("staff"), "call-9")
    assert spoken["voice"] == {"recording_id": rid, "seconds": 2.0, "has_audio": False}
    assert spoken["text"] == SAID and typed["voice"] is None
