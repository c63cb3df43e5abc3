"""Conversation filters from a query string, for the pages, the API and the CSV export.

Parsed by hand rather than by FastAPI's types: an HTML form sends empty fields
(``?intent=&handed_off=``) and those mean "any", while a malformed value gets a 400
naming what is allowed.
"""

from __future__ import annotations

from datetime import date
from typing import Optional

from fastapi import Request

from care.conversation_log import Filters
from care.errors import InvalidRequest

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
EARLIEST, LATEST = date(1900, 1, 1), date(2999, 12, 31)


def _text(request: Request, name: str) -> Optional[str]:
    value = request.query_params.get(name, "").strip()
    return value or None


def _flag(request: Request, name: str) -> Optional[bool]:
    value = (_text(request, name) or "").lower()
    if not value:
        return None
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise InvalidRequest(f"{name} must be yes or no")


def _day(request: Request, name: str) -> Optional[date]:
    value = _text(request, name)
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be a date like 2026-11-28") from None
    # A day at the ends of the calendar has no local midnight to search from.
    if not EARLIEST <= day <= LATEST:
        raise InvalidRequest(f"{name} must be between {EARLIEST} and {LATEST}")
    return day


def _number(request: Request, name: str, default: Optional[int] = None) -> Optional[int]:
    value = _text(request, name)
    if value is None:
        return default
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise InvalidRequest(f"{name} must be a whole number")
    return int(value)


def filters_from(request: Request) -> Filters:
    f = Filters(
        channel=_text(request, "channel"),
        elder_id=_number(request, "elder_id"),
        date_from=_day(request, "from"),
        date_to=_day(request, "to"),
        language=_text(request, "language"),
        intent=_text(request, "intent"),
        handed_off=_flag(request, "handed_off"),
        has_alert=_flag(request, "has_alert"),
        low_confidence=_flag(request, "low_confidence"),
        q=_text(request, "q"),
    )
    f.check()
    return f


def page_from(request: Request) -> tuple[int, int]:
    page = _number(request, "page", 1) or 1
    per_page = _number(request, "per_page", 25) or 25
    return page, min(per_page, 100)


def audit_detail(f: Filters, count: int, redacted: bool) -> dict[str, object]:
    """What was asked, for the audit log; a search term is personal data, so only its use."""
    asked = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in f.__dict__.items()}
    asked["q"] = bool(f.q)
    return {"filters": {k: v for k, v in asked.items() if v not in (None, False)},
            "count": count, "redacted": redacted}  # fmt: skip
