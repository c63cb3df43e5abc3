"""A voice turn's recording played in real headless Chromium: the console as a process
(``python -m staff``), staff logged in through the form, the conversation's player
started the way a person would, and the audio decoded by the browser itself."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest

from care import migrate
from care.config import CareSettings
from care.recordings import RecordingSettings, keep
from care.services import CareServices, build
from tests.staff.browser import chromium, console_process, create_user, log_in, new_page
from tests.staff.conftest import Recorder
from voice.base import SAMPLE_RATE
from voice.codecs import from_samples

SENDER = "call-browser-1"
CONVERSATION = f"voice:{SENDER}"  # Rasa's id for the caller's conversation


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def console(tmp_path: Path) -> Iterator[tuple[str, CareServices, int]]:
    db = tmp_path / "anxin.db"
    recordings = tmp_path / "recordings"
    care = build(CareSettings(db_url=f"sqlite:///{db}"))
    try:
        migrate.upgrade(care.db)
        person = care.people.create("elder", "Mary Jones", consent_voice_recording=True)
        care.people.add_identity(person.id, "voice", SENDER)
        events = Recorder(care)
        try:
            events.session(CONVERSATION)
            message_id = events.turn(CONVERSATION, "I would like lunch", "book_meal",
                                     channel="voice", language="en")  # fmt: skip
            events.flush()
        finally:
            events.broker.close_now()
        t = np.arange(int(2.0 * SAMPLE_RATE)) / SAMPLE_RATE
        rid = keep(care.db, "voice", SENDER, message_id,
                   from_samples(0.3 * np.sin(2 * np.pi * 440 * t)), "I would like lunch", "en",
                   care.clock(), settings=RecordingSettings(directory=recordings))  # fmt: skip
        assert rid is not None
        env = {
            **os.environ,
            "ANXIN_DB_URL": f"sqlite:///{db}",
            "ANXIN_RECORDINGS_DIR": str(recordings),
            "ANXIN_STAFF_HOST": "127.0.0.1",
            "ANXIN_STAFF_PORT": str(_free_port()),
        }
        for username, role in (("nurse", "staff"), ("helper", "volunteer")):
            create_user(env, username, role)
        with console_process(env) as url:
            yield url, care, rid
    finally:
        care.close()


PLAY = """async (audio) => {
    audio.muted = true;  // a muted player may start without a click in headless Chromium
    await audio.play();
    await new Promise((done) => setTimeout(done, 800));
    return {error: audio.error && audio.error.code, time: audio.currentTime,
            duration: audio.duration};
}"""


def test_staff_play_a_voice_turn_and_volunteers_get_no_player(
    console: tuple[str, CareServices, int],
) -> None:
    url, _care, rid = console
    with chromium() as browser:
        page = new_page(browser, "en")
        log_in(page, url, "nurse")
        page.goto(f"{url}/conversations/{CONVERSATION}")
        player = page.locator("audio")
        assert player.count() == 1
        assert player.get_attribute("src") == f"/recordings/{rid}/audio"
        played: Any = player.evaluate(PLAY)
        assert played["error"] is None, played
        assert played["time"] > 0.2 and abs(played["duration"] - 2.0) < 0.2, played
        page.context.close()

        page = new_page(browser, "en")
        log_in(page, url, "helper")
        page.goto(f"{url}/conversations/{CONVERSATION}")
        assert page.locator("audio").count() == 0
        assert page.locator(".voice").count() == 1  # spoken, but not for a volunteer's ears
        denied = page.request.get(f"{url}/recordings/{rid}/audio")
        assert denied.status == 403
        page.context.close()
