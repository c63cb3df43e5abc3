"""The catalogue file's schema, and errors that name the file, line and field.

The YAML is read with ruamel (which remembers where every key was written) and
checked with pydantic; a pydantic error's location is walked back through the
ruamel tree to the line a person has to fix.
"""

from __future__ import annotations

import re
from datetime import date, time
from pathlib import Path
from typing import Any, List, Literal, Optional, Union

from pydantic import BaseModel, ValidationError, conint, constr, root_validator, validator
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DIET_TAGS = ("low-salt", "low-sugar", "soft", "low-fat", "vegetarian", "halal")
HHMM = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d$")

Count = conint(strict=True, ge=0)
Positive = conint(strict=True, ge=1)
Name = constr(strip_whitespace=True, min_length=1, max_length=120)
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class CatalogError(Exception):
    """A mistake in a catalogue file: ``file:line: field: message``."""

    def __init__(self, path: Union[str, Path], line: Optional[int], field: str, message: str):
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


def parse_time(value: Any) -> time:
    if not isinstance(value, str) or not HHMM.match(value):
        raise ValueError('write times as "HH:MM" in quotes, e.g. "09:30"')
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class Strict(BaseModel):
    class Config:
        extra = "forbid"
        anystr_strip_whitespace = True


class Centre(Strict):
    code: constr(regex=r"^[a-z0-9-]+$")  # type: ignore[valid-type]
    name: Name  # type: ignore[valid-type]
    name_en: Name  # type: ignore[valid-type]
    address: Name  # type: ignore[valid-type]
    address_en: Name  # type: ignore[valid-type]
    phone: str
    timezone: str = "Asia/Shanghai"

    @validator("timezone")
    def _known_zone(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class Schedule(Strict):
    horizon_days: conint(strict=True, ge=1, le=366) = 28  # type: ignore[valid-type]
    closed_dates: List[date] = []


class Dated(Strict):
    """Entries that happen on weekdays (``days``) or on one ``date``."""

    days: Optional[List[Weekday]] = None
    date: Optional[date] = None

    @root_validator(skip_on_failure=True)
    def _days_or_date(cls, values: dict[str, Any]) -> dict[str, Any]:
        if (values.get("days") is None) == (values.get("date") is None):
            raise ValueError("give exactly one of `days` (weekly) or `date` (once)")
        if values.get("days") == []:
            raise ValueError("`days` is empty")
        return values


class Timed(Dated):
    start: time
    end: time

    _times = validator("start", "end", pre=True, allow_reuse=True)(parse_time)

    @root_validator(skip_on_failure=True)
    def _ordered(cls, values: dict[str, Any]) -> dict[str, Any]:
        if values["end"] <= values["start"]:
            raise ValueError("`end` must be after `start`")
        return values


class Dish(Strict):
    name: Name  # type: ignore[valid-type]
    name_en: Name  # type: ignore[valid-type]
    tags: List[Literal["low-salt", "low-sugar", "soft", "low-fat", "vegetarian", "halal"]] = []


class MealEntry(Dated):
    meal: Literal["lunch", "dinner"]
    serve: time
    until: time
    order_cutoff: time
    cutoff_days_before: conint(strict=True, ge=0, le=7) = 0  # type: ignore[valid-type]
    dine_in_seats: Count  # type: ignore[valid-type]
    delivery_portions: Count  # type: ignore[valid-type]
    price_yuan: Optional[Count] = None  # type: ignore[valid-type]
    menu: List[Dish]

    _times = validator("serve", "until", "order_cutoff", pre=True, allow_reuse=True)(parse_time)

    @root_validator(skip_on_failure=True)
    def _sane(cls, values: dict[str, Any]) -> dict[str, Any]:
        if values["until"] <= values["serve"]:
            raise ValueError("`until` must be after `serve`")
        if values["cutoff_days_before"] == 0 and values["order_cutoff"] > values["serve"]:
            raise ValueError("`order_cutoff` must not be after `serve`")
        if not values["menu"]:
            raise ValueError("`menu` needs at least one dish")
        return values


class PickupPoint(Strict):
    name: Name  # type: ignore[valid-type]
    name_en: Name  # type: ignore[valid-type]
    time: time

    _time = validator("time", pre=True, allow_reuse=True)(parse_time)


class DayCareEntry(Timed):
    period: Literal["morning", "afternoon", "full_day"]
    places: Count  # type: ignore[valid-type]
    room: Optional[str] = None
    room_en: Optional[str] = None
    pickup_points: List[PickupPoint] = []
    booking_cutoff: Optional[time] = None
    cutoff_days_before: conint(strict=True, ge=0, le=7) = 0  # type: ignore[valid-type]

    _cutoff = validator("booking_cutoff", pre=True, allow_reuse=True)(parse_time)


class ClinicEntry(Timed):
    department: Name  # type: ignore[valid-type]
    department_en: Name  # type: ignore[valid-type]
    doctor: Name  # type: ignore[valid-type]
    doctor_en: Name  # type: ignore[valid-type]
    title: Optional[str] = None
    title_en: Optional[str] = None
    room: Optional[str] = None
    room_en: Optional[str] = None
    slot_minutes: conint(strict=True, ge=5, le=240)  # type: ignore[valid-type]
    per_slot: Positive  # type: ignore[valid-type]

    @root_validator(skip_on_failure=True)
    def _whole_slots(cls, values: dict[str, Any]) -> dict[str, Any]:
        minutes = _minutes(values["end"]) - _minutes(values["start"])
        if minutes % values["slot_minutes"]:
            raise ValueError(
                f"{minutes} minutes is not a whole number of {values['slot_minutes']}-minute slots"
            )
        return values


class Window(Timed):
    pass


class VolunteerEntry(Strict):
    code: constr(regex=r"^[a-z0-9-]+$", max_length=40)  # type: ignore[valid-type]
    name: Name  # type: ignore[valid-type]
    name_en: Name  # type: ignore[valid-type]
    languages: List[Literal["zh", "en"]]
    interests: List[str] = []
    interests_en: List[str] = []
    call_minutes: conint(strict=True, ge=5, le=120)  # type: ignore[valid-type]
    availability: List[Window]

    @root_validator(skip_on_failure=True)
    def _sane(cls, values: dict[str, Any]) -> dict[str, Any]:
        if not values["languages"]:
            raise ValueError("`languages` needs at least one of zh, en")
        if len(values["interests"]) != len(values["interests_en"]):
            raise ValueError("`interests` and `interests_en` must have the same length")
        return values


class ActivityEntry(Timed):
    name: Name  # type: ignore[valid-type]
    name_en: Name  # type: ignore[valid-type]
    place: Optional[str] = None
    place_en: Optional[str] = None
    kind: Literal["class", "activity_room", "outing"]


class CatalogFile(Strict):
    version: Literal[1]
    centre: Centre
    schedule: Schedule = Schedule()
    meals: List[MealEntry] = []
    day_care: List[DayCareEntry] = []
    clinic: List[ClinicEntry] = []
    volunteers: List[VolunteerEntry] = []
    activities: List[ActivityEntry] = []

    @validator("volunteers")
    def _unique_codes(cls, v: List[VolunteerEntry]) -> List[VolunteerEntry]:
        seen: set[str] = set()
        for volunteer in v:
            if volunteer.code in seen:
                raise ValueError(f"volunteer code {volunteer.code!r} is used twice")
            seen.add(volunteer.code)
        return v


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def read_catalog(path: Union[str, Path]) -> tuple[CatalogFile, Any]:
    """Parse and validate; returns the model and the ruamel tree (for line numbers)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(path, None, "", f"cannot read the file ({exc.strerror})") from None
    try:
        tree = YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise CatalogError(
            path, line, "", f"not valid YAML: {exc.problem or exc.context}"
        ) from None
    if not isinstance(tree, dict):
        raise CatalogError(path, 1, "", "the file must be a mapping with `version`, `centre` ...")
    try:
        return CatalogFile.parse_obj(_plain(tree)), tree
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if p != "__root__")
        raise CatalogError(path, line_of(tree, loc), _dotted(loc), first["msg"]) from None


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def line_of(tree: Any, loc: tuple[Any, ...]) -> Optional[int]:
    """The 1-based line of the deepest part of ``loc`` that exists in the file."""
    node, line = tree, 1
    for part in loc:
        lc = getattr(node, "lc", None)
        try:
            if isinstance(node, dict) and part in node:
                line = lc.key(part)[0] + 1 if lc else line
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                line = lc.item(part)[0] + 1 if lc else line
            else:
                break
        except (KeyError, IndexError, TypeError):
            break
        node = node[part]
    return line


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
