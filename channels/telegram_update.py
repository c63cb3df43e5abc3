"""Whether a Telegram update can be used, checked at the webhook's door (pure).

python-telegram-bot reads an update without checking its types: a ``chat.id`` of
``false`` or ``1.5`` became a chat we then tried to answer, and a number that is not
finite (``NaN``, ``Infinity``, ``1e999``: Python's ``json`` takes them) made the inbox
row PostgreSQL refuses, so the webhook answered 503 and Telegram redelivered the update
for ever. Telegram never sends such updates; whoever does gets them acknowledged (200)
and dropped, counted and logged by update id only, since trying again would never
succeed (channels/telegram.py).

The check follows the Bot API's types for what the channel reads: chat and user ids are
integers of at most 52 significant bits (never ``true``), other integers are integers,
texts are strings, ``is_bot`` a boolean; a field that is there is never ``null`` (the
Bot API leaves out what it has not). Anything else in the update is only checked for
numbers that are not finite, which no JSON column stores.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Union

MAX_ID = 2**52  # "at most 52 significant bits" (Bot API, Chat.id and User.id)

ID, INT, STR, BOOL = "id", "int", "str", "bool"
Spec = Union[str, dict[str, Any], list[Any]]

USER: dict[str, Spec] = {"id": ID, "is_bot": BOOL, "first_name": STR, "last_name": STR,
                         "username": STR, "language_code": STR}  # fmt: skip
CHAT: dict[str, Spec] = {"id": ID, "type": STR, "title": STR, "username": STR,
                         "first_name": STR, "last_name": STR}  # fmt: skip
FILE: dict[str, Spec] = {"file_id": STR, "file_unique_id": STR, "duration": INT,
                         "file_size": INT, "mime_type": STR}  # fmt: skip
ENTITY: dict[str, Spec] = {"type": STR, "offset": INT, "length": INT}
MESSAGE: dict[str, Spec] = {
    "message_id": INT, "date": INT, "chat": CHAT, "from": USER, "sender_chat": CHAT,
    "text": STR, "caption": STR, "voice": FILE, "audio": FILE, "video_note": FILE,
    "entities": [ENTITY], "caption_entities": [ENTITY],
}  # fmt: skip
MESSAGE["reply_to_message"] = MESSAGE
CALLBACK: dict[str, Spec] = {"id": STR, "from": USER, "message": MESSAGE, "data": STR,
                             "chat_instance": STR}  # fmt: skip
MEMBER: dict[str, Spec] = {"chat": CHAT, "from": USER, "date": INT}
UPDATE: dict[str, Spec] = {
    **{key: MESSAGE for key in ("message", "edited_message", "channel_post",
                                "edited_channel_post", "business_message",
                                "edited_business_message")},
    "callback_query": CALLBACK,
    **{key: MEMBER for key in ("my_chat_member", "chat_member", "chat_join_request")},
}  # fmt: skip


def _wrong(value: Any, spec: Spec) -> bool:
    """Whether a scalar breaks its spec (objects and lists are walked by the caller)."""
    if spec == ID:
        return type(value) is not int or not -MAX_ID < value < MAX_ID
    if spec == INT:
        return type(value) is not int
    if spec == STR:
        return not isinstance(value, str)
    if spec == BOOL:
        return not isinstance(value, bool)
    if isinstance(spec, dict):
        return not isinstance(value, dict)
    return not isinstance(value, list)


def _not_finite(data: Any) -> bool:
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return True
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False


def unusable(update: dict[str, Any]) -> Optional[str]:
    """Why an update (a JSON object with an ``update_id``) cannot be used, or None. The
    reason names a field, never its value."""
    if _not_finite(update):
        return "a number that is not finite"
    # (the field's parent and name, its value, its spec); iterative: a reply chain nests
    stack: list[tuple[str, str, Any, Spec]] = [("", "update", update, UPDATE)]
    while stack:
        parent, name, value, spec = stack.pop()
        if _wrong(value, spec):
            return f"{parent}.{name} is not of its type" if parent else f"{name} is not of its type"
        if isinstance(spec, dict):
            for key, inner in spec.items():
                if key in value:
                    stack.append((name, key, value[key], inner))
        elif isinstance(spec, list):
            stack.extend((parent, name, item, spec[0]) for item in value)
    return None
