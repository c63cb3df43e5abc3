"""The console's words for the bookings pages (per service and day, cancel or move on an elder's behalf), in Chinese and English."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "zh": {},
    "en": {},
}
