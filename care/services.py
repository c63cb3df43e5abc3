"""The one factory that builds the care domain for a process, at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Optional

from care.alerts import Alerts
from care.booking import Bookings
from care.catalog import CatalogLoader
from care.channel_store import ChannelStore
from care.clock import Clock, clock_for, zone
from care.comfort import Comfort
from care.config import CareSettings
from care.db import Database
from care.family import Family
from care.identity import Identities
from care.people import People
from care.safety import Safety
from care.staff_hours import StaffHours


@dataclass
class CareServices:
    settings: CareSettings
    db: Database
    clock: Clock
    tz: tzinfo
    people: People
    family: Family
    bookings: Bookings
    alerts: Alerts
    catalog: CatalogLoader
    safety: Safety
    comfort: Comfort
    staff_hours: StaffHours
    channels: ChannelStore
    identities: Identities

    def close(self) -> None:
        self.db.dispose()


def build(
    settings: Optional[CareSettings] = None,
    clock: Optional[Clock] = None,
    check: bool = True,
    pool_size: int = 10,
) -> CareServices:
    """Build everything; with ``check`` an unreachable database fails here, in one line.

    ``clock`` is the settings' (the real one, or moved by ANXIN_NOW) unless given."""
    settings = settings or CareSettings.from_env()
    clock = clock_for(settings.clock_offset) if clock is None else clock
    staff_hours = StaffHours.parse(settings.staff_hours)  # a typo fails at start-up
    db = Database(settings.db_url, pool_size=pool_size)
    if check:
        db.ping()
    tz = zone(settings.timezone)
    bookings = Bookings(db, clock, tz)
    return CareServices(
        settings=settings,
        db=db,
        clock=clock,
        tz=tz,
        people=People(db, clock),
        family=Family(db, clock),
        bookings=bookings,
        alerts=Alerts(db, clock),
        catalog=CatalogLoader(db, clock),
        safety=Safety(db, clock, settings),
        comfort=Comfort(db, clock, bookings),
        staff_hours=staff_hours,
        channels=ChannelStore(db, clock),
        identities=Identities(db, clock),
    )
