"""One alert's page, and "false alarm": staff mark an alarm as false with one click (on the
alerts list or the alert's page, or ``POST /api/alerts/{id}/false-alarm``), which resolves
it; the alert's page (or ``DELETE`` on the same API path) takes the mark back. Marking
twice changes nothing. care.alerts does the work and writes the audit rows; the routes
only check the role and the CSRF token, as for acknowledge and resolve.

The dashboard's weekly false-alarm figure is shaped here from care.false_alarms' counts.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from care import false_alarms
from care.alerts import is_alarm
from care.errors import InvalidRequest
from care.records import AlertRecord
from care.staff_sessions import Principal
from staff import redact
from staff.auth import ALL, STAFF, Console, allow, api_csrf, console, posted_by
from staff.limits import RecordId
from staff.render import message, page

router = APIRouter()


def _local(c: Console, at: Optional[datetime]) -> str:
    return at.astimezone(c.care.tz).strftime("%Y-%m-%d %H:%M") if at else ""


def alert_view(c: Console, a: AlertRecord, role: str) -> dict[str, Any]:
    """An alert as a page shows it: redacted for the role, times in the centre's zone."""
    row = redact.alert(a, role)
    row["created_local"] = a.created_at.astimezone(c.care.tz).strftime("%m-%d %H:%M")
    row["resolved_local"] = _local(c, a.resolved_at)
    row["false_alarm_local"] = _local(c, a.false_alarm_at)
    row["alarm"] = is_alarm(a.kind)
    return row


def week_label(monday: date, lang: str) -> str:
    return f"{monday.month}月{monday.day}日" if lang == "zh" else f"{monday.day} {monday:%b}"


def false_alarm_weeks(c: Console, lang: str) -> list[dict[str, Any]]:
    """Alarms and false alarms per week (the last eight, oldest first); counts only."""
    return [
        {
            "start": w.start.isoformat(),
            "label": week_label(w.start, lang),
            "alarms": w.alarms,
            "false_alarms": w.false,
            "percent": w.percent,
        }
        for w in false_alarms.weekly(c.care.db, c.today(), c.care.tz)
    ]


def _alert_page(
    request: Request,
    who: Principal,
    c: Console,
    alert_id: int,
    status_code: int = 200,
    note: str = "",
) -> Response:
    found = c.views.alert(alert_id)  # 404 before anything is written
    c.audit(who, "alert.view", f"alert:{alert_id}",
            {"person": found.person_id, "redacted": who.role == "volunteer"})  # fmt: skip
    return page(
        request,
        "alert.html",
        who,
        status_code=status_code,
        message=note,
        alert=alert_view(c, found, who.role),
        actions=who.role in STAFF,
    )


@router.get("/alerts/{alert_id}")
def alert_page(
    alert_id: RecordId,
    request: Request,
    who: Principal = Depends(allow(*ALL)),
    c: Console = Depends(console),
) -> Response:
    return _alert_page(request, who, c, alert_id)


@router.post("/alerts/{alert_id}/false-alarm")
def mark_false_alarm(
    alert_id: RecordId,
    request: Request,
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    try:
        c.care.alerts.mark_false_alarm(alert_id, who.name, who.actor)
    except InvalidRequest:  # a hand-off, say: not an alarm
        return _alert_page(request, who, c, alert_id, 400, message(request, "not_an_alarm"))
    # The alert's page says it is marked, and offers the undo at once.
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.post("/alerts/{alert_id}/false-alarm/undo")
def unmark_false_alarm(
    alert_id: RecordId,
    request: Request,
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    c.care.alerts.unmark_false_alarm(alert_id, who.name, who.actor)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@router.post("/api/alerts/{alert_id}/false-alarm")
def api_mark_false_alarm(
    alert_id: RecordId,
    request: Request,
    who: Principal = Depends(allow(*STAFF)),
    c: Console = Depends(console),
) -> dict[str, Any]:
    api_csrf(request, who)
    return redact.alert(c.care.alerts.mark_false_alarm(alert_id, who.name, who.actor), who.role)


@router.delete("/api/alerts/{alert_id}/false-alarm")
def api_unmark_false_alarm(
    alert_id: RecordId,
    request: Request,
    who: Principal = Depends(allow(*STAFF)),
    c: Console = Depends(console),
) -> dict[str, Any]:
    api_csrf(request, who)
    return redact.alert(c.care.alerts.unmark_false_alarm(alert_id, who.name, who.actor), who.role)
