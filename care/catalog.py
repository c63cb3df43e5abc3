"""Load the service catalogue: expand recurring entries and upsert them by code.

Loading is one transaction: an error (in the file, or a capacity below what is
already booked) leaves the database as it was. Reloading the same file is a
no-op; bookings are never deleted.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from sqlalchemy import select
from sqlalchemy.orm import Session

from care import audit
from care import models as m
from care.audit import Actor
from care.catalog_schema import WEEKDAYS, CatalogError, CatalogFile, line_of, read_catalog
from care.clock import Clock, local_datetime, zone
from care.db import Database

log = logging.getLogger(__name__)

DEMO_CATALOG = Path(__file__).resolve().parent / "data" / "demo_catalog.yml"


@dataclass
class LoadReport:
    path: str
    first_day: date
    last_day: date
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool) -> None:
        target = self.created if created else self.updated
        target[kind] = target.get(kind, 0) + 1

    def summary(self) -> str:
        made = ", ".join(f"{n} {k}" for k, n in sorted(self.created.items())) or "nothing new"
        return f"{self.path}: {self.first_day}..{self.last_day}: created {made}"


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def occurrences(entry: Any, first: date, days: int, closed: set[date]) -> Iterator[date]:
    if entry.date is not None:
        if first <= entry.date < first + timedelta(days=days):
            yield entry.date
        return
    wanted = {WEEKDAYS.index(d) for d in entry.days}
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day.weekday() in wanted and day not in closed:
            yield day


def steps(start: time, end: time, minutes: int) -> Iterator[tuple[time, time]]:
    at = datetime.combine(date.min, start)
    stop = datetime.combine(date.min, end)
    while at + timedelta(minutes=minutes) <= stop:
        yield at.time(), (at + timedelta(minutes=minutes)).time()
        at += timedelta(minutes=minutes)


class CatalogLoader:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def load(self, path: Union[str, Path], actor: Actor = audit.SYSTEM) -> LoadReport:
        cat, tree = read_catalog(path)
        tz = zone(cat.centre.timezone)
        today = self.clock().astimezone(tz).date()
        report = LoadReport(str(path), today, today + timedelta(days=cat.schedule.horizon_days - 1))
        with self.db.write() as s:
            _Upsert(s, cat, tree, str(path), tz, today, report).run()
            _set_meta(s, "centre", cat.centre.dict())
            _set_meta(
                s,
                "source",
                {
                    "path": str(Path(path).resolve()),
                    "sha256": hashlib.sha256(Path(path).read_bytes()).hexdigest(),
                    "loaded_on": today.isoformat(),
                },
            )
            audit.record(
                s,
                self.clock(),
                actor,
                "catalog.load",
                f"catalog:{cat.centre.code}",
                detail={"created": report.created, "updated": report.updated},
            )
        log.info("catalogue loaded: %s", report.summary())
        return report

    def needs_load(self, path: Union[str, Path], tz_name: str) -> bool:
        """True when nothing is loaded, the file changed, or the horizon should roll on."""
        with self.db.read() as s:
            row = s.get(m.CatalogMeta, "source")
            source = row.value if row else None
        if not source:
            return True
        today = self.clock().astimezone(zone(tz_name)).date().isoformat()
        try:
            digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except OSError:
            return True  # load() then says clearly which file it cannot read
        return bool(
            source.get("path") != str(Path(path).resolve())
            or source.get("sha256") != digest
            or source.get("loaded_on") != today
        )

    def centre(self) -> Optional[dict[str, Any]]:
        with self.db.read() as s:
            row = s.get(m.CatalogMeta, "centre")
            return dict(row.value) if row else None


def _set_meta(s: Session, key: str, value: Any) -> None:
    row = s.get(m.CatalogMeta, key)
    if row is None:
        s.add(m.CatalogMeta(key=key, value=value))
    else:
        row.value = value


class _Upsert:
    """One load: every row found by its code, created or updated in place."""

    def __init__(
        self,
        s: Session,
        cat: CatalogFile,
        tree: Any,
        path: str,
        tz: Any,
        today: date,
        report: LoadReport,
    ) -> None:
        self.s, self.cat, self.tree, self.path, self.tz = s, cat, tree, path, tz
        self.today, self.report = today, report
        self.closed = set(cat.schedule.closed_dates)
        self.days = cat.schedule.horizon_days

    def run(self) -> None:
        for i, e in enumerate(self.cat.meals):
            for day in occurrences(e, self.today, self.days, self.closed):
                self._meal(("meals", i), e, day)
        for i, d in enumerate(self.cat.day_care):
            for day in occurrences(d, self.today, self.days, self.closed):
                self._day_care(("day_care", i), d, day)
        for i, c in enumerate(self.cat.clinic):
            for day in occurrences(c, self.today, self.days, self.closed):
                self._clinic(("clinic", i), c, day)
        for i, v in enumerate(self.cat.volunteers):
            self._volunteers(("volunteers", i), v)
        for a in self.cat.activities:
            for day in occurrences(a, self.today, self.days, self.closed):
                code = f"activity:{day}:{slug(a.name_en)}:{a.start:%H%M}"
                self._row(
                    m.Activity,
                    code,
                    date=day,
                    kind=a.kind,
                    name=a.name,
                    name_en=a.name_en,
                    start=a.start,
                    end=a.end,
                    place=a.place,
                    place_en=a.place_en,
                )
        self.s.flush()

    def _at(self, day: date, t: time) -> datetime:
        return local_datetime(day, t, self.tz)

    def _row(self, model: Any, code: str, **values: Any) -> Any:
        row = self.s.scalars(select(model).where(model.code == code)).first()
        created = row is None
        if created:
            row = model(code=code)
            self.s.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        self.report.count(model.__tablename__, created)
        return row

    def _slot(self, loc: tuple[Any, ...], code: str, capacity: int, **values: Any) -> None:
        row = self.s.scalars(select(m.Slot).where(m.Slot.code == code)).first()
        if row is not None and capacity < row.used:
            raise CatalogError(
                self.path,
                line_of(self.tree, loc),
                ".".join(map(str, loc)),
                f"{code}: capacity {capacity} is below the {row.used} places already booked",
            )
        self._row(m.Slot, code, capacity=capacity, **values)

    def _meal(self, loc: tuple[Any, ...], e: Any, day: date) -> None:
        code = f"meal:{day}:{e.meal}"
        meal = self._row(
            m.Meal,
            code,
            date=day,
            meal=e.meal,
            price_yuan=e.price_yuan,
            menu=[d.dict() for d in e.menu],
        )
        self.s.flush()
        cutoff = self._at(day - timedelta(days=e.cutoff_days_before), e.order_cutoff)
        for option, capacity, field_name in (
            ("dine_in", e.dine_in_seats, "dine_in_seats"),
            ("delivery", e.delivery_portions, "delivery_portions"),
        ):
            self._slot(
                loc + (field_name,),
                f"{code}:{option}",
                capacity,
                group_code=code,
                service="meal",
                option=option,
                date=day,
                starts_at=self._at(day, e.serve),
                ends_at=self._at(day, e.until),
                cutoff_at=cutoff,
                meal_id=meal.id,
            )

    def _day_care(self, loc: tuple[Any, ...], e: Any, day: date) -> None:
        code = f"day_care:{day}:{e.period}"
        session = self._row(
            m.DayCareSession,
            code,
            date=day,
            period=e.period,
            room=e.room,
            room_en=e.room_en,
            pickup_points=[p.dict() | {"time": f"{p.time:%H:%M}"} for p in e.pickup_points],
        )
        self.s.flush()
        cutoff = (
            self._at(day - timedelta(days=e.cutoff_days_before), e.booking_cutoff)
            if e.booking_cutoff
            else self._at(day, e.start)
        )
        self._slot(
            loc + ("places",),
            code,
            e.places,
            group_code=f"day_care:{day}",
            service="day_care",
            option=e.period,
            date=day,
            starts_at=self._at(day, e.start),
            ends_at=self._at(day, e.end),
            cutoff_at=cutoff,
            day_care_id=session.id,
        )

    def _clinic(self, loc: tuple[Any, ...], e: Any, day: date) -> None:
        code = f"clinic:{day}:{slug(e.department_en)}:{slug(e.doctor_en)}:{e.start:%H%M}"
        session = self._row(
            m.ClinicSession,
            code,
            date=day,
            department=e.department,
            department_en=e.department_en,
            doctor=e.doctor,
            doctor_en=e.doctor_en,
            title=e.title,
            title_en=e.title_en,
            room=e.room,
            room_en=e.room_en,
            slot_minutes=e.slot_minutes,
        )
        self.s.flush()
        for start, end in steps(e.start, e.end, e.slot_minutes):
            self._slot(
                loc + ("per_slot",),
                f"{code}:{start:%H%M}",
                e.per_slot,
                group_code=code,
                service="clinic",
                option="appointment",
                date=day,
                starts_at=self._at(day, start),
                ends_at=self._at(day, end),
                cutoff_at=self._at(day, start),
                clinic_session_id=session.id,
            )

    def _volunteers(self, loc: tuple[Any, ...], v: Any) -> None:
        volunteer = self._row(
            m.Volunteer,
            v.code,
            name=v.name,
            name_en=v.name_en,
            languages=list(v.languages),
            interests=list(v.interests),
            interests_en=list(v.interests_en),
            call_minutes=v.call_minutes,
            availability=[
                {
                    "days": w.days,
                    "date": w.date and w.date.isoformat(),
                    "start": f"{w.start:%H:%M}",
                    "end": f"{w.end:%H:%M}",
                }
                for w in v.availability
            ],
        )
        self.s.flush()
        for j, window in enumerate(v.availability):
            for day in occurrences(window, self.today, self.days, self.closed):
                for start, end in steps(window.start, window.end, v.call_minutes):
                    code = f"call:{v.code}:{day}:{start:%H%M}"
                    self._slot(
                        loc + ("availability", j),
                        code,
                        1,
                        group_code=code,
                        service="companion_call",
                        option="call",
                        date=day,
                        starts_at=self._at(day, start),
                        ends_at=self._at(day, end),
                        cutoff_at=self._at(day, start),
                        volunteer_id=volunteer.id,
                    )
