"""Every view of people's data is audited: a walk over every GET route of the app (a
route added later is walked too) as an admin, a volunteer and an API token, on SQLite and
PostgreSQL, fails for a view that writes no audit row naming who looked (and, for one
record, which). Only routes that show no personal data are let off, by name below.

The alerts poll (every 5 s per open screen) is audited when what it shows changes, and
again every ten minutes while it stays the same: proven here too."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from care import models as m
from care.services import CareServices
from staff.app import create_app
from staff.auth import SeenByPoll
from tests.conftest import MovableClock
from tests.staff import world
from tests.staff.conftest import SETTINGS, Recorder

# Routes that show nothing about anyone: the login form and the health check.
NO_PERSONAL_DATA = {"/login", "/healthz"}


@pytest.fixture
def app(care: CareServices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("ANXIN_RECORDINGS_DIR", str(world.recordings_dir(tmp_path).directory))
    return create_app(care, SETTINGS)


@pytest.fixture
def setting(
    care: CareServices, app: FastAPI, recorder: Recorder, seeded: dict[str, int], tmp_path: Path
) -> tuple[dict[str, str], dict[str, world.Principal]]:
    values = world.build(care, recorder, seeded, world.recordings_dir(tmp_path))
    return values, world.principals(care, app)


def rows_after(care: CareServices, last_id: int) -> list[m.AuditEntry]:
    with care.db.read() as s:
        return list(s.scalars(select(m.AuditEntry).where(m.AuditEntry.id > last_id)))


def last_id(care: CareServices) -> int:
    with care.db.read() as s:
        return int(s.scalar(select(func.coalesce(func.max(m.AuditEntry.id), 0))) or 0)


ACTORS = {"admin": "staff:admin.world", "volunteer": "staff:volunteer.world",
          "token": "token:world-token"}  # fmt: skip


def test_every_view_writes_an_audit_row_naming_the_viewer_and_the_record(
    care: CareServices,
    app: FastAPI,
    setting: tuple[dict[str, str], dict[str, world.Principal]],
) -> None:
    values, principals = setting
    walked, unaudited = 0, []
    for method, route in world.routes(app):
        if method != "GET" or route.path in NO_PERSONAL_DATA:
            continue
        for role, actor in ACTORS.items():
            if role == "token" and not route.path.startswith("/api/"):
                continue  # a token opens the API only
            before = last_id(care)
            response = world.send(principals[role], method, world.fill(route, values))
            if role == "volunteer" and response.status_code == 403:
                continue  # not theirs to see: nothing shown
            assert response.status_code == 200, (role, route.path, response.status_code)
            walked += 1
            written = [e for e in rows_after(care, before) if e.actor == actor]
            record = [values[p] for p in route.param_convertors]
            if not written or not all(any(v in e.subject for e in written) for v in record):
                unaudited.append(f"{role} GET {route.path}: {[e.action for e in written]}")
    assert walked >= 30  # admin: every view; volunteer: theirs; token: the API
    assert not unaudited, "views that wrote no audit row naming the record:\n" + "\n".join(
        unaudited
    )


def test_the_alerts_poll_is_audited_when_what_it_shows_changes(
    care: CareServices,
    clock: MovableClock,
    setting: tuple[dict[str, str], dict[str, world.Principal]],
    seeded: dict[str, int],
) -> None:
    _, principals = setting
    staff, volunteer = principals["staff"], principals["volunteer"]

    def polls() -> list[m.AuditEntry]:
        with care.db.read() as s:
            found = select(m.AuditEntry).where(m.AuditEntry.action == "alerts.poll")
            return list(s.scalars(found.order_by(m.AuditEntry.id)))

    def poll(who: world.Principal) -> None:
        assert world.send(who, "GET", "/alerts/live?actions=1").status_code == 200

    for _ in range(5):  # 25 seconds of an open screen
        poll(staff)
        clock.advance(seconds=5)
    [first] = polls()
    assert first.actor == "staff:staff.world" and first.subject == "alerts"
    assert seeded["emergency"] in first.detail["alerts"]
    poll(volunteer)  # another viewer: their own row
    assert [e.actor for e in polls()][-1] == "staff:volunteer.world"
    # A new alert: the next poll shows it, and says so.
    raised = care.alerts.raise_alert("emergency", "摔倒了", person_id=seeded["elder"])
    poll(staff)
    assert raised.id in polls()[-1].detail["alerts"] and len(polls()) == 3
    poll(staff)
    assert len(polls()) == 3
    # The same screen still open ten minutes on: one more row.
    clock.advance(seconds=SeenByPoll.REPEAT.total_seconds())
    poll(staff)
    assert len(polls()) == 4 and polls()[-1].actor == "staff:staff.world"
