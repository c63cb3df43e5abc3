"""Bookings pages: per service and day, places used and free, the waitlist; staff cancel
or move a booking on an elder's behalf, with a reason (audited, the elder told).

Volunteers see the board with phones and booking details masked (staff/redact.py) and
no forms; every change goes through care.staff_bookings, which uses care's own
capacity-safe operations and writes the elder's message in the same transaction.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Optional
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from care import models as m
from care import staff_bookings as sb
from care.errors import (
    AlreadyBooked,
    BookingClosed,
    CareError,
    InvalidRequest,
    InvalidTransition,
    SlotFull,
)
from care.records import BookingRecord
from care.staff_sessions import Principal
from staff import i18n, redact
from staff.auth import ALL, STAFF, Console, allow, api_csrf, console, posted_by
from staff.limits import RecordId, parse_json, record_id
from staff.render import language, message, page

router = APIRouter()

# Why a change was refused, as the key of the words staff read (409: nothing changed).
REFUSED = (
    (SlotFull, "move_full"),
    (BookingClosed, "move_closed"),
    (AlreadyBooked, "move_already_booked"),
    (InvalidTransition, "booking_not_active"),
)
DONE = ("cancelled", "moved")


def day_label(day: date, lang: str) -> str:
    if lang == "zh":
        return f"{day.year}年{day.month}月{day.day}日 星期{sb.WEEKDAYS_ZH[day.weekday()]}"
    return f"{day:%A} {day.day} {day:%B} {day.year}"


def _booker(seat: sb.Seat, lang: str, t: dict[str, str]) -> str:
    by = seat.booking.booked_by
    if by.startswith("staff:"):
        return f"{t['booked_by_staff']} {by[len('staff:') :]}"
    if by == f"person:{seat.booking.elder_id}":
        return t["booked_by_self"]
    return f"{t['booked_by_family']} {seat.booked_by_name or by}"


def _seat_row(seat: sb.Seat, role: str, lang: str, t: dict[str, str]) -> dict[str, Any]:
    shown = redact.booking(seat.booking, role)
    return {
        "id": seat.booking.id,
        "elder_id": seat.booking.elder_id,
        "elder_name": seat.elder_name,
        "phone": seat.elder_phone
        if redact.sees_everything(role)
        else redact.mask_phone(seat.elder_phone),
        "booked_by": _booker(seat, lang, t),
        "channel": seat.booking.channel,
        "quantity": seat.booking.quantity,
        "details": shown["details"],
    }


def _board_rows(c: Console, boards: list[sb.SlotBoard], role: str, lang: str) -> list[Any]:
    t = i18n.STRINGS[lang]
    now = c.care.clock()
    rows = []
    for b in boards:
        x = b.slot
        rows.append(
            {
                "id": x.id,
                "service": x.service,
                "time": f"{x.starts_at.astimezone(c.care.tz):%H:%M}"
                f"–{x.ends_at.astimezone(c.care.tz):%H:%M}",
                "title": sb.title(x, lang),
                "capacity": x.capacity,
                "used": x.used,
                "free": x.free,
                "percent": b.percent,
                "closed": now >= x.cutoff_at,
                "started": now >= x.starts_at,
                "confirmed": [_seat_row(s, role, lang, t) for s in b.confirmed],
                "waitlist": [_seat_row(s, role, lang, t) for s in b.waitlist],
            }
        )
    return rows


def _query(day: date, service: Optional[str], **extra: str) -> str:
    params = {"date": day.isoformat(), **({"service": service} if service else {}), **extra}
    return urlencode(params)


@router.get("/bookings")
def bookings_board(
    request: Request,
    who: Principal = Depends(allow(*ALL)),
    c: Console = Depends(console),
) -> Response:
    lang = language(request)
    today = c.today()
    raw_day, raw_service = request.query_params.get("date"), request.query_params.get("service")
    note, status_code = "", 200
    try:
        day = sb.parse_day(raw_day, today)
        service = sb.parse_service(raw_service)
    except InvalidRequest:
        # The page again, for today and every service, saying what was wrong.
        day, service, status_code = today, None, 400
        note = message(request, "bookings_bad_filter")
    done = request.query_params.get("done")
    if status_code == 200 and done in DONE:
        note = message(request, f"booking_{done}")
    boards = sb.board(c.care.bookings, day, service)
    rows = _board_rows(c, boards, who.role, lang)
    c.audit(
        who,
        "bookings.view",
        f"bookings:{day.isoformat()}",
        {
            "service": service,
            "bookings": sum(len(r["confirmed"]) + len(r["waitlist"]) for r in rows),
            "redacted": who.role == "volunteer",
        },
    )
    return page(
        request,
        "bookings.html",
        who,
        status_code=status_code,
        message=note,
        day=day.isoformat(),
        day_label=day_label(day, lang),
        today=today.isoformat(),
        prev_q=_query(day - timedelta(days=1), service),
        next_q=_query(day + timedelta(days=1), service),
        service=service,
        services=m.SERVICES,
        slots=rows,
        groups=[(svc, [r for r in rows if r["service"] == svc]) for svc in m.SERVICES],
        actions=who.role in STAFF,
    )


def _change_page(
    request: Request,
    who: Principal,
    c: Console,
    booking_id: int,
    status_code: int = 200,
    note: str = "",
    reason: str = "",
) -> Response:
    lang = language(request)
    b = c.care.bookings.get(booking_id)  # 404 before anything is written
    elder = c.views.elder(b.elder_id)
    active = b.status in m.ACTIVE_STATUSES and not sb.started(c.care.bookings, b)
    targets = sb.move_targets(c.care.bookings, b, c.today()) if active else []
    c.audit(who, "booking.view", f"booking:{booking_id}", {"elder": elder.id})
    return page(
        request,
        "bookings_change.html",
        who,
        status_code=status_code,
        message=note,
        booking=redact.booking(b, who.role),
        status=b.status,
        active=active,
        elder=redact.elder(elder, who.role),
        read_back=sb.describe(b.slot, lang, c.care.tz),
        back_q=_query(b.slot.date, b.service),
        targets=[
            {
                "id": x.id,
                "day": day_label(x.date, lang),
                "label": _target_label(x, lang, c),
                "free": x.free,
            }
            for x in targets
        ],
        reason=reason,
        max_reason=sb.REASON_LIMIT,
    )


def _target_label(slot: Any, lang: str, c: Console) -> str:
    return sb.describe(slot, lang, c.care.tz)


@router.get("/bookings/{booking_id}")
def booking_change(
    booking_id: RecordId,
    request: Request,
    who: Principal = Depends(allow(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    return _change_page(request, who, c, booking_id)


def _refused(exc: CareError) -> Optional[str]:
    if isinstance(exc, BookingClosed) and exc.details.get("reason") == "started":
        return "booking_started"
    for kind, key in REFUSED:
        if isinstance(exc, kind):
            return key
    return None


def _done(b: BookingRecord, what: str) -> Response:
    return RedirectResponse(
        f"/bookings?{_query(b.slot.date, b.service, done=what)}#slot-{b.slot.id}", status_code=303
    )


@router.post("/bookings/{booking_id}/cancel")
def cancel(
    booking_id: RecordId,
    request: Request,
    reason: str = Form(""),
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    before = c.care.bookings.get(booking_id)  # 404 for an unknown id before the form
    if not sb.clean_reason(reason):
        return _change_page(request, who, c, booking_id, 400, message(request, "reason_required"))
    try:
        sb.cancel_for_elder(
            c.care.bookings, booking_id, who.name, reason, c.care.settings.centre_hotline
        )
    except (InvalidTransition, BookingClosed) as exc:
        note = message(request, _refused(exc) or "booking_not_active")
        return _change_page(request, who, c, booking_id, 409, note, reason)
    return _done(before, "cancelled")


@router.post("/bookings/{booking_id}/move")
def move(
    booking_id: RecordId,
    request: Request,
    slot_id: str = Form(""),
    reason: str = Form(""),
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    c.care.bookings.get(booking_id)  # 404 for an unknown id before the form
    if not sb.clean_reason(reason):
        return _change_page(request, who, c, booking_id, 400, message(request, "reason_required"))
    target = record_id(slot_id)
    if target is None:
        note = message(request, "move_pick_slot")
        return _change_page(request, who, c, booking_id, 400, note, reason)
    try:
        moved = sb.move_for_elder(
            c.care.bookings,
            booking_id,
            target,
            who.name,
            reason,
            c.care.settings.centre_hotline,
        )
    except InvalidRequest:
        note = message(request, "move_pick_slot")
        return _change_page(request, who, c, booking_id, 400, note, reason)
    except CareError as exc:
        key = _refused(exc)
        if key is None:
            raise
        return _change_page(request, who, c, booking_id, 409, message(request, key), reason)
    return _done(moved.new, "moved")


# -- JSON API ---------------------------------------------------------------------------


async def _api_body(request: Request, who: Principal) -> dict[str, Any]:
    """The JSON body, once the CSRF check of a session passed (staff.auth.api_csrf)."""
    api_csrf(request, who)
    # Bounded in size and depth here too, not only by the app's RequestLimits.
    body = parse_json(await request.body())
    if not isinstance(body, dict):
        raise InvalidRequest("the body must be a JSON object")
    return body


def _conflict(exc: CareError) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "code": exc.code}, status_code=409)


@router.post("/api/bookings/{booking_id}/cancel")
async def api_cancel(
    booking_id: RecordId,
    request: Request,
    who: Principal = Depends(allow(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    body = await _api_body(request, who)
    c.care.bookings.get(booking_id)  # 404 first
    reason = body.get("reason")
    if not isinstance(reason, str) or not sb.clean_reason(reason):
        raise InvalidRequest("reason is required")
    try:
        done = sb.cancel_for_elder(
            c.care.bookings, booking_id, who.name, reason, c.care.settings.centre_hotline
        )
    except (InvalidTransition, BookingClosed) as exc:
        return _conflict(exc)
    return JSONResponse(
        {
            "booking": redact.booking(done.booking, who.role),
            "promoted": [redact.booking(p, who.role) for p in done.promoted],
        }
    )


@router.post("/api/bookings/{booking_id}/move")
async def api_move(
    booking_id: RecordId,
    request: Request,
    who: Principal = Depends(allow(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    body = await _api_body(request, who)
    c.care.bookings.get(booking_id)  # 404 first
    reason, slot_id = body.get("reason"), body.get("slot_id")
    if not isinstance(reason, str) or not sb.clean_reason(reason):
        raise InvalidRequest("reason is required")
    if not isinstance(slot_id, int) or isinstance(slot_id, bool) or record_id(str(slot_id)) is None:
        raise InvalidRequest("slot_id must be a slot's number")
    try:
        done = sb.move_for_elder(
            c.care.bookings, booking_id, slot_id, who.name, reason, c.care.settings.centre_hotline
        )
    except CareError as exc:
        if _refused(exc) is None:
            raise
        return _conflict(exc)
    return JSONResponse(
        {
            "old": redact.booking(done.old, who.role),
            "new": redact.booking(done.new, who.role),
            "promoted": [redact.booking(p, who.role) for p in done.promoted],
        }
    )
