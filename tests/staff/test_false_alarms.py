"""False alarms from the console (the alerts list, the alert's page) and the staff API: one
click, role- and CSRF-checked, audited, harmless twice, undoable; the dashboard's weekly
figure in both languages; the marked message in `anxin nlu export` (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from starlette.testclient import TestClient

from care import audit
from care.services import CareServices
from care.staff_sessions import StaffSessions
from staff.app import create_app
from tests.conftest import MovableClock
from tests.staff.conftest import SECRET_SUMMARY, SETTINGS, Recorder, csrf_from

As = Callable[[str], TestClient]
ROOT = Path(__file__).resolve().parents[2]


def marks(care: CareServices, alert_id: int) -> list[tuple[str, str]]:
    """The alert's false-alarm audit rows, oldest first: (action, actor)."""
    with care.db.read() as s:
        rows = audit.entries(s, subject=f"alert:{alert_id}")
    return [(e.action, e.actor) for e in reversed(rows) if "false_alarm" in e.action]


def test_one_click_on_the_list_marks_a_false_alarm_and_its_page_undoes_it(
    care: CareServices, client_as: As, seeded: dict[str, int]
) -> None:
    staff = client_as("staff")
    listing = staff.get("/alerts").text
    token = csrf_from(listing)
    emergency, crisis = seeded["emergency"], seeded["crisis"]
    for alarm in (emergency, crisis):
        assert f'action="/alerts/{alarm}/false-alarm"' in listing
    for other in (seeded["handoff"], seeded["lonely"]):
        assert f'action="/alerts/{other}/false-alarm"' not in listing
    assert f'href="/alerts/{seeded["handoff"]}"' in listing  # every alert has its page

    done = staff.post(f"/alerts/{emergency}/false-alarm", data={"csrf_token": token},
                      follow_redirects=False)  # fmt: skip
    assert (done.status_code, done.headers["location"]) == (303, f"/alerts/{emergency}")
    page = staff.get(f"/alerts/{emergency}").text
    assert "已标记为误报" in page and "staff.0" in page
    assert f'action="/alerts/{emergency}/false-alarm/undo"' in page
    alert = staff.get(f"/api/alerts/{emergency}").json()
    assert (alert["status"], alert["false_alarm"], alert["false_alarm_by"]) == (
        "resolved", True, "staff.0"
    )  # fmt: skip
    assert emergency not in [a["id"] for a in staff.get("/api/alerts").json()["alerts"]]
    # Still in reach on the alerts page, under the latest false alarms.
    assert f'id="marked-{emergency}"' in staff.get("/alerts").text
    # A second click (a double tap, a colleague on another screen) changes nothing.
    again = staff.post(f"/alerts/{emergency}/false-alarm", data={"csrf_token": token},
                       follow_redirects=False)  # fmt: skip
    assert again.status_code == 303
    assert staff.get(f"/api/alerts/{emergency}").json() == alert
    assert marks(care, emergency) == [("alert.false_alarm", "staff:staff.0")]

    undone = staff.post(f"/alerts/{emergency}/false-alarm/undo", data={"csrf_token": token},
                        follow_redirects=False)  # fmt: skip
    assert (undone.status_code, undone.headers["location"]) == (303, f"/alerts/{emergency}")
    alert = staff.get(f"/api/alerts/{emergency}").json()
    assert (alert["status"], alert["false_alarm"], alert["false_alarm_at"]) == ("open", False, None)
    page = staff.get(f"/alerts/{emergency}").text
    assert "已标记为误报" not in page and f'action="/alerts/{emergency}/false-alarm"' in page
    assert marks(care, emergency) == [
        ("alert.false_alarm", "staff:staff.0"), ("alert.false_alarm_undo", "staff:staff.0")
    ]  # fmt: skip
    english = staff.get(f"/alerts/{emergency}?lang=en").text
    assert "False alarm" in english and "Not a real emergency?" in english


def test_false_alarm_needs_the_csrf_token_a_staff_role_and_an_alarm(
    care: CareServices, client_as: As, seeded: dict[str, int]
) -> None:
    emergency = seeded["emergency"]
    volunteer = client_as("volunteer")
    page = volunteer.get(f"/alerts/{emergency}")
    assert page.status_code == 200 and SECRET_SUMMARY not in page.text
    assert "/false-alarm" not in page.text + volunteer.get("/alerts").text
    token = csrf_from(page.text)  # the logout form's: a valid token, the wrong role
    for path in (f"/alerts/{emergency}/false-alarm", f"/alerts/{emergency}/false-alarm/undo"):
        assert volunteer.post(path, data={"csrf_token": token}).status_code == 403
    staff = client_as("staff")
    token = csrf_from(staff.get("/alerts").text)
    assert staff.post(f"/alerts/{emergency}/false-alarm", data={}).status_code == 403
    forged = staff.post(f"/alerts/{emergency}/false-alarm", data={"csrf_token": "x" * 43})
    assert forged.status_code == 403
    assert staff.post("/alerts/999999/false-alarm", data={"csrf_token": token}).status_code == 404
    handoff = staff.post(f"/alerts/{seeded['handoff']}/false-alarm", data={"csrf_token": token})
    assert handoff.status_code == 400 and "不是警报" in handoff.text
    assert staff.get(f"/api/alerts/{emergency}").json()["status"] == "open"
    assert marks(care, emergency) == [] and marks(care, seeded["handoff"]) == []


def test_the_api_marks_and_unmarks_a_false_alarm(
    care: CareServices, client_as: As, seeded: dict[str, int]
) -> None:
    crisis = seeded["crisis"]  # acknowledged by "someone"
    sessions = StaffSessions(care.db, care.clock, SETTINGS.session_lifetime)
    bearer = {"Authorization": f"Bearer {sessions.create_token('city-app', 'staff', 'cli:t')}"}
    helper = {"Authorization": f"Bearer {sessions.create_token('kiosk', 'volunteer', 'cli:t')}"}
    path = f"/api/alerts/{crisis}/false-alarm"
    with TestClient(create_app(care, SETTINGS)) as api:
        assert api.post(path).status_code == 401
        assert api.post(path, headers=helper).status_code == 403
        marked = api.post(path, headers=bearer)
        assert marked.status_code == 200
        body = marked.json()
        assert (body["id"], body["status"], body["false_alarm"], body["false_alarm_by"]) == (
            crisis, "resolved", True, "city-app"
        )  # fmt: skip
        assert api.post(path, headers=bearer).json() == body  # idempotent
        assert api.post(f"/api/alerts/{seeded['handoff']}/false-alarm",
                        headers=bearer).status_code == 400  # fmt: skip
        assert api.post("/api/alerts/999999/false-alarm", headers=bearer).status_code == 404
        back = api.delete(path, headers=bearer).json()
        assert (back["status"], back["false_alarm"]) == ("acknowledged", False)
        assert api.delete(path, headers=bearer).json() == back
    assert marks(care, crisis) == [
        ("alert.false_alarm", "token:city-app"), ("alert.false_alarm_undo", "token:city-app")
    ]  # fmt: skip
    # A browser session on the API also sends its CSRF token, in the header.
    staff = client_as("staff")
    token = csrf_from(staff.get("/alerts").text)
    assert staff.post(path).status_code == 403
    assert staff.post(path, headers={"X-CSRF-Token": "x" * 43}).status_code == 403
    assert staff.post(path, headers={"X-CSRF-Token": token}).json()["false_alarm"] is True
    assert staff.delete(path).status_code == 403
    assert staff.get(f"/api/alerts/{crisis}").json()["false_alarm"] is True


def test_the_dashboard_shows_false_alarms_per_week_beside_all_alarms(
    care: CareServices, client_as: As, seeded: dict[str, int], clock: MovableClock
) -> None:
    # Last week: three alarms, one false (a hand-off is no alarm and is not counted).
    clock.advance(days=-7)
    last_week = [care.alerts.raise_alert("emergency", "摔了").id for _ in range(3)]
    care.alerts.raise_alert("handoff", "要找人工")
    clock.advance(days=7)
    care.alerts.mark_false_alarm(last_week[0], "wang.staff")
    staff = client_as("staff")
    token = csrf_from(staff.get("/alerts").text)
    staff.post(f"/alerts/{seeded['emergency']}/false-alarm", data={"csrf_token": token})
    page = staff.get("/").text
    table = page.split('id="false-alarms"')[1].split("</table>")[0]
    assert table.count("<tr id=") == 8
    # This week (from Monday 23 November): the seeded emergency and crisis, one false.
    row = table.split('id="false-alarms-2026-11-23"')[1].split("</tr>")[0]
    assert [cell.strip() for cell in row.split("<td>")[1:4]] == [
        "11月23日</td>", "1</td>", "2</td>"
    ]  # fmt: skip
    assert "50%" in row
    row = table.split('id="false-alarms-2026-11-16"')[1].split("</tr>")[0]
    assert "1</td>" in row and "3</td>" in row and "33%" in row
    assert "—" in table.split('id="false-alarms-2026-10-05"')[1].split("</tr>")[0]
    assert "每周误报" in page
    english = client_as("volunteer").get("/?lang=en").text  # counts only: volunteers too
    assert "False alarms per week" in english and "23 Nov" in english


def test_a_marked_message_is_exported_as_a_not_safety_correction(
    care: CareServices,
    client_as: As,
    recorder: Recorder,
    clock: MovableClock,
    tmp_path: Path,
) -> None:
    recorder.session("telegram:tg-7")
    recorder.turn("telegram:tg-7", "我把暖壶摔了", "emergency", 1.0, channel="telegram",
                  replies=("请马上拨打120",), actions=("action_emergency",))  # fmt: skip
    recorder.flush()
    alert = care.alerts.raise_alert("emergency", "我把暖壶摔了", conversation_id="telegram:tg-7",
                                    channel="telegram")  # fmt: skip
    clock.advance(seconds=30)
    recorder.turn("telegram:tg-7", "谢谢", "thank", channel="telegram")  # after the alarm
    recorder.flush()
    staff = client_as("staff")
    token = csrf_from(staff.get("/alerts").text)
    staff.post(f"/alerts/{alert.id}/false-alarm", data={"csrf_token": token})

    out = tmp_path / "nlu"
    done = subprocess.run(
        [sys.executable, "-m", "anxin", "nlu", "export", "--out", str(out)],
        env={**os.environ, "ANXIN_DB_URL": care.settings.db_url},
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 correction(s) in zh" in done.stdout
    assert "1 of them from false alarms, as intent not_safety" in done.stdout
    assert "has no intent not_safety" not in done.stdout  # the domain learns it (bot/domain)
    data = RasaYAMLReader().read(out / "zh" / "corrections.yml")
    assert [(m.get("text"), m.get("intent")) for m in data.intent_examples] == [
        ("我把暖壶摔了", "not_safety")
    ]
