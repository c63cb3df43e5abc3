"""A console with something behind every route: an elder with a booking, alerts of each
kind, a pending family link, a voice conversation held by staff with its recording kept,
an API token, and one principal of each kind (anonymous, volunteer, staff, admin, token).

For the tests that walk every route of the app (malformed inputs, audit rows): each route
parameter has a real value here, so a request reaches the handler's own code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

from care.audit import Actor
from care.recordings import RecordingSettings, keep
from care.services import CareServices
from care.staff_sessions import StaffSessions
from tests.staff.conftest import SETTINGS, Recorder, add_user, csrf_from, login
from voice.base import SAMPLE_RATE
from voice.codecs import from_samples

SENDER = "call-world"
SAID = "我想订明天的午饭"
ROLES = ("anonymous", "volunteer", "staff", "admin", "token")


@dataclass
class Principal:
    """A client as one role: a browser session (with its CSRF token) or a bearer token."""

    role: str
    client: TestClient
    csrf: Optional[str] = None
    headers: dict[str, str] = field(default_factory=dict)


def recordings_dir(tmp_path: Path) -> RecordingSettings:
    return RecordingSettings(directory=tmp_path / "recordings")


def build(
    care: CareServices, recorder: Recorder, seeded: dict[str, int], recordings: RecordingSettings
) -> dict[str, str]:
    """Data for every route; returns a real value for each path parameter name."""
    li = seeded["elder"]
    staff = Actor.staff_user("wang.staff")
    invite = care.family.create_invite(li, staff)
    link = care.family.redeem(
        invite.code, "telegram", "730015529", "Li Ming", relation="son", language="en"
    )
    caller = care.people.create("elder", "王淑芬", consent_voice_recording=True)
    care.people.add_identity(caller.id, "voice", SENDER)
    recorder.session(SENDER)
    message_id = recorder.turn(SENDER, SAID, "book_meal", channel="voice")
    recorder.flush()
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    audio = from_samples(0.3 * np.sin(2 * np.pi * 440 * t))
    recording = keep(care.db, "voice", SENDER, message_id, audio, SAID, "zh", care.clock(),
                     settings=recordings)  # fmt: skip
    assert recording is not None
    care.alerts.raise_alert("handoff", "要找人工", person_id=caller.id, conversation_id=SENDER,
                            channel="voice")  # fmt: skip
    sessions = StaffSessions(care.db, care.clock, SETTINGS.session_lifetime)
    sessions.create_token("world-integration", "staff", staff)
    token_id = sessions.tokens()[0].id
    return {
        "booking_id": str(seeded["booking"]),
        "alert_id": str(seeded["emergency"]),
        "elder_id": str(li),
        "link_id": str(link.id),
        "token_id": str(token_id),
        "recording_id": str(recording),
        "conversation_id": SENDER,
        "username": "someone.else",
    }


def principals(care: CareServices, app: FastAPI) -> dict[str, Principal]:
    """One client per role; sessions logged in through the real form."""
    found = {"anonymous": Principal("anonymous", TestClient(app, raise_server_exceptions=False))}
    for role in ("volunteer", "staff", "admin"):
        add_user(care, f"{role}.world", role)
        client = TestClient(app, raise_server_exceptions=False)
        assert login(client, f"{role}.world").status_code == 303
        found[role] = Principal(role, client, csrf_from(client.get("/").text))
    token = StaffSessions(care.db, care.clock, SETTINGS.session_lifetime).create_token(
        "world-token", "staff", "admin"
    )
    found["token"] = Principal(
        "token",
        TestClient(app, raise_server_exceptions=False),
        headers={"Authorization": f"Bearer {token}"},
    )
    add_user(care, "someone.else", "staff")
    return found


def routes(app: FastAPI) -> list[tuple[str, APIRoute]]:
    """Every (method, route) the app serves."""
    return [
        (method, r)
        for r in app.routes
        if isinstance(r, APIRoute)
        for method in sorted(r.methods - {"HEAD"})
    ]


def fill(route: APIRoute, values: dict[str, str], **override: str) -> str:
    """The route's path with real values (or ``override``) for its parameters."""
    path = route.path_format
    for name in route.param_convertors:
        assert name in values, f"no value for {{{name}}} of {route.path}: add it to world.build"
        path = path.replace("{" + name + "}", override.get(name, values[name]))
    return path


def send(who: Principal, method: str, path: str, **kwargs: Any) -> Any:
    headers = {**who.headers, **kwargs.pop("headers", {})}
    if who.csrf and method != "GET":
        headers.setdefault("X-CSRF-Token", who.csrf)
    return who.client.request(method, path, headers=headers, follow_redirects=False, **kwargs)
