"""Staff hand an alert to a colleague from the console: role-checked, audited, no strangers."""

from __future__ import annotations

from typing import Callable

from sqlalchemy import select
from starlette.testclient import TestClient

from care import models as m
from care.services import CareServices
from care.staff_users import StaffUsers

from .conftest import add_user, csrf_from

As = Callable[[str], TestClient]


def _audited(care: CareServices, alert_id: int) -> list[tuple[str, str, dict]]:
    with care.db.read() as s:
        rows = s.scalars(
            select(m.AuditEntry).where(m.AuditEntry.subject == f"alert:{alert_id}")
        ).all()
        return [(r.action, r.actor, r.detail or {}) for r in rows]


def test_staff_hand_an_alert_to_a_colleague(
    care: CareServices, client_as: As, seeded: dict[str, int]
) -> None:
    add_user(care, "nurse.li", "staff")
    staff = client_as("staff")
    page = staff.get("/alerts").text
    assert '<option value="nurse.li">' in page  # the colleague is offered
    token = csrf_from(page)
    emergency = seeded["emergency"]
    done = staff.post(f"/alerts/{emergency}/assign", data={"csrf_token": token, "to": "nurse.li"})
    assert done.status_code == 200 and done.url.path == "/alerts"
    alert = staff.get(f"/api/alerts/{emergency}").json()
    assert alert["assigned_to"] == "nurse.li" and alert["status"] == "open"
    assert ("alert.assign", "staff:staff.0", {"to": "nurse.li"}) in _audited(care, emergency)
    # The live poll keeps the form (and the choice) on the page.
    live = staff.get("/alerts/live?actions=1").json()["html"]
    assert f'action="/alerts/{emergency}/assign"' in live
    assert '<option value="nurse.li" selected>' in live


def test_an_alert_goes_only_to_an_active_staff_member(
    care: CareServices, client_as: As, seeded: dict[str, int]
) -> None:
    add_user(care, "helper.zhao", "volunteer")
    add_user(care, "nurse.gone", "staff")
    StaffUsers(care.db, care.clock).set_active("nurse.gone", False)
    staff = client_as("staff")
    token = csrf_from(staff.get("/alerts").text)
    emergency = seeded["emergency"]
    for to in ("helper.zhao", "nurse.gone", "nobody", "", "' OR 1=1 --"):
        answer = staff.post(f"/alerts/{emergency}/assign", data={"csrf_token": token, "to": to})
        assert answer.status_code == 400, to
        assert "只能交给在职的工作人员" in answer.text
    assert staff.get(f"/api/alerts/{emergency}").json()["assigned_to"] is None
    assert not [a for a in _audited(care, emergency) if a[0] == "alert.assign"]


def test_assigning_is_refused_to_volunteers_forgers_and_resolved_alerts(
    care: CareServices, client_as: As, seeded: dict[str, int]
) -> None:
    add_user(care, "nurse.li", "staff")
    volunteer = client_as("volunteer")
    page = volunteer.get("/alerts").text
    assert "/assign" not in page
    answer = volunteer.post(
        f"/alerts/{seeded['emergency']}/assign",
        data={"csrf_token": csrf_from(page), "to": "nurse.li"},
    )
    assert answer.status_code == 403
    staff = client_as("staff")
    token = csrf_from(staff.get("/alerts").text)
    forged = staff.post(
        f"/alerts/{seeded['emergency']}/assign", data={"csrf_token": "x" * 43, "to": "nurse.li"}
    )
    assert forged.status_code == 403
    assert (
        staff.post(
            "/alerts/999999/assign", data={"csrf_token": token, "to": "nurse.li"}
        ).status_code
        == 404
    )
    lonely = seeded["lonely"]
    staff.post(f"/alerts/{lonely}/resolve", data={"csrf_token": token, "note": "打过电话了"})
    late = staff.post(f"/alerts/{lonely}/assign", data={"csrf_token": token, "to": "nurse.li"})
    assert late.status_code == 409
    assert staff.get(f"/api/alerts/{seeded['emergency']}").json()["assigned_to"] is None
