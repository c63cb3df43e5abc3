"""Logging in and out: cookie flags, CSRF on the forms, the throttle, 401 and the login page."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select
from starlette.testclient import TestClient

from care import models as m
from care.services import CareServices
from staff.app import create_app
from staff.auth import SESSION_COOKIE
from staff.config import StaffSettings
from tests.staff.conftest import PASSWORD, SETTINGS, add_user, csrf_from, login


def test_login_sets_a_strict_httponly_session_cookie(care: CareServices, anonymous: TestClient):
    add_user(care, "nurse.wang", "staff")
    response = login(anonymous, "nurse.wang")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
    )
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags
    assert "samesite=strict" in flags
    assert "path=/" in flags
    assert "secure" not in flags  # plain http://127.0.0.1 by default
    page = anonymous.get("/")
    assert page.status_code == 200
    assert "nurse.wang" in page.text


def test_the_cookie_is_secure_when_configured(care: CareServices):
    add_user(care, "nurse.wang", "staff")
    app = create_app(care, StaffSettings(secure_cookies=True))
    with TestClient(app, base_url="https://testserver") as client:
        response = login(client, "nurse.wang")
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE + "=")
    )
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


def test_the_password_is_stored_as_an_argon2_hash(care: CareServices):
    add_user(care, "nurse.wang", "staff")
    with care.db.read() as s:
        stored = s.scalar(select(m.StaffUser.password_hash))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_a_wrong_password_shows_the_form_again(care: CareServices, anonymous: TestClient):
    add_user(care, "nurse.wang", "staff")
    response = login(anonymous, "nurse.wang", "not the password")
    assert response.status_code == 401
    assert 'name="password"' in response.text
    assert SESSION_COOKIE not in anonymous.cookies
    assert anonymous.get("/", follow_redirects=False).status_code == 303


def test_login_without_or_with_a_forged_csrf_token_is_refused(
    care: CareServices, anonymous: TestClient
):
    add_user(care, "nurse.wang", "staff")
    anonymous.get("/login")  # the browser has its login cookie; the form field is what's forged
    for token in ("", "forged-token"):
        response = anonymous.post(
            "/login",
            data={"username": "nurse.wang", "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert response.status_code == 403
    assert SESSION_COOKIE not in anonymous.cookies


def test_failed_logins_throttle_the_username_across_processes(
    care: CareServices, anonymous: TestClient
):
    add_user(care, "nurse.wang", "staff")
    for _ in range(SETTINGS.max_failures_per_username):
        assert login(anonymous, "nurse.wang", "guess").status_code == 401
    # Even the right password is refused now, and by a second console process too.
    assert login(anonymous, "nurse.wang").status_code == 429
    with TestClient(create_app(care, SETTINGS)) as other_process:
        assert login(other_process, "nurse.wang").status_code == 429
    # Another user is not locked out by nurse.wang's failures ...
    add_user(care, "nurse.zhao", "staff")
    assert login(anonymous, "nurse.zhao").status_code == 303
    # ... and the lock lifts after the window.
    care.clock.advance(minutes=SETTINGS.throttle_minutes + 1)  # type: ignore[attr-defined]
    anonymous.cookies.clear()  # nurse.zhao's session would skip the login form
    assert login(anonymous, "nurse.wang").status_code == 303


def test_failed_logins_throttle_the_client_address(care: CareServices, anonymous: TestClient):
    add_user(care, "nurse.wang", "staff")
    for i in range(SETTINGS.max_failures_per_address):
        assert login(anonymous, f"nobody{i}", "guess").status_code == 401
    assert login(anonymous, "nurse.wang").status_code == 429


def test_logout_needs_the_csrf_token_and_ends_the_session(
    care: CareServices, anonymous: TestClient
):
    add_user(care, "nurse.wang", "staff")
    login(anonymous, "nurse.wang")
    cookie = anonymous.cookies[SESSION_COOKIE]
    token = csrf_from(anonymous.get("/").text)
    assert anonymous.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    assert anonymous.post("/logout", data={}).status_code == 403
    assert anonymous.get("/").status_code == 200
    response = anonymous.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    # The old cookie, replayed, no longer opens anything.
    anonymous.cookies.set(SESSION_COOKIE, cookie)
    assert anonymous.get("/", follow_redirects=False).headers["location"] == "/login?next=/"


def test_without_a_session_pages_redirect_to_login_and_the_api_says_401(anonymous: TestClient):
    for path in ("/", "/alerts", "/users", "/audit", "/export/bookings.csv"):
        response = anonymous.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/login?next=")
    for path in ("/api/bookings", "/api/alerts", "/api/elders", "/api/elders/1"):
        response = anonymous.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
    response = anonymous.get("/api/bookings", headers={"Authorization": "Bearer anx_made_up"})
    assert response.status_code == 401
    # A made-up session cookie is no better.
    anonymous.cookies.set(SESSION_COOKIE, "made-up")
    assert anonymous.get("/api/alerts").status_code == 401


def test_login_never_redirects_off_site(care: CareServices, app: FastAPI):
    add_user(care, "nurse.wang", "staff")
    with TestClient(app) as client:
        token = csrf_from(client.get("/login").text)
        response = client.post(
            "/login",
            data={
                "username": "nurse.wang",
                "password": PASSWORD,
                "csrf_token": token,
                "next": "//evil.example/",
            },
            follow_redirects=False,
        )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
