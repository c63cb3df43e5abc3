"""Roles on the server: volunteers see masked data and no exports; users/audit are admin only."""

from __future__ import annotations

from typing import Callable

from starlette.testclient import TestClient

from care import audit
from care.services import CareServices
from tests.staff.conftest import (
    SECRET_ADDRESS,
    SECRET_MOBILITY,
    SECRET_PHONE,
    SECRET_SUMMARY,
    SETTINGS,
    csrf_from,
    login,
)

As = Callable[[str], TestClient]


def test_a_volunteer_sees_elders_masked_and_staff_see_them_whole(
    client_as: As, seeded: dict[str, int]
):
    volunteer, staff = client_as("volunteer"), client_as("staff")
    masked = volunteer.get(f"/api/elders/{seeded['elder']}")
    assert masked.status_code == 200
    body = masked.json()
    assert body["name"] == "李秀兰"
    assert body["phone"] == "***78"
    assert body["address"] == "***"
    assert body["mobility_needs"] == "***"
    assert body["dietary_needs"] == ["***"]
    everything = volunteer.get("/api/elders").text + masked.text
    for secret in (SECRET_PHONE, SECRET_ADDRESS, SECRET_MOBILITY, "diabetic"):
        assert secret not in everything
    whole = staff.get(f"/api/elders/{seeded['elder']}").json()
    assert whole["phone"] == SECRET_PHONE
    assert whole["address"] == SECRET_ADDRESS
    assert whole["mobility_needs"] == SECRET_MOBILITY


def test_a_volunteer_never_receives_alert_summaries(client_as: As, seeded: dict[str, int]):
    volunteer = client_as("volunteer")
    for path in ("/", "/alerts", "/api/alerts", f"/api/alerts/{seeded['emergency']}"):
        response = volunteer.get(path)
        assert response.status_code == 200, path
        assert SECRET_SUMMARY not in response.text, path
    assert SECRET_SUMMARY in client_as("staff").get("/alerts").text


def test_a_volunteer_gets_403_on_exports_users_audit_and_alert_actions(
    client_as: As, seeded: dict[str, int]
):
    volunteer = client_as("volunteer")
    for path in ("/export/bookings.csv", "/users", "/audit"):
        assert volunteer.get(path).status_code == 403, path
    token = csrf_from(volunteer.get("/alerts").text)  # the logout form's: a valid token
    response = volunteer.post(
        f"/alerts/{seeded['emergency']}/acknowledge", data={"csrf_token": token}
    )
    assert response.status_code == 403
    assert client_as("staff").get("/api/alerts").json()["alerts"][0]["status"] == "open"


def test_staff_may_export_but_not_see_users_or_the_audit_log(client_as: As, seeded: dict[str, int]):
    staff, admin = client_as("staff"), client_as("admin")
    assert staff.get("/users").status_code == 403
    assert staff.get("/audit").status_code == 403
    assert staff.post("/users/tokens", data={"name": "x"}).status_code == 403
    assert staff.get("/export/bookings.csv").status_code == 200
    assert admin.get("/users").status_code == 200
    assert admin.get("/audit").status_code == 200


def test_unknown_ids_are_404(care: CareServices, client_as: As, seeded: dict[str, int]):
    staff = client_as("staff")
    for path in ("/api/elders/999999", "/api/bookings/999999", "/api/alerts/999999"):
        assert staff.get(path).status_code == 404, path
    # A family member is a person but not an elder.
    relative = care.people.create("family", "李明")
    assert staff.get(f"/api/elders/{relative.id}").status_code == 404
    token = csrf_from(staff.get("/alerts").text)
    for action in ("acknowledge", "resolve"):
        response = staff.post(f"/alerts/999999/{action}", data={"csrf_token": token, "note": "n"})
        assert response.status_code == 404, action


def test_views_of_profiles_and_exports_are_audited(
    care: CareServices, client_as: As, seeded: dict[str, int]
):
    staff = client_as("staff")
    staff.get(f"/api/elders/{seeded['elder']}")
    staff.get("/api/elders")
    csv = staff.get("/export/bookings.csv", params={"service": "meal"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert f"{seeded['booking']},{seeded['elder']},meal,2026-11-25" in csv.text
    with care.db.read() as s:
        views = audit.entries(s, subject=f"person:{seeded['elder']}", action="elder.view")
        lists = audit.entries(s, action="elders.list")
        exports = audit.entries(s, action="export.bookings")
    assert [(e.actor, e.at) for e in views] == [("staff:staff.0", care.clock())]
    assert [e.actor for e in lists] == ["staff:staff.0"]
    assert exports[0].actor == "staff:staff.0"
    assert exports[0].detail == {"service": "meal", "date": None, "rows": 1}
    # The admin's audit page shows them.
    page = client_as("admin").get("/audit").text
    assert "elder.view" in page and "export.bookings" in page


def test_a_failed_view_of_an_unknown_profile_writes_nothing(
    care: CareServices, client_as: As, seeded: dict[str, int]
):
    client_as("staff").get("/api/elders/999999")
    with care.db.read() as s:
        assert audit.entries(s, action="elder.view") == []


def test_elder_pages_mask_for_volunteers_and_audit_every_view(
    care: CareServices, client_as: As, seeded: dict[str, int]
):
    volunteer, staff = client_as("volunteer"), client_as("staff")
    profile = f"/elders/{seeded['elder']}"
    masked = volunteer.get(profile)
    assert masked.status_code == 200
    assert "李秀兰" in masked.text and "***78" in masked.text
    listing = volunteer.get("/elders").text
    for secret in (SECRET_PHONE, SECRET_ADDRESS, SECRET_MOBILITY, "diabetic"):
        assert secret not in masked.text + listing
    whole = staff.get(profile).text
    assert SECRET_PHONE in whole and SECRET_ADDRESS in whole and "diabetic" in whole
    assert "meal:2026-11-25:lunch:dine_in" in whole
    assert staff.get("/elders/999999").status_code == 404
    with care.db.read() as s:
        views = audit.entries(s, subject=f"person:{seeded['elder']}", action="elder.view")
    assert sorted(e.actor for e in views) == ["staff:staff.1", "staff:volunteer.0"]
    assert {e.detail["redacted"] for e in views} == {True, False}


def test_an_admin_disables_a_user_and_revokes_a_token(care: CareServices, client_as: As):
    from care.staff_sessions import StaffSessions

    admin, nurse = client_as("admin"), client_as("staff")
    sessions = StaffSessions(care.db, care.clock, SETTINGS.session_lifetime)
    token = sessions.create_token("old-kiosk", "staff", "cli:test")
    bearer = {"Authorization": f"Bearer {token}"}
    csrf = csrf_from(admin.get("/users").text)
    forged = admin.post("/users/staff.1/active", data={"csrf_token": "f" * 43, "active": "0"})
    assert forged.status_code == 403
    assert nurse.get("/").status_code == 200
    admin.post("/users/staff.1/active", data={"csrf_token": csrf, "active": "0"})
    # Disabling ends the nurse's open session at once, and the password no longer works.
    assert nurse.get("/", follow_redirects=False).status_code == 303
    nurse.cookies.clear()
    assert login(nurse, "staff.1").status_code == 401
    assert admin.post("/users/admin.0/active", data={"csrf_token": csrf}).status_code == 400
    assert admin.post("/users/nobody/active", data={"csrf_token": csrf}).status_code == 404
    assert nurse.get("/api/alerts", headers=bearer).status_code == 200
    token_id = sessions.tokens()[0].id
    admin.post(f"/users/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert nurse.get("/api/alerts", headers=bearer).status_code == 401
    assert admin.post("/users/tokens/999/revoke", data={"csrf_token": csrf}).status_code == 404
    with care.db.read() as s:
        actions = [e.action for e in audit.entries(s, limit=5)]
    assert "staff.disable_user" in actions and "staff.revoke_token" in actions
