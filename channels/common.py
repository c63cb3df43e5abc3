"""What every channel shares: one way to build a ``UserMessage``, body limits, care services.

Receive order in every channel: verify → decode → parse → map → reply. Nothing that
fails verification or decoding reaches Rasa. What a person wrote is cleaned
(care/text_clean.py) and bounded (channels/limits.py) on its way in.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Optional

from rasa.core.channels.channel import OutputChannel, UserMessage
from sanic.request import Request

from care.senders import sender_id
from care.services import CareServices, build
from care.text_clean import clean_text
from channels.limits import MAX_BODY_BYTES, Bounded, bound, bounded_text, message_limit, too_large

log = logging.getLogger(__name__)

_care: Optional[CareServices] = None


def care_services() -> CareServices:
    """The care domain of this Rasa process, built on first use by a channel's factory.

    Channels are created by Rasa from ``bot/credentials.yml`` (``from_credentials``),
    which is their start-up; they call this there, never at import. That is before
    Sanic forks its workers: each worker inherits this object, and its database's pool
    is emptied in the child (care.db), so no connection is shared by two processes.
    """
    global _care
    if _care is None:
        _care = build()
    return _care


def body_too_large(request: Request, limit: int = MAX_BODY_BYTES) -> bool:
    return too_large(request.headers.get("content-length"), request.body or b"", limit)


def user_message(
    text: str,
    output: OutputChannel,
    external_id: str,
    channel: str,
    message_id: Optional[str] = None,
    metadata: Optional[dict[str, Any]] = None,
) -> UserMessage:
    """The one place a channel's message becomes Rasa's ``UserMessage``.

    ``external_id`` is the person's id on ``channel`` (a chat id, an openid); Rasa gets
    it namespaced, ``channel:external_id`` (care.senders), so no other channel can
    continue this conversation. ``message_id`` is the platform's own id where it has
    one, so a booking confirmed by a retried message is recognised by its idempotency
    key (actions.runtime). The text is cleaned and never longer than the message limit,
    whatever the channel did before: a channel answers an over-long message itself
    (``fit``); here it is only cut (a voice transcript, say), keeping danger words if it
    has any.
    """
    return UserMessage(
        text=bounded_text(clean_text(text)),
        output_channel=output,
        sender_id=sender_id(channel, external_id),
        input_channel=channel,
        message_id=message_id,
        metadata=metadata or {},
    )


async def fit(text: str) -> Bounded:
    """``text`` (cleaned already) made fit for the dialogue, or the kind reply to give instead
    (channels/limits.py ``bound``). Reading a long text for danger takes up to a tenth of a
    second: in a thread, in pieces, so other conversations go on meanwhile."""
    if len(text) <= message_limit():
        return Bounded(text)
    return await asyncio.to_thread(bound, text)
