"""Elders' pages: the list and one profile, masked for volunteers, every view audited."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from care.staff_sessions import Principal
from staff import redact
from staff.auth import ALL, Console, allow, console
from staff.render import page

router = APIRouter()


@router.get("/elders")
def elders(
    request: Request, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> Response:
    rows = c.views.elders()
    c.audit(who, "elders.list", "elders", {"count": len(rows), "redacted": who.role == "volunteer"})
    return page(request, "elders.html", who, elders=[redact.elder(p, who.role) for p in rows])


@router.get("/elders/{elder_id}")
def elder(
    elder_id: int,
    request: Request,
    who: Principal = Depends(allow(*ALL)),
    c: Console = Depends(console),
) -> Response:
    person = c.views.elder(elder_id)  # 404 before anything is written
    c.audit(who, "elder.view", f"person:{elder_id}", {"redacted": who.role == "volunteer"})
    bookings = [redact.booking(b, who.role) for b in c.views.bookings(elder_id=elder_id)]
    return page(request, "elder.html", who, elder=redact.elder(person, who.role), bookings=bookings)
