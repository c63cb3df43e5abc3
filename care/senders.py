"""Rasa's sender ids, namespaced by channel: ``<channel>:<the channel's own id>``.

Rasa keys a conversation by its sender id alone. With raw ids, a REST client that
posted a Telegram chat id as its ``sender`` continued that Telegram user's conversation
and booked as them. So every channel hands Rasa ``telegram:123``, ``wechat:<openid>``,
``rest:<sender>``, ``voice:<caller>``, and whatever reads a conversation (actions,
staff console, delivery of staff replies) takes the channel from this prefix, never
from what a request claims. A REST sender ``telegram:123`` becomes
``rest:telegram:123``: still the REST channel's.

The care database's identities stay ``(channel, external id)`` with the raw id.
Conversation ids that carry no known prefix (kept from before namespacing, or made
through Rasa's own HTTP API) belong to no channel: ``UNKNOWN``, so they speak for
nobody on a real channel. ``sender_id`` and ``split_sender`` are each other's inverse.
"""

from __future__ import annotations

from typing import Optional

CHANNELS = frozenset({"rest", "telegram", "wechat", "voice"})
UNKNOWN = "unknown"
SEPARATOR = ":"


def sender_id(channel: str, external_id: str) -> str:
    """Rasa's sender id for ``external_id`` on ``channel`` (the conversation's id).

    ``UNKNOWN`` gives back an id that names no channel as it is, so that a
    conversation split by ``split_sender`` is joined again to the same id.
    """
    if not external_id:
        raise ValueError("an empty external id")
    if channel == UNKNOWN and split_sender(external_id)[0] == UNKNOWN:
        return external_id
    if channel not in CHANNELS:
        raise ValueError(f"no such channel: {channel!r}")
    return f"{channel}{SEPARATOR}{external_id}"


def split_sender(sender: str) -> tuple[str, str]:
    """``(channel, external id)`` of a Rasa sender id; ``(UNKNOWN, sender)`` when it
    names no channel."""
    channel, separator, external = sender.partition(SEPARATOR)
    if separator and channel in CHANNELS and external:
        return channel, external
    return UNKNOWN, sender


def external_for(channel: str, conversation_id: str) -> Optional[str]:
    """The id on ``channel`` of the person a conversation belongs to; None when the
    conversation is another channel's or nobody's."""
    owner, external = split_sender(conversation_id)
    return external if owner == channel and channel != UNKNOWN else None


def request_key(sender: str, message_id: object) -> str:
    """The idempotency key of what one message booked: ``<sender id>:<message id>``
    (``channel:external id:message id``), so a retried message books nothing twice and
    the conversation view finds the bookings each turn made."""
    return f"{sender}{SEPARATOR}{message_id}"
