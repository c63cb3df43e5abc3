"""Rasa's REST channel, plus the staff replies of a handed-off conversation.

A REST client cannot be pushed to, so a staff reply waits in its outbox
(care/staff_replies.py) until the person is next here: it is added, first, to the
answer to their next message, and a client may also ask for it without writing
anything: ``GET /webhooks/rest/staff_replies?sender=<id>``. Each reply is handed out
once (claimed in the database), whichever of the two asks first.

Notifications from the care centre (the outbox of care/models.py ``Notification``: a
booking staff cancelled or moved, a family link, an emergency) reach the person behind
the sender the same way (care/notices.py), each marked ``"custom": {"notification":
true, "kind": ...}``: an urgent one before everything else in the answer, the others
after the bot's own replies (the elder's question is answered first, then the
centre's news), and ``GET /webhooks/rest/notifications?sender=<id>`` without writing.
Each is claimed in the database and marked delivered on ``rest``: handed out once.

Same name and URL as Rasa's own ``rest`` channel, so clients see no difference; the
poll route is as open as the webhook itself (anyone who can post as a sender can
read that sender's answers).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from care.notices import Notices, as_rest
from care.staff_replies import StaffReplies
from channels.limits import sender_ok

log = logging.getLogger(__name__)


def _replies() -> StaffReplies:
    from channels.common import care_services

    care = care_services()
    return StaffReplies(care.db, care.clock)


def _messages(sender: str) -> list[dict[str, Any]]:
    taken = _replies().take("rest", sender)
    return [{"recipient_id": sender, "text": r.text, "custom": {"staff": True}} for r in taken]


def _notices(sender: str) -> list[dict[str, Any]]:
    """The sender's pending notifications, claimed: urgent ones first."""
    from channels.common import care_services

    care = care_services()
    return [as_rest(n, sender) for n in Notices(care.db, care.clock).take("rest", sender)]


def _urgent(message: dict[str, Any]) -> bool:
    return bool(message["custom"].get("urgent"))


class RestWithStaffInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bp = super().blueprint(on_new_message)

        @bp.route("/staff_replies", methods=["GET"])
        async def staff_replies(request: Request) -> HTTPResponse:
            sender = request.args.get("sender", "")
            if not sender_ok(sender):
                return response.json({"error": "sender: 1 to 200 printable characters"}, status=400)
            return response.json(await asyncio.to_thread(_messages, sender))

        @bp.route("/notifications", methods=["GET"])
        async def notifications(request: Request) -> HTTPResponse:
            sender = request.args.get("sender", "")
            if not sender_ok(sender):
                return response.json({"error": "sender: 1 to 200 printable characters"}, status=400)
            return response.json(await asyncio.to_thread(_notices, sender))

        @bp.middleware("response")
        async def with_staff_replies(request: Request, resp: HTTPResponse) -> Any:
            # Only the plain JSON answer to a message; a stream has already been sent.
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            if resp.status != 200 or not (resp.content_type or "").startswith("application/json"):
                return None
            try:
                sender = str((request.json or {}).get("sender") or "")
                answer = json.loads(resp.body or b"[]")
            except (ValueError, AttributeError):
                return None
            if not sender or not isinstance(answer, list):
                return None
            try:
                staff = await asyncio.to_thread(_messages, sender)
            except Exception:
                # The bot's answer still goes out; the replies stay for the next time.
                log.exception("could not read staff replies")
                return None
            try:
                notices = await asyncio.to_thread(_notices, sender)
            except Exception:
                log.exception("could not read notifications")  # they wait for the next time
                notices = []
            if not staff and not notices:
                return None
            urgent = [n for n in notices if _urgent(n)]
            later = [n for n in notices if not _urgent(n)]
            return response.json(urgent + staff + answer + later)

        return bp
