"""Catalogue loading: expansion, idempotent reloads, and errors that point at the line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from care import models as m
from care.audit import Actor
from care.catalog import DEMO_CATALOG
from care.catalog_schema import CatalogError, read_catalog
from tests.care.helpers import SMALL_CATALOG, elder, slot_id


def count(care, model) -> int:
    with care.db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_demo_catalogue_covers_four_weeks_from_today(care, clock):
    report = care.catalog.load(DEMO_CATALOG)
    assert (report.first_day, report.last_day) == (date(2026, 11, 25), date(2026, 12, 22))
    services = {
        svc: care.bookings.availability(svc, report.first_day, report.last_day)
        for svc in m.SERVICES
    }
    assert all(services.values()), {k: len(v) for k, v in services.items()}
    days = {s.date for s in services["meal"]}
    assert min(days) == date(2026, 11, 25) and max(days) >= date(2026, 12, 19)
    assert {d.weekday() for d in days} <= {0, 1, 2, 3, 4, 5}  # no canteen on Sundays
    dishes = [dish for s in services["meal"] for dish in s.details["menu"]]
    assert all(dish["name"] and dish["name_en"] for dish in dishes)
    assert any("soft" in dish["tags"] for dish in dishes)
    centre = care.catalog.centre()
    assert centre["timezone"] == "Asia/Shanghai" and "南岗" in centre["name"]


def test_reloading_changes_nothing_and_keeps_bookings(care):
    care.catalog.load(SMALL_CATALOG)
    before = {model: count(care, model) for model in (m.Slot, m.Meal, m.ClinicSession, m.Volunteer)}
    grandma = elder(care)
    sid = slot_id(care, "meal:2026-11-26:lunch:dine_in")
    care.bookings.book(grandma.id, sid, Actor.person(grandma.id), "rest")
    report = care.catalog.load(SMALL_CATALOG)
    assert report.created == {}
    assert {model: count(care, model) for model in before} == before
    assert care.bookings.slot(sid).used == 1
    assert not care.catalog.needs_load(SMALL_CATALOG, "Asia/Shanghai")


def test_horizon_rolls_forward_and_skips_closed_days(care, clock):
    care.catalog.load(SMALL_CATALOG)
    dinners = care.bookings.availability(
        "meal", date(2026, 11, 1), date(2026, 12, 31), option="dine_in"
    )
    dinner_days = sorted(s.date for s in dinners if s.details["meal"] == "dinner")
    # horizon 7 days from Wed 25th: weekdays 25, 26, 27, (30 is closed), 1 Dec
    assert dinner_days == [date(2026, 11, d) for d in (25, 26, 27)] + [date(2026, 12, 1)]
    clock.advance(days=7)
    assert care.catalog.needs_load(SMALL_CATALOG, "Asia/Shanghai")
    care.catalog.load(SMALL_CATALOG)
    dinners = care.bookings.availability(
        "meal", date(2026, 12, 2), date(2026, 12, 31), option="dine_in"
    )
    assert max(s.date for s in dinners) == date(2026, 12, 8)


def test_clinic_and_calls_are_split_into_slots(care):
    care.catalog.load(SMALL_CATALOG)
    rehab = care.bookings.availability(
        "clinic", date(2026, 11, 26), date(2026, 11, 26), department="康复科"
    )
    assert [(s.starts_at.hour, s.starts_at.minute, s.capacity) for s in rehab] == [
        (6, 0, 2),
        (6, 20, 2),
        (6, 40, 2),  # 14:00, 14:20, 14:40 in Harbin, as UTC
    ]
    calls = care.bookings.availability("companion_call", date(2026, 11, 27), date(2026, 11, 27))
    assert [s.details["volunteer_en"] for s in calls] == ["Emily Carter", "Emily Carter"]


HEAD = (
    "version: 1\n"
    "centre: {code: c, name: 中心, name_en: C, address: 地址, address_en: A, phone: '1'}\n"
)
MEAL = (
    "meals:\n"  # line 3
    "  - meal: lunch\n"  # 4
    "    days: [mon]\n"  # 5
    '    serve: "11:30"\n'  # 6
    '    until: "13:00"\n'  # 7
    '    order_cutoff: "09:30"\n'  # 8
    "    dine_in_seats: 40\n"  # 9
    "    delivery_portions: 5\n"  # 10
    "    menu: [{name: 粥, name_en: Porridge, tags: [soft]}]\n"  # 11
)
CLINIC = (
    "clinic:\n  - days: [mon]\n    department: 内科\n    department_en: Internal\n"
    '    doctor: 王\n    doctor_en: Dr Wang\n    start: "08:00"\n    end: "09:10"\n'
    "    slot_minutes: 15\n    per_slot: 1\n"
)
BAD = [
    ("centre:\n  code: x\n", 1, "version", "field required"),
    ("version: 1\ncentre: [", 2, "", "not valid YAML"),
    (HEAD + MEAL.replace('serve: "11:30"', 'serve: "11.30"'), 6, "meals[0].serve", "HH:MM"),
    (HEAD + MEAL.replace("meal: lunch", "meal: brunch"), 4, "meals[0].meal", "permitted"),
    (
        HEAD + MEAL.replace("dine_in_seats: 40", 'dine_in_seats: "40"'),
        9,
        "meals[0].dine_in_seats",
        "integer",
    ),
    (
        HEAD + MEAL.replace("tags: [soft]", "tags: [spicy]"),
        11,
        "meals[0].menu[0].tags[0]",
        "permitted",
    ),
    (
        HEAD + MEAL.replace("    until", "    dayz: [tue]\n    until"),
        7,
        "meals[0].dayz",
        "extra fields",
    ),
    (
        HEAD + MEAL.replace("    dine_in_seats: 40\n", ""),
        4,
        "meals[0].dine_in_seats",
        "field required",
    ),
    (HEAD + CLINIC, 4, "clinic[0]", "whole number"),
    (
        HEAD + "day_care:\n  - days: [mon]\n    date: 2026-11-26\n    period: morning\n"
        '    start: "08:30"\n    end: "11:30"\n    places: 3\n',
        4,
        "day_care[0]",
        "exactly one",
    ),
]


@pytest.mark.parametrize("body,line,field,message", BAD)
def test_invalid_files_name_file_line_and_field(tmp_path, body, line, field, message):
    path = tmp_path / "centre.yml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        read_catalog(path)
    assert (err.value.line, err.value.field) == (line, field), str(err.value)
    assert message in err.value.message
    assert str(err.value).startswith(f"{path}:{line}: ")


def test_an_invalid_file_writes_nothing(care, tmp_path):
    path = tmp_path / "broken.yml"
    path.write_text(
        SMALL_CATALOG.read_text().replace("per_slot: 2", "per_slot: many"), encoding="utf-8"
    )
    with pytest.raises(CatalogError):
        care.catalog.load(path)
    assert count(care, m.Slot) == 0 and count(care, m.Meal) == 0
    with pytest.raises(CatalogError) as missing:
        care.catalog.load(tmp_path / "nowhere.yml")
    assert "cannot read" in str(missing.value)


def test_capacity_below_bookings_is_refused_and_nothing_changes(care, tmp_path):
    care.catalog.load(SMALL_CATALOG)
    grandma, grandpa = elder(care), elder(care, "王大爷")
    sid = slot_id(care, "meal:2026-11-26:lunch:dine_in")
    for who in (grandma, grandpa):
        care.bookings.book(who.id, sid, Actor.person(who.id), "rest")
    shrunk = tmp_path / "shrunk.yml"
    text = SMALL_CATALOG.read_text()
    shrunk.write_text(
        text.replace("dine_in_seats: 2", "dine_in_seats: 1").replace(
            "dine_in_seats: 10", "dine_in_seats: 11"
        ),
        encoding="utf-8",
    )
    with pytest.raises(CatalogError) as err:
        care.catalog.load(shrunk)
    assert "below the 2 places already booked" in str(err.value) and err.value.line
    assert care.bookings.slot(sid).capacity == 2
    assert care.bookings.slot_by_code("meal:2026-11-25:lunch:dine_in").capacity == 10


def test_demo_file_is_valid_on_its_own():
    cat, _ = read_catalog(DEMO_CATALOG)
    assert len(cat.volunteers) >= 5 and any("en" in v.languages for v in cat.volunteers)
    assert {e.period for e in cat.day_care} == {"morning", "afternoon", "full_day"}
    assert Path(DEMO_CATALOG).name == "demo_catalog.yml"


def test_a_missing_catalogue_is_reported_not_crashed_on(care, tmp_path):
    care.catalog.load(SMALL_CATALOG)
    missing = tmp_path / "gone.yml"
    assert care.catalog.needs_load(missing, "Asia/Shanghai")
    with pytest.raises(CatalogError, match="cannot read the file"):
        care.catalog.load(missing)
