"""Conversation review: the list (filters, search, pages), one conversation turn by turn,
"flag as misunderstood", and the CSV export. Every view and export is audited first.

Volunteers see who talked, when, on which channel and what the assistant did, but not
the words (staff/redact.py); they may not search the words either, since a search
that matches tells what was said.

Voice turns show that they were spoken (care/recordings.py keeps them by channel,
sender and message id; staff/conversation_voice.py marks them) and, for staff, a player
for the audio when it was kept (staff/recordings_pages.py serves it, role-checked and
audited).
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from care.conversation_log import Filters, Page
from care.conversations_nlu import Corrections, known_intents
from care.errors import InvalidRequest
from care.staff_replies import MAX_CHARS
from care.staff_sessions import Principal
from staff import recordings_pages, redact
from staff.auth import ALL, STAFF, Console, Forbidden, allow, console, posted_by
from staff.conversation_query import audit_detail, filters_from, page_from
from staff.conversation_voice import for_page, mark_spoken
from staff.limits import record_id
from staff.render import message, page

router = APIRouter()


def subject(conversation_id: str) -> str:
    return f"conversation:{conversation_id}"[:120]  # the audit column's width


def searched(who: Principal, f: Filters) -> Filters:
    if f.q and not redact.sees_everything(who.role):
        raise Forbidden()
    return f


def listing(c: Console, who: Principal, request: Request) -> tuple[Filters, Page]:
    f = searched(who, filters_from(request))
    number, per_page = page_from(request)
    found = c.conversations.search(f, number, per_page)
    c.audit(who, "conversations.list", "conversations",
            audit_detail(f, len(found.conversations), who.role == "volunteer"))  # fmt: skip
    return f, found


@router.get("/conversations")
def conversations(
    request: Request, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> Response:
    f, found = listing(c, who, request)
    threshold = c.conversations.low_confidence
    rows = [redact.conversation_summary(x, who.role, threshold) for x in found.conversations]
    for row in rows:
        row["last_local"] = _local(c, row["last_at"]) if row["last_at"] else ""
    query = {k: v for k, v in request.query_params.items() if k != "page" and v}
    pages = max(1, -(-found.total // found.per_page))
    return page(
        request,
        "conversations.html",
        who,
        rows=rows,
        filters=f,
        query=query,
        total=found.total,
        page_no=found.page,
        pages=pages,
        prev_url=_page_url(query, found.page - 1) if found.page > 1 else None,
        next_url=_page_url(query, found.page + 1) if found.page < pages else None,
        export_url="/export/conversations.csv?" + urlencode(query),
        intents=known_intents(),
    )


def _page_url(query: dict[str, str], number: int) -> str:
    return "/conversations?" + urlencode({**query, "page": str(number)})


@router.get("/conversations/{conversation_id}")
def conversation(
    conversation_id: str,
    request: Request,
    who: Principal = Depends(allow(*ALL)),
    c: Console = Depends(console),
) -> Response:
    return conversation_page(request, who, c, conversation_id)


def conversation_page(
    request: Request, who: Principal, c: Console, conversation_id: str, status_code: int = 200,
    note: str = "", draft: str = "",
) -> Response:  # fmt: skip
    found = c.conversations.get(conversation_id)  # 404 before anything is written
    c.audit(who, "conversation.view", subject(conversation_id),
            {"redacted": who.role == "volunteer"})  # fmt: skip
    data = redact.conversation(found, who.role, c.conversations.low_confidence)
    for session in data["sessions"]:
        for turn in session["turns"]:
            turn["at_local"] = _local(c, turn["at"])
    mark_spoken(c, found, data, for_page(who.role in STAFF))
    return page(
        request,
        "conversation.html",
        who,
        status_code=status_code,
        message=note,
        conv=data,
        can_flag=who.role in STAFF,
        intents=known_intents(),
        # Staff hold this conversation: they may reply in it and release it.
        handoff=c.care.alerts.open_handoff(conversation_id) if who.role in STAFF else None,
        draft=draft,
        reply_max=MAX_CHARS,
        vt=recordings_pages.words(request),
    )


def _local(c: Console, iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(c.care.tz).strftime("%Y-%m-%d %H:%M:%S")


@router.post("/conversations/{conversation_id}/flag")
def flag(
    conversation_id: str,
    request: Request,
    event_id: str = Form(""),
    correct_intent: str = Form(""),
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    corrections = Corrections(c.care.db, c.care.clock, known_intents())
    event = record_id(event_id)
    if event is None:
        raise InvalidRequest("event_id must be a message number")
    try:
        corrections.flag(conversation_id, event, correct_intent, who.name)
    except InvalidRequest as exc:
        note = f"{message(request, 'bad_request')} {exc}"
        return conversation_page(request, who, c, conversation_id, 400, note)
    c.audit(who, "conversation.flag", subject(conversation_id),
            {"event_id": event, "intent": correct_intent})  # fmt: skip
    target = f"/conversations/{conversation_id}#turn-{event}"
    return RedirectResponse(target, status_code=303)


EXPORT_FIELDS = [
    "conversation_id", "person_id", "person_name", "session", "at", "channel", "language",
    "text", "intent", "confidence", "replies", "staff_replies", "actions", "bookings",
    "handed_off", "correction",
]  # fmt: skip


@router.get("/export/conversations.csv")
def export_conversations(
    request: Request, who: Principal = Depends(allow(*STAFF)), c: Console = Depends(console)
) -> Response:
    f = filters_from(request)
    chosen, number = [], 1
    while True:  # every matching conversation, a page at a time
        found = c.conversations.search(f, number, 100)
        chosen += found.conversations
        if not found.conversations or len(chosen) >= found.total:
            break
        number += 1
    threshold = c.conversations.low_confidence
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, extrasaction="ignore")
    writer.writeheader()
    rows = 0
    for conv in chosen:
        data = redact.conversation(conv, who.role, threshold)
        for number, session in enumerate(data["sessions"], start=1):
            for turn in session["turns"]:
                writer.writerow(_csv_safe(_csv_row(data, number, turn)))
                rows += 1
    c.audit(who, "export.conversations", "conversations",
            {**audit_detail(f, len(chosen), False), "rows": rows})  # fmt: skip
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="conversations.csv"',
            "Cache-Control": "no-store",
        },
    )


def _csv_row(conv: dict[str, Any], session: int, turn: dict[str, Any]) -> dict[str, Any]:
    return {
        "conversation_id": conv["id"],
        "person_id": conv["person_id"],
        "person_name": conv["person_name"],
        "session": session,
        "at": turn["at"],
        "channel": turn["channel"],
        "language": turn["language"],
        "text": turn["text"],
        "intent": turn["intent"],
        "confidence": turn["confidence"],
        "replies": " | ".join(turn["replies"]),
        "staff_replies": " | ".join(f"{r['by']}: {r['text']}" for r in turn["staff_replies"]),
        "actions": " ".join(turn["actions"]),
        "bookings": " ".join(f"{b['change']}:{b['id']}:{b['slot']}" for b in turn["bookings"]),
        "handed_off": turn["handed_off"],
        "correction": turn["correction"],
    }


def _csv_safe(row: dict[str, Any]) -> dict[str, Any]:
    # A cell starting with = + - @ runs as a formula in a spreadsheet: quote it as text.
    return {
        k: ("'" + v if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v)
        for k, v in row.items()
    }
