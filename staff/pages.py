"""The console's pages: login, dashboard, alerts (acknowledge/resolve), users, audit, export.
One alert's page and "false alarm" are in staff/alert_pages.py."""

from __future__ import annotations

import csv
import io
import secrets
from datetime import date
from typing import Any, Optional

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from care import audit as care_audit
from care import false_alarms
from care.errors import InvalidRequest, InvalidTransition
from care.records import AlertRecord
from care.staff_sessions import Principal
from staff import redact
from staff.alert_pages import alert_view, false_alarm_weeks
from staff.auth import (
    ADMIN,
    ALL,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    STAFF,
    Console,
    allow,
    client_address,
    console,
    posted_by,
    same_token,
)
from staff.limits import RecordId
from staff.people_pages import day_label, people
from staff.render import language, message, page

router = APIRouter()


def _safe_next(target: str) -> str:
    # Only paths on this site: "//evil.example" and "https://..." would be open redirects.
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(
    request: Request, status_code: int = 200, note: str = "", username: str = "", nxt: str = "/"
) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        next=_safe_next(nxt),
        username=username,
        message=note,
    )
    # Double-submit token for the login form itself (there is no session yet).
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.console.settings.secure_cookies,
        path="/login",
    )
    return response


@router.get("/login")
def login_form(request: Request, next: str = "/", c: Console = Depends(console)) -> Response:
    if c.sessions.lookup(request.cookies.get(SESSION_COOKIE, "")):
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, nxt=next)


@router.post("/login")
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
    c: Console = Depends(console),
) -> Response:
    if not same_token(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        return page(request, "error.html", status_code=403, heading=message(request, "forbidden"))
    if not username.strip() or not password:
        return _login_page(request, 400, message(request, "missing"), username, next)
    result = c.users.login(username, password, client_address(request))
    if result.throttled:
        return _login_page(request, 429, message(request, "throttled"), username, next)
    if result.user is None:
        return _login_page(request, 401, message(request, "bad_login"), username, next)
    new = c.sessions.start(result.user.id)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        max_age=int(c.settings.session_lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=c.settings.secure_cookies,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request, who: Principal = Depends(posted_by(*ALL)), c: Console = Depends(console)
) -> Response:
    c.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def alert_rows(c: Console, alerts: list[AlertRecord], role: str) -> list[dict[str, Any]]:
    return [alert_view(c, a, role) for a in alerts]


def shown_alerts(alerts: list[AlertRecord], who: Principal) -> dict[str, Any]:
    """The audit detail of a view listing alerts: which ones (their summaries hold
    symptoms and words of crisis), redacted or not."""
    return {"alerts": [a.id for a in alerts], "redacted": who.role == "volunteer"}


@router.get("/")
def dashboard(
    request: Request, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> Response:
    today = c.today()
    alerts = c.views.alerts()
    c.audit(who, "dashboard.view", "dashboard", shown_alerts(alerts, who))
    return page(
        request,
        "dashboard.html",
        who,
        today=today.isoformat(),
        load=c.views.load(today),
        alerts=alert_rows(c, alerts, who.role),
        actions=False,
        poll_s=c.settings.alerts_poll_s,
        conversations_today=c.conversations.per_channel(today),
        mood_trend=mood_trend(c, language(request)),
        at_risk=people(c).at_risk(),
        false_alarms=false_alarm_weeks(c, language(request)),
    )


def mood_trend(c: Console, lang: str) -> list[dict[str, Any]]:
    """Low moods per day as bars against the busiest day; counts only, no names."""
    days = people(c).low_mood_trend()
    top = max((d.low for d in days), default=0)
    return [
        {
            "day": d.day.isoformat(),
            "label": day_label(d.day, lang),
            "low": d.low,
            "lonely": d.lonely,
            "sad": d.sad,
            "percent": round(100 * d.low / top) if top else 0,
        }
        for d in days
    ]


def _alerts_page(
    request: Request, who: Principal, c: Console, status_code: int = 200, note: str = ""
) -> Response:
    alerts = c.views.alerts()
    # The latest marked false alarms stay in reach, for "not a false alarm after all".
    marked = false_alarms.recent(c.care.db)
    c.audit(who, "alerts.view", "alerts", shown_alerts(alerts + marked, who))
    return page(
        request,
        "alerts.html",
        who,
        status_code=status_code,
        message=note,
        alerts=alert_rows(c, alerts, who.role),
        marked=alert_rows(c, marked, who.role),
        actions=who.role in STAFF,
        colleagues=colleagues(c) if who.role in STAFF else [],
        poll_s=c.settings.alerts_poll_s,
    )


def colleagues(c: Console) -> list[str]:
    """Who an alert can be handed to: active staff and admins."""
    return sorted(u.username for u in c.users.all() if u.active and u.role in STAFF)


@router.get("/alerts")
def alerts(
    request: Request, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> Response:
    return _alerts_page(request, who, c)


@router.post("/alerts/{alert_id}/acknowledge")
def acknowledge(
    alert_id: RecordId,
    request: Request,
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    try:
        c.care.alerts.acknowledge(alert_id, who.name)
    except InvalidTransition:
        return _alerts_page(request, who, c, 409, message(request, "already_resolved"))
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/{alert_id}/assign")
def assign(
    alert_id: RecordId,
    request: Request,
    to: str = Form(""),
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    c.views.alert(alert_id)  # 404 for an unknown id before judging the form
    try:
        c.care.alerts.assign(alert_id, who.name, to.strip())
    except InvalidTransition:
        return _alerts_page(request, who, c, 409, message(request, "already_resolved"))
    except InvalidRequest:
        return _alerts_page(request, who, c, 400, message(request, "bad_assignee"))
    return RedirectResponse("/alerts", status_code=303)


@router.post("/alerts/{alert_id}/resolve")
def resolve(
    alert_id: RecordId,
    request: Request,
    note: str = Form(""),
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    c.views.alert(alert_id)  # 404 for an unknown id before judging the form
    if not note.strip():
        return _alerts_page(request, who, c, 400, message(request, "note_needed"))
    try:
        c.care.alerts.resolve(alert_id, who.name, note.strip()[:2000])
    except InvalidTransition:
        return _alerts_page(request, who, c, 409, message(request, "already_resolved"))
    return RedirectResponse("/alerts", status_code=303)


def _users_page(request: Request, who: Principal, c: Console, **extra: Any) -> Response:
    users, tokens = c.users.all(), c.sessions.tokens()
    c.audit(who, "staff_users.view", "staff_users", {"users": len(users), "tokens": len(tokens)})
    return page(request, "users.html", who, users=users, tokens=tokens, **extra)


@router.get("/users")
def users(
    request: Request, who: Principal = Depends(allow(*ADMIN)), c: Console = Depends(console)
) -> Response:
    return _users_page(request, who, c)


@router.post("/users/tokens")
def new_token(
    request: Request,
    name: str = Form(""),
    role: str = Form("staff"),
    who: Principal = Depends(posted_by(*ADMIN)),
    c: Console = Depends(console),
) -> Response:
    try:
        token = c.sessions.create_token(name, role, who.actor)
    except InvalidRequest as exc:
        note = f"{message(request, 'bad_request')} {exc}"
        return page(
            request,
            "users.html",
            who,
            status_code=400,
            message=note,
            users=c.users.all(),
            tokens=c.sessions.tokens(),
        )
    return _users_page(request, who, c, new_token=token)


@router.post("/users/tokens/{token_id}/revoke")
def revoke_token(
    token_id: RecordId,
    request: Request,
    who: Principal = Depends(posted_by(*ADMIN)),
    c: Console = Depends(console),
) -> Response:
    c.sessions.revoke_token(token_id, who.actor)
    return RedirectResponse("/users", status_code=303)


@router.post("/users/{username}/active")
def set_active(
    username: str,
    request: Request,
    active: str = Form(""),
    who: Principal = Depends(posted_by(*ADMIN)),
    c: Console = Depends(console),
) -> Response:
    if username == who.name:
        # Locking oneself out would leave the centre without its admin mid-shift.
        note = f"{message(request, 'bad_request')} {username}"
        return page(
            request,
            "users.html",
            who,
            status_code=400,
            message=note,
            users=c.users.all(),
            tokens=c.sessions.tokens(),
        )
    c.users.set_active(username, active == "1", who.actor)
    return RedirectResponse("/users", status_code=303)


@router.get("/audit")
def audit_log(
    request: Request, who: Principal = Depends(allow(*ADMIN)), c: Console = Depends(console)
) -> Response:
    with c.care.db.read() as s:
        entries = care_audit.entries(s, limit=300)
    # The log names who saw whom: reading it is itself recorded.
    c.audit(who, "audit.view", "audit_log", {"entries": len(entries)})
    rows = [
        {**e.__dict__, "at_local": e.at.astimezone(c.care.tz).strftime("%Y-%m-%d %H:%M:%S")}
        for e in entries
    ]
    return page(request, "audit.html", who, entries=rows)


EXPORT_FIELDS = [
    "id", "elder_id", "service", "date", "slot", "option", "starts_at", "status",
    "quantity", "booked_by", "channel", "created_at",
]  # fmt: skip


@router.get("/export/bookings.csv")
def export_bookings(
    service: Optional[str] = None,
    day: Optional[date] = Query(None, alias="date"),
    who: Principal = Depends(allow(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    rows = c.views.bookings(service=service, day=day)
    c.audit(
        who,
        "export.bookings",
        "bookings",
        {"service": service, "date": day.isoformat() if day else None, "rows": len(rows)},
    )
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
    writer.writeheader()
    for b in rows:
        writer.writerow(_csv_safe(redact.booking(b, who.role)))
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="bookings.csv"',
            "Cache-Control": "no-store",
        },
    )


def _csv_safe(row: dict[str, Any]) -> dict[str, Any]:
    # A cell starting with = + - @ runs as a formula in a spreadsheet: quote it as text.
    return {
        k: ("'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v)
        for k, v in row.items()
    }
