"""The console's words for the elders' and families' pages and the dashboard's mood trend, in Chinese and English."""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "zh": {},
    "en": {},
}
