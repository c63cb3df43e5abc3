"""Elders and families in real headless Chromium: a pending family link approved, then
revoked with a reason, through the buttons; the dashboard's low-mood bars; a volunteer's view.

The demo centre's busy morning (tests.staff.browser.seed) plus family links made by real
invitation codes and two weeks of moods, served by the console process on its fixed clock;
what the browser changes is read back from the database, and a revoked son's booking is
refused by care.booking itself.
"""

from __future__ import annotations

import os
import shutil
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, Iterator

import pytest
from playwright.sync_api import Browser, Page
from sqlalchemy import select

from care import migrate
from care import models as m
from care.audit import Actor
from care.clock import fixed_clock
from care.config import CareSettings
from care.errors import NotPermitted
from care.services import CareServices, build
from staff.i18n import STRINGS
from tests.staff.browser import (
    CONSOLE_NOW,
    HARBIN,
    SeedClock,
    chromium,
    console_process,
    log_in,
    new_page,
    seed,
    shoot,
)

Seeded = tuple[Path, dict[str, int]]
LI_OPENID = "oLiXiulan-wechat-openid-5521"
SON_TG = "8801234567"
REASON = "老人说已经和儿子商量好，先不用他代订"
SLOT = "meal:2026-11-26:lunch:dine_in"
# Low moods of the demo centre, local day -> (lonely, sad), written by care.comfort.
MOODS = {
    "2026-11-13": (1, 0), "2026-11-16": (0, 1), "2026-11-18": (2, 0), "2026-11-20": (1, 1),
    "2026-11-23": (2, 1), "2026-11-24": (1, 1), "2026-11-25": (2, 0),
}  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _family(care: CareServices, clock: SeedClock, li: int) -> dict[str, int]:
    """Li's daughter linked last week (Li said yes on WeChat); her son asks this morning."""
    care.people.add_identity(li, "wechat", LI_OPENID)
    clock.at = datetime(2026, 11, 18, 19, 0, tzinfo=HARBIN)
    invite = care.family.create_invite(li, Actor.person(li), relation_hint="daughter")
    daughter = care.family.redeem(invite.code, "wechat", "oLiNa-openid", "李娜")
    care.family.answer(li, daughter.id, True, Actor.person(li))
    clock.to("07:50")
    invite = care.family.create_invite(li, Actor.person(li), relation_hint="son")
    son = care.family.redeem(invite.code, "telegram", SON_TG, "Li Ming", language="en")
    return {"daughter_link": daughter.id, "son_link": son.id, "son": son.family_id}


def _moods(care: CareServices, clock: SeedClock) -> None:
    """Each low mood from its own conversation (as strangers), Li's own today."""
    n = 0
    for day, (lonely, sad) in MOODS.items():
        for mood in ["lonely"] * lonely + ["sad"] * sad:
            n += 1
            at = datetime.fromisoformat(f"{day}T09:00").replace(tzinfo=HARBIN)
            clock.at = at + timedelta(minutes=n)
            who = LI_OPENID if day >= "2026-11-23" else f"tg-someone-{n}"
            care.comfort.record("wechat" if who == LI_OPENID else "telegram", who, mood)
    clock.to("10:25")
    care.comfort.record("wechat", LI_OPENID, "ok")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    path = tmp_path_factory.mktemp("seeded_people") / "anxin.db"
    clock = SeedClock()
    care = build(CareSettings(db_url=f"sqlite:///{path}"), clock=clock)
    try:
        migrate.upgrade(care.db)
        ids = seed(care, clock)
        ids.update(_family(care, clock, ids["li"]))
        _moods(care, clock)
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
    # The test's own view of the same file, on the console's clock (for booking rules).
    care = build(CareSettings(db_url=f"sqlite:///{db}"), clock=fixed_clock(CONSOLE_NOW))
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
    pages: list[Page] = []

    def make(lang: str = "zh") -> Page:
        pages.append(new_page(browser, lang))
        return pages[-1]

    yield make
    for page in pages:
        page.context.close()


def _submit(page: Page, button: str) -> int:
    with page.expect_navigation() as landed:
        page.click(button)
    response = landed.value
    assert response is not None
    return response.status


def _link(care: CareServices, link_id: int) -> str:
    with care.db.read() as s:
        return s.get(m.FamilyLink, link_id).status


def _outbox(care: CareServices, person_id: int) -> list[str]:
    with care.db.read() as s:
        return list(
            s.scalars(
                select(m.Notification.kind)
                .where(m.Notification.person_id == person_id)
                .order_by(m.Notification.id)
            )
        )


def test_staff_approve_then_revoke_a_family_link_with_a_reason(
    console: Console, open_page: Callable[[str], Page]
):
    li, son_link, son = console.ids["li"], console.ids["son_link"], console.ids["son"]
    t = STRINGS["zh"]
    page = open_page("zh")
    log_in(page, console.url, "nurse.wang")
    page.goto(f"{console.url}/elders")
    assert f"{t['link_status_pending']} 1" in page.inner_text(f"#elder-{li}")
    with page.expect_navigation():
        page.click(f"#elder-{li} a")
    row = f"#link-{son_link}"
    assert page.inner_text(f"{row} .link-status") == t["link_status_pending"]
    assert "Li Ming" in page.inner_text(row) and "儿子" in page.inner_text(row)
    daughter = page.inner_text(f"#link-{console.ids['daughter_link']}")
    assert "李娜" in daughter and t["link_status_active"] in daughter and "李秀兰" in daughter
    assert LI_OPENID in page.inner_text("#identities")
    assert page.locator("#moods tr").count() == 4  # a header and three days with moods
    shoot(page, "elder_family_zh")

    relative = Actor.person(son)
    slot = console.care.bookings.slot_by_code(SLOT).id
    with pytest.raises(NotPermitted):  # pending: not yet
        console.care.bookings.book(li, slot, relative, "telegram")
    assert _submit(page, f"{row} form[action$='/approve'] button") == 200
    assert page.inner_text(f"{row} .link-status") == t["link_status_active"]
    assert "nurse.wang" in page.inner_text(row)
    assert _link(console.care, son_link) == "active"
    booked = console.care.bookings.book(li, slot, relative, "telegram")
    assert booked.status == "confirmed"

    page.fill(f"{row} input[name=reason]", REASON)
    assert _submit(page, f"{row} form[action$='/revoke'] button") == 200
    assert page.inner_text(f"{row} .link-status") == t["link_status_revoked"]
    assert page.inner_text(f"{row} .link-reason") == REASON
    assert page.locator(f"{row} form").count() == 0  # nothing left to press
    assert _link(console.care, son_link) == "revoked"
    assert _outbox(console.care, son)[-2:] == ["family_link_approved", "family_link_revoked"]
    assert _outbox(console.care, li)[-2:] == ["family_link_approved", "family_link_revoked"]
    with pytest.raises(NotPermitted):
        console.care.bookings.book(li, slot, relative, "telegram")
    with pytest.raises(NotPermitted):
        console.care.bookings.cancel(booked.id, relative, "telegram")
    shoot(page, "elder_family_revoked_zh")


def test_the_dashboard_shows_two_weeks_of_low_moods_without_names(
    console: Console, open_page: Callable[[str], Page]
):
    page = open_page("zh")
    log_in(page, console.url, "nurse.wang")
    rows = page.locator("#mood-trend tr[id^=mood-]")
    assert rows.count() == 14
    assert rows.first.get_attribute("id") == "mood-2026-11-12"
    for day, (lonely, sad) in MOODS.items():
        cells = page.locator(f"#mood-{day} td").all_inner_texts()
        assert cells[1] == str(lonely + sad) and cells[3:] == [str(lonely), str(sad)], day
    busiest = page.locator("#mood-2026-11-23 .bar span").get_attribute("style")
    assert busiest == "width: 100%"
    assert page.locator("#mood-2026-11-14 .bar span").get_attribute("style") == "width: 0%"
    assert (
        page.inner_text("#at-risk strong") == "1"
    )  # Li, low seven times since Monday; strangers once each
    assert "李秀兰" not in page.inner_text("main")
    shoot(page, "dashboard_moods_zh")
    english = open_page("en")
    log_in(english, console.url, "volunteer.zhao")
    assert "Low moods (lonely, sad)" in english.inner_text("main")
    assert english.inner_text("#mood-2026-11-25 td >> nth=0") == "Wed 25 Nov"


def test_a_volunteer_sees_the_links_but_not_the_accounts_moods_or_buttons(
    console: Console, open_page: Callable[[str], Page]
):
    t = STRINGS["en"]
    page = open_page("en")
    log_in(page, console.url, "volunteer.zhao")
    page.goto(f"{console.url}/elders/{console.ids['li']}")
    assert t["link_status_pending"] in page.inner_text(f"#link-{console.ids['son_link']}")
    assert page.locator("form[action*='/links/']").count() == 0
    assert LI_OPENID not in page.content() and "***21" in page.inner_text("#identities")
    assert page.locator("#moods").count() == 0 and t["mood_hidden"] in page.inner_text("main")
    shoot(page, "elder_family_volunteer_en")
    # Typed by hand, with the page's own CSRF token: still refused by the server.
    refused = page.evaluate(
        """async ([url, token]) => (await fetch(url, {method: 'POST', body: new URLSearchParams(
               {csrf_token: token, reason: 'x'})})).status""",
        [
            f"{console.url}/elders/{console.ids['li']}/links/{console.ids['son_link']}/revoke",
            page.locator("input[name=csrf_token]").first.get_attribute("value"),
        ],
    )
    assert refused == 403
    assert _link(console.care, console.ids["son_link"]) == "pending"
