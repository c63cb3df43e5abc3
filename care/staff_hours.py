"""When a person is at the centre to answer: "outside staff hours, someone calls back at …".

Pure: weekdays and opening hours from configuration, e.g. ANXIN_STAFF_HOURS=
"mon-fri 08:00-17:30" or "mon-sun 07:00-21:00".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(r"^\s*(\w{3})(?:-(\w{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class StaffHours:
    days: frozenset[int]
    opens: time
    closes: time

    @classmethod
    def parse(cls, spec: str) -> StaffHours:
        found = _SPEC.match(spec.lower())
        if not found or found.group(1) not in DAYS or (found.group(2) or "mon") not in DAYS:
            raise ValueError(f"staff hours {spec!r}: expected like 'mon-fri 08:00-17:30'")
        first = DAYS.index(found.group(1))
        last = DAYS.index(found.group(2) or found.group(1))
        days = {d % 7 for d in range(first, last + 1 + (7 if last < first else 0))}
        opens = time(int(found.group(3)), int(found.group(4)))
        closes = time(int(found.group(5)), int(found.group(6)))
        if closes <= opens:
            raise ValueError(f"staff hours {spec!r}: closing must be after opening")
        return cls(frozenset(days), opens, closes)

    def open_at(self, local: datetime) -> bool:
        return local.weekday() in self.days and self.opens <= local.time() < self.closes

    def next_opening(self, local: datetime) -> datetime:
        """When someone is next there (``local`` itself while open)."""
        if self.open_at(local):
            return local
        for ahead in range(8):
            day = (local + timedelta(days=ahead)).date()
            start = datetime.combine(day, self.opens, tzinfo=local.tzinfo)
            if day.weekday() in self.days and start > local:
                return start
        raise ValueError("staff hours name no day at all")
