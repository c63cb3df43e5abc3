"""The Staff JSON API (PRODUCT.md): bookings, alerts, elders — session cookie or bearer token.

Reading a profile or the list of elders writes an audit row before the data leaves.
``/api/conversations`` waits for Rasa's event persistence (issue 6).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Optional

from fastapi import APIRouter, Depends, Query

from care.staff_sessions import Principal
from staff import redact
from staff.auth import ALL, Console, allow, console

router = APIRouter(prefix="/api")


@router.get("/bookings")
def bookings(
    service: Optional[str] = None,
    day: Optional[date] = Query(None, alias="date"),
    status: Optional[str] = None,
    elder_id: Optional[int] = None,
    limit: int = Query(200, ge=1, le=500),
    who: Principal = Depends(allow(*ALL)),
    c: Console = Depends(console),
) -> dict[str, Any]:
    rows = c.views.bookings(service=service, day=day, status=status, elder_id=elder_id, limit=limit)
    return {"bookings": [redact.booking(b, who.role) for b in rows]}


@router.get("/bookings/{booking_id}")
def booking(
    booking_id: int, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> dict[str, Any]:
    return redact.booking(c.care.bookings.get(booking_id), who.role)


@router.get("/alerts")
def alerts(
    include_resolved: bool = False,
    who: Principal = Depends(allow(*ALL)),
    c: Console = Depends(console),
) -> dict[str, Any]:
    rows = c.views.alerts(include_resolved=include_resolved)
    return {"alerts": [redact.alert(a, who.role) for a in rows]}


@router.get("/alerts/{alert_id}")
def alert(
    alert_id: int, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> dict[str, Any]:
    return redact.alert(c.views.alert(alert_id), who.role)


@router.get("/elders")
def elders(who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)) -> dict[str, Any]:
    rows = c.views.elders()
    c.audit(who, "elders.list", "elders", {"count": len(rows), "redacted": who.role == "volunteer"})
    return {"elders": [redact.elder(p, who.role) for p in rows]}


@router.get("/elders/{elder_id}")
def elder(
    elder_id: int, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> dict[str, Any]:
    person = c.views.elder(elder_id)  # 404 before anything is written
    c.audit(who, "elder.view", f"person:{elder_id}", {"redacted": who.role == "volunteer"})
    return redact.elder(person, who.role)
