"""Shared by the browser tests: Debian's Chromium, the console as a process, screenshots.

Chromium is the Debian package (``/usr/bin/chromium``, or ``ANXIN_CHROMIUM``),
driven by Playwright; a missing browser fails the tests with what to install,
it never skips them. Screenshots go to ``ANXIN_SCREENSHOTS_DIR`` (default
``test-artifacts/staff-screenshots``, ignored by git); the staff guide's copies
are refreshed by pointing that variable at ``docs/staff/screenshots``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time as clock_time
from contextlib import contextmanager
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional
from zoneinfo import ZoneInfo

import httpx
import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Browser, Page, Playwright, ViewportSize, sync_playwright

from care.audit import Actor
from care.config import REPO_ROOT
from care.services import CareServices
from care.staff_users import StaffUsers
from care.staff_views import StaffViews
from tests.support.clock import stack_care

PASSWORD = "correct horse battery"
TABLET: ViewportSize = {"width": 1024, "height": 768}
LOCALES = {"zh": "zh-CN", "en": "en-US"}
READY_TIMEOUT_S = 90
# Playwright waits this long for a page or a click: the machine is shared and slow.
ACTION_TIMEOUT_MS = 60_000


def chromium_path() -> Path:
    return Path(os.environ.get("ANXIN_CHROMIUM", "/usr/bin/chromium"))


def launch(playwright: Playwright) -> Browser:
    path = chromium_path()
    if not path.exists():
        pytest.fail(
            f"no Chromium at {path}: the browser tests need Debian's browser "
            "(apt-get install chromium fonts-wqy-microhei; .ci/run does it), "
            "or ANXIN_CHROMIUM pointing at one",
            pytrace=False,
        )
    return playwright.chromium.launch(executable_path=str(path))


def new_page(browser: Browser, lang: str = "zh") -> Page:
    """A fresh tablet-sized browser (no cookies) whose Accept-Language is ``lang``."""
    context = browser.new_context(viewport=TABLET, locale=LOCALES[lang])
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context.new_page()


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


BUILD_SCREENSHOTS = REPO_ROOT / "test-artifacts" / "staff-screenshots"


def screenshots_dir() -> Path:
    folder = Path(os.environ.get("ANXIN_SCREENSHOTS_DIR") or BUILD_SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(page: Page, name: str, stable: bool = True) -> Path:
    """Save the whole page; ``stable=False`` (real clock, real stack) never goes to docs."""
    folder = screenshots_dir() if stable else BUILD_SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True, animations="disabled")))
    # Chromium's PNG bytes differ run to run for the same pixels: compare pixels, and
    # re-encode, so a committed screenshot only changes when the page does.
    if path.exists():
        with Image.open(path) as old:
            if (
                old.size == shot.size
                and ImageChops.difference(old.convert("RGB"), shot.convert("RGB")).getbbox() is None
            ):
                return path
    shot.save(path, optimize=True)
    return path


def log_in(page: Page, base: str, username: str, password: str = PASSWORD) -> None:
    """Through the real form, as a person would: type, press the button."""
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form[action='/login'] button[type=submit]")


def wait_healthy(url: str, proc: subprocess.Popen[Any], what: str) -> None:
    deadline = clock_time.monotonic() + READY_TIMEOUT_S
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert proc.poll() is None, f"{what} exited (code {proc.returncode})"
        assert clock_time.monotonic() < deadline, f"{what} did not answer /healthz in time"
        clock_time.sleep(0.3)


@contextmanager
def console_process(env: Mapping[str, str], module: str = "staff") -> Iterator[str]:
    """``python -m <module>`` serving the console; its base URL until the block ends."""
    url = f"http://{env['ANXIN_STAFF_HOST']}:{env['ANXIN_STAFF_PORT']}"
    proc = subprocess.Popen(
        [sys.executable, "-m", module],
        env=dict(env),
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_healthy(url, proc, f"python -m {module}")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def create_user(env: Mapping[str, str], username: str, role: str) -> None:
    """The operator's way: ``python -m staff create-user`` with the password on stdin."""
    done = subprocess.run(
        [sys.executable, "-m", "staff", "create-user", username, "--role", role],
        input=PASSWORD,
        capture_output=True,
        text=True,
        env=dict(env),
        cwd=REPO_ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


class Stack:
    """A running ``anxin run``: Rasa's port, the console's URL, the SQLite file they share,
    and the environment it was started with (its pinned clock: tests/support/clock.py)."""

    def __init__(self, rasa_port: int, console: str, db: Path, env: Mapping[str, str]) -> None:
        self.rasa_port, self.console, self.db, self.env = rasa_port, console, db, env

    def care(self) -> CareServices:
        """The stack's care services, on the stack's clock: close them when done."""
        return stack_care(f"sqlite:///{self.db}", self.env)


@contextmanager
def real_stack(tmp: Path, users: Mapping[str, str], **env: str) -> Iterator[Stack]:
    """``anxin run`` (Rasa, actions, console) on one SQLite file, with ``users`` (name ->
    role) created the operator's way; stopped when the block ends, its output shown if
    it never became ready."""
    # Imported here: the page tests use this module without the integration helpers.
    from tests.integration.test_stack import rasa_ready, start, stop

    proc, run_env, out = start(tmp, **env)
    try:
        port = int(run_env["ANXIN_RASA_PORT"])
        console = f"http://127.0.0.1:{run_env['ANXIN_STAFF_PORT']}"
        try:
            rasa_ready(port, proc)
            wait_healthy(console, proc, "anxin run's staff console")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{out.text[-4000:]}") from None
        operator_env = {**run_env, "ANXIN_STAFF_HOST": "127.0.0.1"}
        for username, role in users.items():
            create_user(operator_env, username, role)
        yield Stack(port, console, tmp / "var" / "anxin.db", run_env)
    finally:
        stop(proc, out)


# Seeded data for the page tests ----------------------------------------------------------

# Harbin, Wednesday 2026-11-25: bookings made the afternoon before (day care closes
# its list at 17:00), alerts through the morning,
# the console looked at 10:30 (the fixed clock of fixed_clock_console).
HARBIN = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 25)
SEED_START = datetime(2026, 11, 24, 16, 0, tzinfo=HARBIN).astimezone(timezone.utc)
CONSOLE_NOW = datetime(2026, 11, 25, 10, 30, tzinfo=HARBIN)

# Fictitious people; the values volunteers must never see.
LI_PHONE = "13904510078"
LI_ADDRESS = "南岗区学府路 88 号 3 单元 502"
LI_MOBILITY = "髋骨骨折后用助行器"
ZHANG_SUMMARY = "我摔倒了起不来"


class SeedClock:
    """Moved forward by hand while the morning is written, so times are the same each run."""

    def __init__(self) -> None:
        self.at = SEED_START

    def __call__(self) -> datetime:
        return self.at

    def to(self, local_hhmm: str) -> None:
        hours, minutes = (int(x) for x in local_hhmm.split(":"))
        self.at = datetime.combine(TODAY, time(hours, minutes), HARBIN).astimezone(timezone.utc)


USERS = {"director.chen": "admin", "nurse.wang": "staff", "volunteer.zhao": "volunteer"}


def seed(care: CareServices, clock: SeedClock) -> dict[str, int]:
    """The demo centre on a busy morning: four elders, bookings, alerts of every kind."""
    care.catalog.load(REPO_ROOT / "care" / "data" / "demo_catalog.yml")
    users = StaffUsers(care.db, care.clock)
    for username, role in USERS.items():
        users.create(username, role, PASSWORD)
    people = care.people
    li = people.create(
        "elder", "李秀兰", phone=LI_PHONE, address=LI_ADDRESS, dietary_needs=["diabetic"],
        mobility_needs=LI_MOBILITY, community="花园街道", interests=["京剧"],
    )  # fmt: skip
    zhang = people.create(
        "elder", "张德福", phone="13845120931", address="南岗区花园街 126 号 2 栋",
        dietary_needs=["low_salt"], mobility_needs="坐轮椅", needs_transport=True,
        community="花园街道",
    )  # fmt: skip
    wang = people.create(
        "elder", "王淑珍", phone="15004610256", dietary_needs=["soft"], community="花园街道"
    )
    lee = people.create(
        "elder", "Margaret Lee", phone="13199870412", address="Building 5, 18 Xuefu Road",
        preferred_language="en", community="花园街道", interests=["gardening"],
    )  # fmt: skip
    for who, code, channel in (
        (li, "meal:2026-11-25:lunch:dine_in", "wechat"),
        (zhang, "meal:2026-11-25:lunch:dine_in", "wechat"),
        (wang, "meal:2026-11-25:lunch:delivery", "voice"),
        (zhang, "day_care:2026-11-25:full_day", "wechat"),
        (li, "clinic:2026-11-25:internal-medicine:dr-wang-shufen:0800:0900", "wechat"),
        (lee, "call:v-liu:2026-11-25:0930", "telegram"),
    ):
        slot = care.bookings.slot_by_code(code).id
        care.bookings.book(who.id, slot, Actor.person(who.id), channel)
    alerts = care.alerts
    clock.to("08:12")
    alerts.raise_alert("loneliness_risk", "一周里三次说心里不得劲", wang.id, "wx-wang", "wechat")
    clock.to("09:05")
    alerts.raise_alert("handoff", "I'd like to talk to a person", lee.id, "tg-lee", "telegram")
    clock.to("09:40")
    crisis = alerts.raise_alert("crisis", "活着没意思", wang.id, "wx-wang", "wechat")
    alerts.acknowledge(crisis.id, "nurse.wang")
    clock.to("10:21")
    emergency = alerts.raise_alert("emergency", ZHANG_SUMMARY, zhang.id, "wx-zhang", "wechat")
    return {"li": li.id, "zhang": zhang.id, "emergency": emergency.id, "crisis": crisis.id}


def alert_status(care: CareServices, alert_id: int) -> tuple[str, Optional[str]]:
    """What the database says, read fresh (the console wrote it from another process)."""
    record = StaffViews(care.db).alert(alert_id)
    return record.status, record.assigned_to
