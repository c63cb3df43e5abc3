"""The console in real headless Chromium: login, every page at tablet size, roles, CSRF.

Each test gets its own copy of one seeded database (the demo centre on a busy
Wednesday morning) and its own console process on a clock fixed at 10:30 that
day, so the screenshots saved here are the same on every run. What the pages
show is checked against the database, and what the browser does (a click on
"acknowledge") is checked in the database afterwards.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import socket
from pathlib import Path
from typing import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page

from care import migrate
from care.config import CareSettings
from care.services import CareServices, build
from care.staff_views import StaffViews
from staff.i18n import STRINGS
from tests.staff.browser import (
    CONSOLE_NOW,
    LI_ADDRESS,
    LI_MOBILITY,
    LI_PHONE,
    PASSWORD,
    TABLET,
    TODAY,
    ZHANG_SUMMARY,
    SeedClock,
    alert_status,
    chromium,
    console_process,
    log_in,
    new_page,
    seed,
    shoot,
)

Seeded = tuple[Path, dict[str, int]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    path = tmp_path_factory.mktemp("seeded") / "anxin.db"
    clock = SeedClock()
    care = build(CareSettings(db_url=f"sqlite:///{path}"), clock=clock)
    try:
        migrate.upgrade(care.db)
        ids = seed(care, clock)
    finally:
        care.close()
    return path, ids


class Console:
    def __init__(self, url: str, care: CareServices, ids: dict[str, int]) -> None:
        self.url, self.care, self.ids = url, care, ids


@pytest.fixture
def console(seeded: Seeded, tmp_path: Path) -> Iterator[Console]:
    template, ids = seeded
    db = tmp_path / "anxin.db"
    shutil.copy(template, db)
    env = {
        **os.environ,
        "ANXIN_DB_URL": f"sqlite:///{db}",
        "ANXIN_STAFF_HOST": "127.0.0.1",
        "ANXIN_STAFF_PORT": str(_free_port()),
        "ANXIN_TEST_NOW": CONSOLE_NOW.isoformat(),
    }
    care = build(CareSettings(db_url=f"sqlite:///{db}"))
    try:
        with console_process(env, "tests.staff.fixed_clock_console") as url:
            yield Console(url, care, ids)
    finally:
        care.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as started:
        yield started


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[str], Page]]:
    """``open_page("en")``: a fresh browser context (no cookies) speaking that language."""
    pages: list[Page] = []

    def make(lang: str = "zh") -> Page:
        pages.append(new_page(browser, lang))
        return pages[-1]

    yield make
    for page in pages:
        page.context.close()


def _submit(page: Page, button: str) -> int:
    """Press a form's button; the HTTP status of the page the browser lands on."""
    with page.expect_navigation() as landed:
        page.click(button)
    response = landed.value
    assert response is not None
    return response.status


def _h1(page: Page) -> str:
    return page.inner_text("h1").strip()


def test_a_wrong_password_shows_the_form_again_then_the_right_one_logs_in(
    console: Console, open_page: Callable[[str], Page]
):
    page = open_page("zh")
    page.goto(f"{console.url}/login")
    assert page.title() == STRINGS["zh"]["title"]
    shoot(page, "login_zh")

    page.fill("input[name=username]", "nurse.wang")
    page.fill("input[name=password]", "wrong password")
    assert _submit(page, "form[action='/login'] button") == 401
    assert page.inner_text("[role=alert]") == STRINGS["zh"]["bad_login"]
    # Nothing typed is lost but the password; the form is ready for a second try.
    assert page.input_value("input[name=username]") == "nurse.wang"
    assert page.input_value("input[name=password]") == ""
    shoot(page, "login_wrong_password_zh")

    page.fill("input[name=password]", PASSWORD)
    assert _submit(page, "form[action='/login'] button") == 200
    assert page.url == f"{console.url}/"
    assert _h1(page).startswith(STRINGS["zh"]["today_bookings"])
    assert "nurse.wang" in page.inner_text("nav")


PAGES = [  # (screenshot name, path, heading key or None for the elder's name)
    ("dashboard", "/", "today_bookings"),
    ("alerts", "/alerts", "alerts"),
    ("elders", "/elders", "elders"),
    ("elder", "/elders/{li}", None),
    # Empty here (no Rasa on this clock): its wide filter form must still fit a tablet.
    ("conversations", "/conversations", "conversations"),
    ("users", "/users", "users"),
    ("audit", "/audit", "audit"),
]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_fits_a_tablet_in_both_languages(
    console: Console, open_page: Callable[[str], Page], lang: str
):
    t = STRINGS[lang]
    page = open_page(lang)  # the browser's language picks the console's
    log_in(page, console.url, "director.chen")
    for name, path, heading in PAGES:
        response = page.goto(console.url + path.format(**console.ids))
        assert response is not None and response.status == 200, path
        assert page.get_attribute("html", "lang") == ("zh-CN" if lang == "zh" else "en")
        assert _h1(page).startswith(t[heading] if heading else "李秀兰"), path
        # Tablet: nothing wider than the screen, type large enough to read at arm's length.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= TABLET["width"], f"{path} is {width}px wide in {lang}"
        font = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        assert font >= 18, f"{path} body text is {font}px"
        for link in page.locator("nav a").all():
            box = link.bounding_box()
            assert box is not None and box["x"] + box["width"] <= TABLET["width"], path
        shoot(page, f"{name}_{lang}")
        if name == "dashboard":
            # The chart's numbers are the database's, service by service.
            for load in StaffViews(console.care.db).load(TODAY):
                row = page.inner_text(f"#load-{load.service}")
                assert t[load.service] in row
                assert f"{load.used} / {load.capacity}" in row
        if name == "alerts":
            first = page.locator("tr[id^=alert-]").first
            assert first.get_attribute("id") == f"alert-{console.ids['emergency']}"
            assert ZHANG_SUMMARY in first.inner_text()

    # The other language is one tap away and stays chosen on the next page.
    other = "en" if lang == "zh" else "zh"
    page.click(f"nav .lang a[href='?lang={other}']")
    page.wait_for_url(f"**?lang={other}")
    assert _h1(page) == STRINGS[other]["audit"]
    page.goto(f"{console.url}/elders")
    assert _h1(page) == STRINGS[other]["elders"]


def test_a_volunteer_sees_masked_data_and_cannot_export(
    console: Console, open_page: Callable[[str], Page]
):
    t = STRINGS["en"]
    page = open_page("en")
    log_in(page, console.url, "volunteer.zhao")
    assert page.inner_text("main .msg") == t["masked_note"]
    assert page.locator("a[href='/export/bookings.csv']").count() == 0
    assert page.locator("nav a[href='/users'], nav a[href='/audit']").count() == 0

    page.goto(f"{console.url}/elders")
    listing = page.content()
    assert LI_PHONE not in listing and "***78" in listing
    shoot(page, "elders_volunteer_en")

    page.goto(f"{console.url}/elders/{console.ids['li']}")
    profile = page.content()
    for secret in (LI_PHONE, LI_ADDRESS, LI_MOBILITY, "diabetic"):
        assert secret not in profile
    cells = {
        page.inner_text(f"tr:has(th:text-is('{t[key]}')) td")
        for key in ("address", "diet", "mobility")
    }
    assert cells == {"***"}
    shoot(page, "elder_volunteer_en")

    page.goto(f"{console.url}/alerts")
    assert ZHANG_SUMMARY not in page.content()
    assert page.locator("form[action$='/acknowledge'], form[action$='/resolve']").count() == 0

    # Typing the address by hand does not help: the server refuses, not just the menu.
    for path in ("/export/bookings.csv", "/users", "/audit"):
        response = page.goto(console.url + path)
        assert response is not None and response.status == 403, path
        assert _h1(page) == t["forbidden"]


def test_staff_see_the_real_data_and_export_the_bookings(
    console: Console, open_page: Callable[[str], Page]
):
    page = open_page("zh")
    log_in(page, console.url, "nurse.wang")
    page.goto(f"{console.url}/elders/{console.ids['li']}")
    profile = page.content()
    for secret in (LI_PHONE, LI_ADDRESS, LI_MOBILITY, "diabetic"):
        assert secret in profile
    with page.expect_download() as download:
        page.click("nav a[href='/export/bookings.csv']")
    path = download.value.path()
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    assert len(rows) == len(StaffViews(console.care.db).bookings())
    assert {row["service"] for row in rows} == {"meal", "day_care", "clinic", "companion_call"}


def test_a_forged_csrf_token_is_refused_and_changes_nothing(
    console: Console, open_page: Callable[[str], Page]
):
    emergency = console.ids["emergency"]
    page = open_page("en")
    log_in(page, console.url, "nurse.wang")
    page.goto(f"{console.url}/alerts")
    row = f"#alert-{emergency}"
    page.locator(f"{row} form[action$='/acknowledge'] input[name=csrf_token]").evaluate(
        "field => { field.value = 'forged' + field.value.slice(6); }"
    )
    assert _submit(page, f"{row} form[action$='/acknowledge'] button") == 403
    assert _h1(page) == STRINGS["en"]["forbidden"]
    assert alert_status(console.care, emergency) == ("open", None)

    # The login form has its own token: a forged one is refused before any password check.
    stranger = open_page("en")
    stranger.goto(f"{console.url}/login")
    stranger.locator("input[name=csrf_token]").evaluate("field => { field.value = 'x'; }")
    stranger.fill("input[name=username]", "nurse.wang")
    stranger.fill("input[name=password]", PASSWORD)
    assert _submit(stranger, "form[action='/login'] button") == 403
    assert all(c["name"] != "anxin_staff" for c in stranger.context.cookies())


def test_staff_acknowledge_then_resolve_an_alert_with_a_note(
    console: Console, open_page: Callable[[str], Page]
):
    emergency = console.ids["emergency"]
    t = STRINGS["zh"]
    page = open_page("zh")
    log_in(page, console.url, "nurse.wang")
    page.goto(f"{console.url}/alerts")
    row = f"#alert-{emergency}"
    assert _submit(page, f"{row} form[action$='/acknowledge'] button") == 200
    assert page.url == f"{console.url}/alerts"
    assert f"{t['acknowledged']} · nurse.wang" in page.inner_text(row)
    assert alert_status(console.care, emergency) == ("acknowledged", "nurse.wang")

    # No note: the same page again with a plain request, and the alert still waits.
    assert _submit(page, f"{row} form[action$='/resolve'] button") == 400
    assert page.inner_text("[role=alert]") == t["note_needed"]
    assert alert_status(console.care, emergency)[0] == "acknowledged"

    page.fill(f"{row} input[name=note]", "已打120，儿子已到医院")
    assert _submit(page, f"{row} form[action$='/resolve'] button") == 200
    assert page.locator(row).count() == 0
    assert alert_status(console.care, emergency) == ("resolved", "nurse.wang")
