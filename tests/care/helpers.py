from __future__ import annotations

from pathlib import Path

from care.audit import Actor
from care.records import PersonRecord
from care.services import CareServices

SMALL_CATALOG = Path(__file__).with_name("catalog_small.yml")
STAFF = Actor.staff_user("wang.staff")


def load_small(care: CareServices) -> None:
    care.catalog.load(SMALL_CATALOG)


def elder(care: CareServices, name: str = "李秀兰", **fields: object) -> PersonRecord:
    return care.people.create("elder", name, **fields)


def child_linked(care: CareServices, parent: PersonRecord, **perms: bool) -> PersonRecord:
    child = care.people.create("family", "李明")
    link = care.people.request_link(parent.id, child.id, "son", **perms)
    care.people.consent_link(link.id, Actor.person(parent.id))
    return child


def slot_id(care: CareServices, code: str) -> int:
    return care.bookings.slot_by_code(code).id
