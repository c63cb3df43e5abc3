"""The Staff JSON API (PRODUCT.md): bookings, alerts, elders, conversations — session
cookie or bearer token.

Every read of people's data (a list or one record: bookings, alerts, elders,
conversations) writes an audit row before the data leaves. Conversations are Rasa's own
events (anxin.event_broker), read back by care.conversation_log.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Optional

from fastapi import APIRouter, Depends, Query, Request

from care.staff_people import StaffPeople
from care.staff_sessions import Principal
from staff import redact
from staff.auth import ALL, STAFF, Console, allow, console
from staff.conversation_pages import listing, subject
from staff.conversation_voice import for_api, mark_spoken
from staff.limits import INT64_MAX, RecordId
from staff.pages import shown_alerts

router = APIRouter(prefix="/api")


@router.get("/bookings")
def bookings(
    service: Optional[str] = None,
    day: Optional[date] = Query(None, alias="date"),
    status: Optional[str] = None,
    elder_id: Optional[int] = Query(None, ge=1, le=INT64_MAX),
    limit: int = Query(200, ge=1, le=500),
    who: Principal = Depends(allow(*ALL)),
    c: Console = Depends(console),
) -> dict[str, Any]:
    rows = c.views.bookings(service=service, day=day, status=status, elder_id=elder_id, limit=limit)
    asked = {"service": service, "date": day.isoformat() if day else None, "status": status,
             "elder_id": elder_id}  # fmt: skip
    c.audit(who, "bookings.list", "bookings",
            {"filters": {k: v for k, v in asked.items() if v is not None}, "count": len(rows),
             "redacted": who.role == "volunteer"})  # fmt: skip
    return {"bookings": [redact.booking(b, who.role) for b in rows]}


@router.get("/bookings/{booking_id}")
def booking(
    booking_id: RecordId, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> dict[str, Any]:
    found = c.care.bookings.get(booking_id)  # 404 before anything is written
    c.audit(who, "booking.view", f"booking:{booking_id}",
            {"elder": found.elder_id, "redacted": who.role == "volunteer"})  # fmt: skip
    return redact.booking(found, who.role)


@router.get("/alerts")
def alerts(
    include_resolved: bool = False,
    who: Principal = Depends(allow(*ALL)),
    c: Console = Depends(console),
) -> dict[str, Any]:
    rows = c.views.alerts(include_resolved=include_resolved)
    c.audit(who, "alerts.list", "alerts",
            {**shown_alerts(rows, who), "include_resolved": include_resolved})  # fmt: skip
    return {"alerts": [redact.alert(a, who.role) for a in rows]}


@router.get("/alerts/{alert_id}")
def alert(
    alert_id: RecordId, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> dict[str, Any]:
    found = c.views.alert(alert_id)  # 404 before anything is written
    c.audit(who, "alert.view", f"alert:{alert_id}",
            {"person": found.person_id, "redacted": who.role == "volunteer"})  # fmt: skip
    return redact.alert(found, who.role)


@router.get("/elders")
def elders(who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)) -> dict[str, Any]:
    rows = c.views.elders()
    c.audit(who, "elders.list", "elders", {"count": len(rows), "redacted": who.role == "volunteer"})
    return {"elders": [redact.elder(p, who.role) for p in rows]}


@router.get("/elders/{elder_id}")
def elder(
    elder_id: RecordId, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> dict[str, Any]:
    person = c.views.elder(elder_id)  # 404 before anything is written
    c.audit(who, "elder.view", f"person:{elder_id}", {"redacted": who.role == "volunteer"})
    found = StaffPeople(c.care.db, c.care.clock, c.care.tz)
    return {
        **redact.elder(person, who.role),
        "identities": [redact.identity(i, who.role) for i in found.identities(elder_id)],
        "family_links": [redact.family_link(lk, who.role) for lk in found.links(elder_id)],
    }


@router.get("/conversations")
def conversations(
    request: Request, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> dict[str, Any]:
    _, found = listing(c, who, request)
    threshold = c.conversations.low_confidence
    return {
        "conversations": [
            redact.conversation_summary(x, who.role, threshold) for x in found.conversations
        ],
        "total": found.total,
        "page": found.page,
        "per_page": found.per_page,
        "truncated": found.truncated,
    }


@router.get("/conversations/{conversation_id}")
def conversation(
    conversation_id: str, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> dict[str, Any]:
    found = c.conversations.get(conversation_id)  # 404 before anything is written
    c.audit(
        who, "conversation.view", subject(conversation_id), {"redacted": who.role == "volunteer"}
    )
    data = redact.conversation(found, who.role, c.conversations.low_confidence)
    mark_spoken(c, found, data, for_api(who.role in STAFF))
    return data
