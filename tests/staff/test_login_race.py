"""The login throttle under concurrency, over real HTTP (uvicorn), on SQLite and
PostgreSQL: thirty wrong passwords sent at the same instant are checked no more often
than the limit allows; the rest are refused without a password check (429)."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

import httpx
from fastapi import FastAPI

from care.services import CareServices
from staff.app import create_app
from staff.config import StaffSettings
from tests.conftest import MovableClock
from tests.staff.conftest import PASSWORD, add_user, csrf_from
from tests.staff.served import serving

ATTEMPTS = 30
LIMITS = StaffSettings(max_failures_per_username=5, max_failures_per_address=20)


def at_once(base: str, names: Callable[[int], str], password: str, n: int) -> Counter[int]:
    """``n`` logins released together, each from its own browser (login form cookie)."""
    ready = threading.Barrier(n)

    def one(i: int) -> int:
        with httpx.Client(base_url=base, timeout=120) as browser:
            token = csrf_from(browser.get("/login").text)
            form = {"username": names(i), "password": password, "csrf_token": token}
            ready.wait()
            return browser.post("/login", data=form, follow_redirects=False).status_code

    with ThreadPoolExecutor(n) as pool:
        return Counter(pool.map(one, range(n)))


def app_for(care: CareServices, settings: StaffSettings = LIMITS) -> FastAPI:
    return create_app(care, settings)


def test_concurrent_wrong_passwords_for_one_name_are_checked_at_most_the_limit(
    care: CareServices, clock: MovableClock
) -> None:
    add_user(care, "nurse.wang", "staff")
    with serving(app_for(care)) as base:
        answers = at_once(base, lambda _: "nurse.wang", "a wrong guess", ATTEMPTS)
        # Checked and wrong (401) exactly as often as the limit; every other one refused.
        assert answers == {401: LIMITS.max_failures_per_username,
                           429: ATTEMPTS - LIMITS.max_failures_per_username}  # fmt: skip
        # The right password is refused too while the name is locked ...
        assert at_once(base, lambda _: "nurse.wang", PASSWORD, 1) == {429: 1}
        # ... and accepted once the window has passed.
        clock.advance(minutes=LIMITS.throttle_minutes + 1)
        assert at_once(base, lambda _: "nurse.wang", PASSWORD, 1) == {303: 1}


def test_concurrent_wrong_passwords_from_one_address_are_checked_at_most_its_limit(
    care: CareServices,
) -> None:
    add_user(care, "nurse.wang", "staff")
    with serving(app_for(care)) as base:
        answers = at_once(base, lambda i: f"guess{i}", "a wrong guess", ATTEMPTS)
        assert answers == {401: LIMITS.max_failures_per_address,
                           429: ATTEMPTS - LIMITS.max_failures_per_address}  # fmt: skip
        assert at_once(base, lambda _: "nurse.wang", PASSWORD, 1) == {429: 1}


def test_right_passwords_never_use_up_the_address(care: CareServices) -> None:
    """Each attempt is counted before its check; a right password takes it back, so a
    centre whose staff share one address is not locked out by logging in. (Attempts
    still in flight do count: more right passwords at one instant than the address's
    limit would see the last ones refused, for the moment the others take.)"""
    strict = StaffSettings(max_failures_per_username=2, max_failures_per_address=3)
    for i in range(4):
        add_user(care, f"nurse{i}", "staff")
    with serving(app_for(care, strict)) as base:

        def one(name: str, password: str) -> int:
            [(status, _)] = at_once(base, lambda _: name, password, 1).items()
            return status

        assert [one(f"nurse{i % 4}", PASSWORD) for i in range(8)] == [303] * 8
        # One failure each for two names: the address has 2 of its 3 ...
        assert [one(name, "a wrong guess") for name in ("nurse0", "nurse1")] == [401, 401]
        assert [one(f"nurse{i}", PASSWORD) for i in range(4)] == [303] * 4
        # ... and the third failure locks it, for right passwords too.
        assert one("nurse3", "a wrong guess") == 401
        assert one("nurse0", PASSWORD) == 429
