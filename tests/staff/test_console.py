"""The pages and the JSON API on real data: capacity, alerts queue, filters, tokens."""

from __future__ import annotations

from typing import Callable

from starlette.testclient import TestClient

from care.services import CareServices
from staff.app import create_app
from tests.staff.conftest import SETTINGS, csrf_from

As = Callable[[str], TestClient]
BOOKING_FIELDS = {"id", "elder_id", "service", "date", "slot", "status", "booked_by", "channel"}


def test_the_dashboard_shows_todays_places_against_capacity(client_as: As, seeded: dict[str, int]):
    page = client_as("staff").get("/")
    assert page.status_code == 200
    assert "今日预约" in page.text  # Chinese first
    # Today's meals: lunch 10 dine-in + 5 delivery, dinner 3 + 2; one lunch booked.
    row = page.text.split('id="load-meal"')[1].split("</tr>")[0]
    assert "1 / 20" in row
    english = client_as("staff").get("/?lang=en")
    assert "Today&#39;s bookings against capacity" in english.text
    assert english.cookies.get("anxin_lang") == "en"


def test_bookings_api_has_the_contract_fields_and_filters(client_as: As, seeded: dict[str, int]):
    staff = client_as("staff")
    rows = staff.get("/api/bookings", params={"service": "meal", "date": "2026-11-25"}).json()
    assert [b["id"] for b in rows["bookings"]] == [seeded["booking"]]
    booking = rows["bookings"][0]
    assert BOOKING_FIELDS <= set(booking)
    assert booking["elder_id"] == seeded["elder"]
    assert booking["date"] == "2026-11-25"
    assert booking["slot"] == "meal:2026-11-25:lunch:dine_in"
    assert booking["status"] == "confirmed"
    assert booking["booked_by"] == f"person:{seeded['elder']}"
    assert booking["channel"] == "wechat"
    assert staff.get("/api/bookings", params={"service": "clinic"}).json() == {"bookings": []}
    other_day = staff.get("/api/bookings", params={"date": "2026-11-26"}).json()
    assert other_day == {"bookings": []}
    assert staff.get(f"/api/bookings/{seeded['booking']}").json()["id"] == seeded["booking"]


def test_injection_strings_in_filters_are_refused_or_harmless(
    client_as: As, seeded: dict[str, int]
):
    staff = client_as("staff")
    attacks = {
        "service": ["meal' OR '1'='1", "meal; DROP TABLE bookings;--"],
        "status": ["x' UNION SELECT password_hash FROM staff_users--"],
        "date": ["2026-11-25' OR 1=1--"],
        "elder_id": ["1 OR 1=1"],
    }
    for name, values in attacks.items():
        for value in values:
            response = staff.get("/api/bookings", params={name: value})
            assert response.status_code in (400, 422), (name, value)
            assert "argon2" not in response.text
    # The tables are still there and still answer.
    assert len(staff.get("/api/bookings").json()["bookings"]) == 1
    assert staff.get("/export/bookings.csv", params={"service": "x' OR 1=1--"}).status_code == 400


def test_alerts_come_open_first_then_most_urgent(client_as: As, seeded: dict[str, int]):
    alerts = client_as("staff").get("/api/alerts").json()["alerts"]
    assert [a["id"] for a in alerts] == [
        seeded["emergency"],
        seeded["handoff"],
        seeded["lonely"],
        seeded["crisis"],  # already acknowledged
    ]


def test_staff_acknowledge_and_resolve_an_alert_through_the_page(
    care: CareServices, client_as: As, seeded: dict[str, int]
):
    staff = client_as("staff")
    token = csrf_from(staff.get("/alerts").text)
    emergency = seeded["emergency"]
    assert staff.post(f"/alerts/{emergency}/acknowledge", data={}).status_code == 403
    forged = staff.post(f"/alerts/{emergency}/acknowledge", data={"csrf_token": "x" * 43})
    assert forged.status_code == 403
    assert staff.get(f"/api/alerts/{emergency}").json()["status"] == "open"
    done = staff.post(f"/alerts/{emergency}/acknowledge", data={"csrf_token": token})
    assert done.status_code == 200 and done.url.path == "/alerts"
    alert = staff.get(f"/api/alerts/{emergency}").json()
    assert (alert["status"], alert["assigned_to"]) == ("acknowledged", "staff.0")
    empty = staff.post(f"/alerts/{emergency}/resolve", data={"csrf_token": token, "note": " "})
    assert empty.status_code == 400
    assert "需要写一句说明" in empty.text
    staff.post(f"/alerts/{emergency}/resolve", data={"csrf_token": token, "note": "送医了"})
    open_ids = [a["id"] for a in staff.get("/api/alerts").json()["alerts"]]
    assert emergency not in open_ids
    again = staff.post(f"/alerts/{emergency}/resolve", data={"csrf_token": token, "note": "x"})
    assert again.status_code == 409


def test_an_admin_token_opens_the_api_and_nothing_else(
    care: CareServices, client_as: As, seeded: dict[str, int]
):
    admin = client_as("admin")
    token_page = admin.post(
        "/users/tokens",
        data={"csrf_token": csrf_from(admin.get("/users").text), "name": "city-dashboard"},
    )
    assert token_page.status_code == 200
    token = token_page.text.split('id="new-token">')[1].split("<")[0]
    assert token.startswith("anx_")
    with TestClient(create_app(care, SETTINGS)) as integration:
        bearer = {"Authorization": f"Bearer {token}"}
        bookings = integration.get("/api/bookings", headers=bearer)
        assert bookings.status_code == 200
        assert len(bookings.json()["bookings"]) == 1
        elder = integration.get(f"/api/elders/{seeded['elder']}", headers=bearer).json()
        assert elder["phone"] is not None and "***" not in elder["phone"]
        # A token is for the API: pages still want a logged-in person.
        page = integration.get("/", headers=bearer, follow_redirects=False)
        assert page.status_code == 303
        wrong = {"Authorization": f"Bearer {token[:-2]}xx"}
        assert integration.get("/api/bookings", headers=wrong).status_code == 401
    with care.db.read() as s:
        from care import audit

        assert audit.entries(s, action="elder.view")[0].actor == "token:city-dashboard"
        assert audit.entries(s, action="staff.create_token")[0].actor == "staff:admin.0"


def test_a_volunteer_token_gets_the_redacted_view(care: CareServices, seeded: dict[str, int]):
    from care.staff_sessions import StaffSessions

    token = StaffSessions(care.db, care.clock, SETTINGS.session_lifetime).create_token(
        "volunteer-app", "volunteer", "cli:test"
    )
    with TestClient(create_app(care, SETTINGS)) as integration:
        bearer = {"Authorization": f"Bearer {token}"}
        elder = integration.get(f"/api/elders/{seeded['elder']}", headers=bearer).json()
        assert elder["phone"] == "***78"
        export = integration.get("/export/bookings.csv", headers=bearer, follow_redirects=False)
        assert export.status_code == 303
