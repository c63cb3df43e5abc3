"""Hand-off from the console: staff reply in a conversation they hold, release it back to
the bot, and the alerts queue that refreshes itself.

A reply is first written into Rasa's tracker (so the conversation view and exports show
it, from Rasa's own log), then queued for the person's channel (care/staff_replies.py):
WeChat and Telegram push it from their background loops, REST hands it out with the next
answer or at ``GET /webhooks/rest/staff_replies``, voice speaks it in the call.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from care.errors import InvalidTransition
from care.records import AlertRecord
from care.senders import UNKNOWN, split_sender
from care.staff_replies import MAX_CHARS, StaffReplies
from care.staff_sessions import Principal
from staff import i18n
from staff.auth import ALL, STAFF, Console, allow, console, posted_by
from staff.conversation_pages import conversation_page, subject
from staff.pages import alert_rows, colleagues, shown_alerts
from staff.rasa_log import RasaUnavailable, append_staff_reply
from staff.render import language, message

log = logging.getLogger(__name__)

router = APIRouter()


def _back(conversation_id: str) -> RedirectResponse:
    return RedirectResponse(f"/conversations/{quote(conversation_id, safe='')}#reply", 303)


def _held(
    request: Request, who: Principal, c: Console, conversation_id: str
) -> AlertRecord | Response:
    """The open hand-off alert of a conversation, or the page to answer with: 404 for an
    unknown conversation, 409 when staff do not hold it."""
    c.conversations.get(conversation_id)
    held = c.care.alerts.open_handoff(conversation_id)
    if held is None:
        return conversation_page(request, who, c, conversation_id, 409,
                                 message(request, "not_handed_off"))  # fmt: skip
    return held


@router.post("/conversations/{conversation_id}/reply")
def reply(
    conversation_id: str,
    request: Request,
    text: str = Form(""),
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    held = _held(request, who, c, conversation_id)
    if isinstance(held, Response):
        return held
    text = text.strip()
    if not text or len(text) > MAX_CHARS:
        key = "reply_empty" if not text else "reply_too_long"
        note = message(request, key).format(n=MAX_CHARS)
        return conversation_page(request, who, c, conversation_id, 400, note, draft=text)
    try:
        append_staff_reply(
            c.settings.rasa_url, c.settings.rasa_token, conversation_id, text, who.name
        )
    except RasaUnavailable:
        # Nothing recorded, nothing queued: staff keep their draft and try again.
        return conversation_page(request, who, c, conversation_id, 503,
                                 message(request, "rasa_down"), draft=text)  # fmt: skip
    # Where the reply goes is the conversation's own channel (its sender id's prefix).
    channel = split_sender(conversation_id)[0]
    if channel == UNKNOWN:  # a conversation from before sender ids were namespaced
        channel = held.channel or "rest"
    reply_id = StaffReplies(c.care.db, c.care.clock).queue(channel, conversation_id, text, who.name)
    c.audit(who, "conversation.reply", subject(conversation_id),
            {"reply": reply_id, "channel": channel, "chars": len(text)})  # fmt: skip
    return _back(conversation_id)


@router.post("/conversations/{conversation_id}/release")
def release(
    conversation_id: str,
    request: Request,
    note: str = Form(""),
    who: Principal = Depends(posted_by(*STAFF)),
    c: Console = Depends(console),
) -> Response:
    held = _held(request, who, c, conversation_id)
    if isinstance(held, Response):
        return held
    if not note.strip():
        return conversation_page(request, who, c, conversation_id, 400,
                                 message(request, "note_needed"))  # fmt: skip
    try:
        # The same resolve as the alerts queue: the bot speaks again at the next message.
        c.care.alerts.resolve(held.id, who.name, note.strip()[:2000])
    except InvalidTransition:
        return conversation_page(request, who, c, conversation_id, 409,
                                 message(request, "already_resolved"))  # fmt: skip
    return _back(conversation_id)


@router.get("/alerts/live")
def live_alerts(
    request: Request, who: Principal = Depends(allow(*ALL)), c: Console = Depends(console)
) -> Response:
    """The open alerts as the page shows them, for the page's poll: the same rows and the
    same redaction as a reload, so a volunteer learns nothing new this way."""
    alerts = c.views.alerts()
    rows = alert_rows(c, alerts, who.role)
    # Audited when what this viewer is shown changes, not at every poll (see SeenByPoll).
    if c.polls.news(who.actor, rows, c.care.clock()):
        c.audit(who, "alerts.poll", "alerts", shown_alerts(alerts, who))
    actions = who.role in STAFF and request.query_params.get("actions") == "1"
    env = request.app.state.templates
    lang = language(request)
    html = env.get_template("alerts_table.html").render(
        lang=lang, t=i18n.STRINGS[lang], who=who, alerts=rows,
        actions=actions, colleagues=colleagues(c) if actions else [],
    )  # fmt: skip
    body: dict[str, Any] = {"count": len(rows), "html": html}
    return JSONResponse(body, headers={"Cache-Control": "no-store"})
