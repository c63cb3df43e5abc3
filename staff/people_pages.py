"""Elders' pages: the list and one profile with channel identities, family links (staff
approve and end them) and recent moods — masked for volunteers, every view and change audited."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from care.errors import InvalidRequest, InvalidTransition
from care.family import relation_name
from care.family_staff import MAX_REASON, FamilyStaff
from care.staff_people import MoodDay, StaffPeople
from care.staff_sessions import Principal
from staff import redact
from staff.auth import ALL, STAFF, Console, allow, console, posted_by
from staff.limits import RecordId
from staff.render import language, message, page

router = APIRouter()


def people(c: Console) -> StaffPeople:
    return StaffPeople(c.care.db, c.care.clock, c.care.tz)


def local(c: Console, at: Optional[datetime]) -> str:
    return at.astimezone(c.care.tz).strftime("%Y-%m-%d %H:%M") if at else ""


def day_label(day: date, lang: str) -> str:
    """A date with its weekday, the way staff say it on the phone."""
    if lang == "zh":
        return f"{day.month}月{day.day}日 周{'一二三四五六日'[day.weekday()]}"
    return f"{day:%a} {day.day} {day:%b}"


def profile(c: Console, who: Principal, elder_id: int, lang: str) -> dict[str, Any]:
    """Everything the profile shows, masked for the role (raises 404 for an unknown elder)."""
    person = c.views.elder(elder_id)
    found = people(c)
    links = []
    for link in found.links(elder_id):
        row = redact.family_link(link, who.role)
        row["relation_label"] = relation_name(link.relation, lang)
        row["decided_local"] = local(c, link.decided_at)
        row["created_local"] = local(c, link.created_at)
        links.append(row)
    identities = [redact.identity(i, who.role) for i in found.identities(elder_id)]
    # Moods are the elder's state of mind: staff see them, volunteers do not.
    moods = found.moods(elder_id) if redact.sees_everything(who.role) else None
    return {
        "elder": redact.elder(person, who.role),
        "bookings": [redact.booking(b, who.role) for b in c.views.bookings(elder_id=elder_id)],
        "identities": identities,
        "links": links,
        "moods": None if moods is None else [_mood_row(d, lang) for d in moods],
    }


def _mood_row(d: MoodDay, lang: str) -> dict[str, Any]:
    return {"day": d.day.isoformat(), "label": day_label(d.day, lang), "lonely": d.lonely,
            "sad": d.sad, "ok": d.ok}  # fmt: skip


def _elder_page(
    request: Request,
    who: Principal,
    c: Console,
    elder_id: int,
    status_code: int = 200,
    note: str = "",
) -> Response:
    shown = profile(c, who, elder_id, language(request))
    c.audit(
        who,
        "elder.view",
        f"person:{elder_id}",
        {"redacted": who.role == "volunteer", "family_links": len(shown["links"])},
    )
    return page(
        request,
        "elder.html",
        who,
        status_code=status_code,
        message=note,
        actions=who.role in STAFF,
        max_reason=MAX_REASON,
        **shown,
    )


@router.get("/elders")
def elders(
    request: Request, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> Response:
    rows = c.views.elders()
    c.audit(who, "elders.list", "elders", {"count": len(rows), "redacted": who.role == "volunteer"})
    pending = people(c).pending_links()
    shown = [{**redact.elder(p, who.role), "pending_links": pending.get(p.id, 0)} for p in rows]
    return page(request, "elders.html", who, elders=shown)


@router.get("/elders/{elder_id}")
def elder(
    elder_id: RecordId,
    request: Request,
    who: Principal = Depends(allow(*ALL)),
    c: Console = Depends(console),
) -> Response:
    return _elder_page(request, who, c, elder_id)


@router.post("/elders/{elder_id}/links/{link_id}/approve")
def approve_link(
    elder_id: RecordId,
    link_id: RecordId,
    request: Request,
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    try:
        FamilyStaff(c.care.db, c.care.clock).approve(elder_id, link_id, who.name)
    except InvalidTransition as exc:
        note = message(request, f"link_not_pending_{exc.details['status']}")
        return _elder_page(request, who, c, elder_id, 409, note)
    return RedirectResponse(f"/elders/{elder_id}#link-{link_id}", status_code=303)


@router.post("/elders/{elder_id}/links/{link_id}/revoke")
def revoke_link(
    elder_id: RecordId,
    link_id: RecordId,
    request: Request,
    reason: str = Form(""),
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    try:
        FamilyStaff(c.care.db, c.care.clock).revoke(elder_id, link_id, who.name, reason)
    except InvalidTransition:
        return _elder_page(request, who, c, elder_id, 409, message(request, "link_already_revoked"))
    except InvalidRequest:
        note = message(request, "reason_needed").format(n=MAX_REASON)
        return _elder_page(request, who, c, elder_id, 400, note)
    return RedirectResponse(f"/elders/{elder_id}#link-{link_id}", status_code=303)
