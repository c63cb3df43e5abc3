"""Telegram updates as Telegram sends them, and with what Telegram never sends: numbers that
are not finite, fields of the wrong type (channels/telegram_update.py refuses both)."""

from __future__ import annotations

import json
from typing import Any

CHAT = 8101


def update(update_id: int, chat: Any = CHAT, text: Any = "hello") -> dict[str, Any]:
    person = {"id": chat, "is_bot": False, "first_name": "Tester", "language_code": "en"}
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 1_700_000_000, "text": text, "from": person,
        "chat": {"id": chat, "type": "private", "first_name": "Tester"}}}  # fmt: skip


def with_value(path: str, value: Any, update_id: int = 1) -> dict[str, Any]:
    data = update(update_id)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    node[last] = value
    return data


# (where, the raw JSON value put there): what Python's json reads and no column stores
NOT_FINITE = [("message.text", "NaN"), ("message.from.id", "Infinity"),
              ("message.chat.id", "1e999"), ("message.from.id", "-1e999"),
              ("message.chat.type", "NaN"), ("message.from.is_bot", "Infinity"),
              ("message.entities", '[{"type": "bold", "offset": NaN, "length": 1}]')]  # fmt: skip
WRONG_TYPES = [("message.chat.id", False), ("message.chat.id", 1.5), ("message.chat.id", "8101"),
               ("message.chat.id", 2**63), ("message.chat.id", None), ("message.from.id", True),
               ("message.text", 5), ("message.text", ["hi"]), ("message.from.is_bot", "yes"),
               ("message.chat", "private"), ("message.date", "soon")]  # fmt: skip


def raw_with(path: str, raw: str, update_id: int) -> bytes:
    marker = "__value__"
    return json.dumps(with_value(path, marker, update_id)).replace(f'"{marker}"', raw).encode()


def unusable_bodies(first_id: int) -> list[bytes]:
    """An update for each of the ways above, their update ids from ``first_id`` on."""
    bodies = [raw_with(path, raw, first_id + i) for i, (path, raw) in enumerate(NOT_FINITE)]
    return bodies + [json.dumps(with_value(path, value, first_id + len(bodies) + i)).encode()
                     for i, (path, value) in enumerate(WRONG_TYPES)]  # fmt: skip
