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

Same name, URL and answers as Rasa's own ``rest`` channel, so clients see no difference;
the poll route is as open as the webhook itself (anyone who can post as a sender can
read that sender's answers).

The webhook is ours rather than Rasa's ``RestInput.receive``, which answered 500 to any
body that is not a JSON object (``AttributeError``) and logged the person's words at
ERROR when a turn failed. Here: a body over 1 MB is 413; one that is not UTF-8 JSON, not
an object, nested more than 32 deep, or without a ``message`` with visible text and a
``sender`` (text or a number, 1-190 characters) is 400 with ``{"error": ...}``; the
message is cleaned (care/text_clean.py) and one longer than the message limit is answered
kindly here (channels/limits.py); the channel is always ``rest`` (a client naming another
channel in ``input_channel`` would be taken for that channel's user). Logs carry no
message text.

Every route but the health check needs ``ANXIN_REST_TOKEN`` when it is set, or a
client on this machine when it is not (channels/caller_auth.py). The ``sender`` a
client gives is its id on the ``rest`` channel: Rasa gets ``rest:<sender>``
(care.senders), so a REST client can never continue a Telegram or WeChat user's
conversation, and its answers still carry its own id as ``recipient_id``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Optional, Union

import rasa.utils.endpoints
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import QueueOutputChannel, RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from care.notices import Notices, as_rest
from care.senders import sender_id
from care.staff_replies import StaffReplies
from care.text_clean import clean_text, scrub
from channels.caller_auth import protect, token_from_env
from channels.limits import MAX_SENDER_CHARS, BadBody, json_object, sender_ok

CHANNEL = "rest"

log = logging.getLogger(__name__)


def _replies() -> StaffReplies:
    from channels.common import care_services

    care = care_services()
    return StaffReplies(care.db, care.clock)


def _messages(sender: str) -> list[dict[str, Any]]:
    """Staff replies waiting in this sender's conversation (``rest:<sender>``), claimed."""
    taken = _replies().take(CHANNEL, sender_id(CHANNEL, sender))
    return [{"recipient_id": sender, "text": r.text, "custom": {"staff": True}} for r in taken]


def _notices(sender: str) -> list[dict[str, Any]]:
    """The sender's pending notifications, claimed: urgent ones first."""
    from channels.common import care_services

    care = care_services()
    return [as_rest(n, sender) for n in Notices(care.db, care.clock).take(CHANNEL, sender)]


def _urgent(message: dict[str, Any]) -> bool:
    return bool(message["custom"].get("urgent"))


def _answers_to(output: Any, namespaced: str, caller: str) -> None:
    """Replies collected for the REST client carry its own id, as Rasa's did."""
    persist = getattr(output, "_persist_message", None)
    if persist is None:
        return

    async def as_caller(message: dict[str, Any]) -> None:
        if message.get("recipient_id") == namespaced:
            message = {**message, "recipient_id": caller}
        await persist(message)

    output._persist_message = as_caller


def _bad(reason: str, status: int = 400) -> HTTPResponse:
    return response.json({"error": reason}, status=status)


def read_message(body: bytes) -> tuple[str, str, Optional[dict[str, Any]]]:
    """Sender, text and metadata of a webhook body; ``BadBody`` says why not."""
    data = json_object(body)
    sender, text, metadata = data.get("sender"), data.get("message"), data.get("metadata")
    if isinstance(sender, int) and not isinstance(sender, bool):
        sender = str(sender)  # Rasa's RestInput took numbers too
    if (
        not isinstance(sender, str)
        or not 0 < len(sender) <= MAX_SENDER_CHARS
        or clean_text(sender) != sender  # control characters, surrogates, padding
    ):
        raise BadBody(f"sender must be text of 1 to {MAX_SENDER_CHARS} printable characters")
    if not isinstance(text, str) or not clean_text(text):
        # Nothing visible to answer (Rasa answered [] to it): say so rather than nothing.
        raise BadBody("message must be non-empty text")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadBody("metadata must be a JSON object")
    return sender, clean_text(text), scrub(metadata) if metadata else None


class RestWithStaffInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def webhook(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's REST routes (``/`` and ``/webhook``, with ``?stream=true``), bounded."""
        from channels.common import body_too_large, fit, user_message

        bp = Blueprint(f"custom_webhook_{type(self).__name__}", type(self).__module__)

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            if body_too_large(request):
                return _bad("the body is too large", 413)
            try:
                sender, text, metadata = read_message(request.body or b"")
            except BadBody as bad:
                return _bad(bad.reason)
            request.ctx.rest_sender = sender  # for the staff replies added to the answer
            fitted = await fit(text)
            if fitted.reply is not None:  # too long, and no danger in it: said here
                log.info("rest: an over-long message answered without a turn")
                return response.json([{"recipient_id": sender, "text": fitted.reply}])
            if fitted.danger is not None:
                log.warning("rest: %s words in an over-long message: that part goes on",
                            fitted.danger)  # fmt: skip

            def message(output: CollectingOutputChannel) -> UserMessage:
                # Rasa gets ``rest:<sender>``; the client's answers still name its own id.
                said = user_message(fitted.text, output, sender, CHANNEL, metadata=metadata)
                _answers_to(output, said.sender_id, sender)
                return said

            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(self._streamed(on_new_message, message),
                                       content_type="text/event-stream")  # fmt: skip
            collector = CollectingOutputChannel()
            await self._turn(on_new_message, message(collector))
            return response.json(collector.messages)

        return bp

    @staticmethod
    async def _turn(
        on_new_message: Callable[[UserMessage], Awaitable[Any]], message: UserMessage
    ) -> None:
        """Rasa's turn; a failure leaves what was said so far as the answer, as Rasa's
        RestInput does, and is logged by its kind only (never the message)."""
        try:
            await on_new_message(message)
        except asyncio.CancelledError:
            log.error("rest: a turn was cancelled (timeout)")
        except Exception as exc:
            log.error("rest: a turn failed: %s", type(exc).__name__)

    def _streamed(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        message: Callable[[CollectingOutputChannel], UserMessage],
    ) -> Callable[[Any], Awaitable[None]]:
        """Rasa's ``stream_response``: each reply as a line of JSON, as it comes."""

        async def stream(resp: Any) -> None:
            queue: asyncio.Queue[Any] = asyncio.Queue()

            async def turn() -> None:
                await self._turn(on_new_message, message(QueueOutputChannel(queue)))
                await queue.put("DONE")

            task = asyncio.ensure_future(turn())
            while True:
                result = await queue.get()
                if result == "DONE":
                    break
                await resp.write(json.dumps(result) + "\n")
            await task

        return stream

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bp = self.webhook(on_new_message)
        protect(bp, token_from_env())

        @bp.route("/staff_replies", methods=["GET"])
        async def staff_replies(request: Request) -> HTTPResponse:
            sender = request.args.get("sender", "")
            if not sender_ok(sender):
                return _bad(f"sender: 1 to {MAX_SENDER_CHARS} printable characters")
            return response.json(await asyncio.to_thread(_messages, sender))

        @bp.route("/notifications", methods=["GET"])
        async def notifications(request: Request) -> HTTPResponse:
            sender = request.args.get("sender", "")
            if not sender_ok(sender):
                return _bad(f"sender: 1 to {MAX_SENDER_CHARS} printable characters")
            return response.json(await asyncio.to_thread(_notices, sender))

        @bp.middleware("response")
        async def with_staff_replies(request: Request, resp: HTTPResponse) -> Any:
            # Only the plain JSON answer to a message; a stream has already been sent.
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            if resp.status != 200 or not (resp.content_type or "").startswith("application/json"):
                return None
            sender = getattr(request.ctx, "rest_sender", "")  # set by a webhook that took it
            try:
                answer = json.loads(resp.body or b"[]")
            except ValueError:
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
