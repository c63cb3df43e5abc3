"""No 5xx for a client's mistake on any route of the console, as any role, on SQLite and
PostgreSQL: every route of ``app.routes`` gets ids out of range, deeply nested and
non-object JSON, bad UTF-8, NUL characters, lone surrogates, oversized bodies, forms and
query strings. A route added later is walked the same way (its parameters need a value in
tests/staff/world.py, or this test says so)."""

from __future__ import annotations

import dataclasses
import socket
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from care.services import CareServices
from staff import limits
from staff.app import create_app
from tests.staff import world
from tests.staff.conftest import SETTINGS, Recorder, csrf_from
from tests.staff.served import free_port, serving

INT64_MAX = 2**63 - 1

BAD_IDS = [
    str(INT64_MAX + 1), "9" * 30, "-1", str(-INT64_MAX - 2), "0", "abc", "1.5", "1e3", "+1",
    "0x10", "%C2%B2", "%D9%A1", "%00", "1%00", "%ED%A0%80", "%FF%FE", "9" * 4000, "%20",
]  # fmt: skip

BAD_QUERIES = [
    f"elder_id={INT64_MAX + 1}", "elder_id=-1", "elder_id=%C2%B2", "limit=" + "9" * 30,
    "date=0001-01-01", "date=9999-12-31", "date=%00", "from=0001-01-01&to=9999-12-31",
    "from=9999-12-31", "page=999999999&per_page=100", "page=%C2%B2", "per_page=%C2%B2",
    "q=%00", "q=%ED%A0%80", "q=%FF", "channel=%00", "intent=%00", "language=%00",
    "service=%00", "status=%00", "next=%00", "next=%FF", "lang=%00", "include_resolved=maybe",
    "done=%00", "actions=%FF", "handed_off=%C2%B2", "elder_id=" + "1" * 5000,
    "x=" + "a" * 60_000, "a=1&" * 5000, "q=" + "%E4%BD%A0" * 3000, "%00=%00", "=&=&&",
]  # fmt: skip

NESTED = [b"[" * 50_000, b'{"a":' * 50_000, b"[" * 5000 + b"]" * 5000]
JSON_BODIES = NESTED + [
    b"[]", b'"x"', b"null", b"1e999999", b"9" * 5000, b"{", b"",
    b'{"reason":"\\u0000 at the door","slot_id":1}',
    b'{"reason":"\\ud800 at the door","slot_id":1}',
    b'{"reason":"moved to tomorrow","slot_id":' + b"9" * 30 + b"}",
    b'{"reason":"moved to tomorrow","slot_id":-9223372036854775809}',
    b'{"reason":"moved to tomorrow","slot_id":1.5e308}',
    b'\xff\xfe{"reason":"x"}',
    b'{"reason":"' + b"x" * 3_000_000 + b'"}',
]  # fmt: skip
JSON_TYPES = ["application/json", "text/plain", "application/json; charset=latin-1"]

BAD_FIELD_VALUES = [
    "%00", "%FF%FE", "%ED%A0%80", "%C2%B2", "9" * 30, "-1", "x" * 300_000,
]  # fmt: skip
# Form fields read by the console's forms, with a valid value each.
VALID = {
    "reason": "老人住院了", "note": "已电话回访", "text": "您好，我是服务中心的小王",
    "to": "staff.world", "slot_id": "1", "event_id": "1", "correct_intent": "book_meal",
    "username": "nobody", "password": "not the password", "name": "city", "role": "staff",
    "active": "1", "next": "/",
}  # fmt: skip
RAW_FORMS = [
    ("application/x-www-form-urlencoded", b"a=1&" * 20_000),
    ("application/x-www-form-urlencoded", b"\xff\xfe=\xff"),
    ("multipart/form-data; boundary=xyz", b"--xyz\r\nContent-Disposition: form-data\r\n\r\n"),
    ("multipart/form-data", b"garbage"),
    ("multipart/form-data; boundary=xyz",
     b"--xyz\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a\"\r\n\r\n"
     + b"x" * 3_000_000 + b"\r\n--xyz--\r\n"),
]  # fmt: skip
BAD_HEADERS = [
    {"Range": "bytes=" + "9" * 30 + "-"}, {"Range": "bytes=" + ",".join(["0-0"] * 2000)},
    {"Range": "bytes=-0"}, {"Accept-Language": "en;q=" + "9" * 400},
    {"Cookie": "anxin_lang=%00; anxin_staff=%FF"}, {"Authorization": b"Bearer anx_\xff"},
    {"Authorization": "Basic " + "x" * 6000}, {"X-CSRF-Token": b"\xff" * 100},
]  # fmt: skip


@pytest.fixture
def app(care: CareServices, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    recordings = world.recordings_dir(tmp_path)
    monkeypatch.setenv("ANXIN_RECORDINGS_DIR", str(recordings.directory))
    # Nothing listens there: a well-formed staff reply is answered 503 (Rasa unavailable).
    nowhere = f"http://127.0.0.1:{free_port()}"
    return create_app(care, dataclasses.replace(SETTINGS, rasa_url=nowhere))


@pytest.fixture
def setting(
    care: CareServices, app: FastAPI, recorder: Recorder, seeded: dict[str, int], tmp_path: Path
) -> Iterator[tuple[dict[str, str], dict[str, world.Principal]]]:
    values = world.build(care, recorder, seeded, world.recordings_dir(tmp_path))
    who = world.principals(care, app)
    yield values, who
    for p in who.values():
        p.client.close()


class Failures:
    """5xx answers, grouped by route so that one broken route does not hide another."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.sent = 0

    def check(self, response: Any, what: str, route: APIRoute) -> None:
        self.sent += 1
        status = response.status_code
        # Rasa is not running here; only a well-formed staff reply gets that far.
        rasa_down = status == 503 and route.path.endswith("/reply")
        if status >= 500 and not rasa_down:
            key = f"{sorted(route.methods)} {route.path}"
            self.found.setdefault(key, []).append(f"{status} {what}")

    def assert_none(self) -> None:
        total = sum(len(v) for v in self.found.values())
        shown = "\n".join(
            f"{key}: {len(seen)}\n    " + "\n    ".join(seen[:4])
            for key, seen in self.found.items()
        )
        assert not self.found, f"{total} of {self.sent} requests got a 5xx:\n{shown}"


def _relogin_if_out(who: world.Principal, care: CareServices) -> None:
    if who.csrf is None:
        return
    page = who.client.get("/", follow_redirects=False)
    if page.status_code == 303:
        from tests.staff.conftest import login

        assert login(who.client, f"{who.role}.world").status_code == 303
        who.csrf = csrf_from(who.client.get("/").text)


def _form(route: APIRoute) -> list[str]:
    return [p.name for p in route.dependant.body_params if p.name != "csrf_token"]


def _full(who: world.Principal, route: APIRoute) -> bool:
    """The whole battery as an admin (every route lets them in) and as a bearer token
    (on the API); a few inputs of each kind as the other roles, whose requests should
    stop at the login or the role check before any parameter is used."""
    return who.role == "admin" or (who.role == "token" and route.path.startswith("/api/"))


def _few(items: list[Any], who: world.Principal, route: APIRoute) -> list[Any]:
    return items if _full(who, route) else items[::6]


def test_every_route_answers_bad_path_ids_and_queries_without_a_5xx(
    app: FastAPI, setting: tuple[dict[str, str], dict[str, world.Principal]]
) -> None:
    values, principals = setting
    failures = Failures()
    for method, route in world.routes(app):
        for who in principals.values():
            for name in route.param_convertors:
                for bad in _few(BAD_IDS, who, route):
                    path = world.fill(route, values, **{name: bad})
                    response = world.send(who, method, path)
                    failures.check(response, f"{who.role} {method} {path[:120]}", route)
            if method != "GET":
                continue
            path = world.fill(route, values)
            for query in _few(BAD_QUERIES, who, route):
                response = world.send(who, method, f"{path}?{query}")
                failures.check(response, f"{who.role} {method} {path}?{query[:80]}", route)
            for headers in _few(BAD_HEADERS, who, route):
                response = world.send(who, method, path, headers=headers)
                failures.check(response, f"{who.role} {method} {path} {headers}"[:200], route)
    failures.assert_none()


def _bodies(
    method: str, route: APIRoute, who: world.Principal, csrf: str
) -> list[tuple[str, bytes]]:
    if method == "GET":
        return [("application/json", b) for b in NESTED]
    bodies = [(t, b) for t in JSON_TYPES for b in NESTED]
    bodies += [("application/json", b) for b in JSON_BODIES] + RAW_FORMS
    fields = _form(route)
    for field in fields + ["csrf_token"]:
        for bad in BAD_FIELD_VALUES:
            # Every other field valid, so the bad one is what the route has to judge.
            form = {**{f: VALID[f] for f in fields}, "csrf_token": csrf, field: bad}
            raw = "&".join(f"{k}={v}" for k, v in form.items()).encode()
            bodies.append(("application/x-www-form-urlencoded", raw))
    return _few(bodies, who, route)


def test_every_route_answers_bad_bodies_without_a_5xx(
    care: CareServices,
    app: FastAPI,
    setting: tuple[dict[str, str], dict[str, world.Principal]],
) -> None:
    values, principals = setting
    failures = Failures()
    login_csrf = csrf_from(principals["anonymous"].client.get("/login").text)
    for method, route in world.routes(app):
        path = world.fill(route, values)
        for who in principals.values():
            csrf = login_csrf if route.path == "/login" else (who.csrf or "")
            for content_type, body in _bodies(method, route, who, csrf):
                response = world.send(
                    who, method, path, content=body, headers={"Content-Type": content_type}
                )
                what = f"{who.role} {method} {path} {content_type} {body[:60]!r}"
                failures.check(response, what, route)
                if route.path == "/logout":
                    _relogin_if_out(who, care)
    failures.assert_none()


def test_a_deeply_nested_body_is_a_400_that_says_why(
    care: CareServices, setting: tuple[dict[str, str], dict[str, world.Principal]]
) -> None:
    values, principals = setting
    staff = principals["staff"]
    cancel = f"/api/bookings/{values['booking_id']}/cancel"
    for body in (NESTED[0], b'{"a":' * 2000):  # 50,000 `[` were a RecursionError
        response = world.send(staff, "POST", cancel, content=body,
                              headers={"Content-Type": "application/json"})  # fmt: skip
        assert response.status_code == 400
        assert "nested" in response.json()["detail"]
    assert care.bookings.get(int(values["booking_id"])).status == "confirmed"


def test_huge_and_negative_ids_are_not_found(
    setting: tuple[dict[str, str], dict[str, world.Principal]],
) -> None:
    _, principals = setting
    staff = principals["staff"]
    for path in ("/api/bookings/{}", "/api/alerts/{}", "/api/elders/{}", "/elders/{}",
                 "/bookings/{}", "/recordings/{}/audio"):  # fmt: skip
        for bad in (str(INT64_MAX + 1), "-1", "abc"):
            response = world.send(staff, "GET", path.format(bad))
            assert response.status_code == 404, (path, bad)
    api = world.send(staff, "GET", f"/api/bookings?elder_id={INT64_MAX + 1}")
    assert api.status_code == 422


def test_oversized_bodies_and_query_strings_are_refused_before_the_route(
    setting: tuple[dict[str, str], dict[str, world.Principal]],
) -> None:
    values, principals = setting
    staff = principals["staff"]
    big = b'{"reason":"' + b"x" * (limits.MAX_BODY + 1) + b'"}'
    response = world.send(staff, "POST", f"/api/bookings/{values['booking_id']}/cancel",
                          content=big, headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    long_query = world.send(staff, "GET", "/api/bookings?x=" + "a" * limits.MAX_QUERY)
    assert long_query.status_code == 414


def test_over_real_http_a_refused_body_still_gets_its_answer(
    app: FastAPI, setting: tuple[dict[str, str], dict[str, world.Principal]]
) -> None:
    """uvicorn in front: bodies far beyond the limit, declared or chunked, are answered
    413 on a connection that stays usable; nesting and huge ids as in-process."""
    values, principals = setting
    bearer = principals["token"].headers
    cancel = f"/api/bookings/{values['booking_id']}/cancel"

    def chunks(size: int) -> Iterator[bytes]:
        for _ in range(size // 65536):
            yield b"[" * 65536

    with serving(app) as base, httpx.Client(base_url=base, headers=bearer, timeout=60) as c:
        json_type = {"Content-Type": "application/json"}
        assert c.post(cancel, content=b"[" * 5_000_000, headers=json_type).status_code == 413
        assert c.post(cancel, content=chunks(5_000_000), headers=json_type).status_code == 413
        assert c.post(cancel, content=NESTED[0], headers=json_type).status_code == 400
        assert c.get(f"/api/bookings/{INT64_MAX + 1}").status_code == 404
        assert c.get(f"/api/bookings/{values['booking_id']}").status_code == 200


def test_a_body_that_trickles_in_is_refused_after_the_read_limit(
    app: FastAPI, setting: tuple[dict[str, str], dict[str, world.Principal]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(limits, "READ_S", 1.0)  # the console's setting; 30 s in service
    values, principals = setting
    auth = principals["token"].headers["Authorization"].encode()
    target = f"/api/bookings/{values['booking_id']}/cancel".encode()
    with serving(app) as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: "
                         + auth + b"\r\nContent-Length: 100\r\n\r\n{")  # fmt: skip
            started = time.monotonic()
            answer = sock.recv(4096)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:60]
            assert time.monotonic() - started < 5
