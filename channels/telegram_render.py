"""Telegram's shapes, without any I/O: replies, inline keyboards, /start payloads, texts.

Pure functions, so the rules the platform sets (4096 characters a message, 64 bytes of
callback data) are checked by fixed vectors in tests/channels/test_telegram_render.py.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from typing import Any, Iterable, Optional

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from care.text_clean import clean_text, scrub
from channels.limits import MAX_JSON_DEPTH, ascii_digits, deeper_than

MAX_TEXT = 4096  # Telegram counts UTF-16 code units
MAX_CALLBACK_BYTES = 64
# A tapped button whose Rasa payload does not fit in callback data carries its number:
# every list of choices in this bot can be answered by number ("2").
NUMBERED = "n:"
LANGUAGE_CHOICE = "lang:"
# t.me/<bot>?start=<payload>: 1-64 characters of [A-Za-z0-9_-].
_LINK_CODE = re.compile(r"^(?:link[_-]?)?(\d{6})$", re.IGNORECASE)


@dataclass(frozen=True)
class Reply:
    """One Telegram message to send: text, and the inline keyboard under it, if any."""

    text: str
    keyboard: Optional[InlineKeyboardMarkup] = None


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most ``limit`` UTF-16 units, cut at a blank line, a line or a space.

    Nothing is lost but the whitespace at a cut; a word longer than the limit is cut hard.
    """
    pieces: list[str] = []
    rest = text
    while utf16_len(rest) > limit:
        head = _prefix_within(rest, limit)
        cut = _best_cut(head)
        piece = rest[:cut].rstrip()
        if piece:
            pieces.append(piece)
        rest = rest[cut:].lstrip()
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


def _best_cut(head: str) -> int:
    """Where to cut: a paragraph, a line, a sentence, a word — in the latter half if any."""
    for mark in ("\n\n", "\n", "。", ". ", " "):
        at = head.rfind(mark)
        if at >= len(head) // 2:
            return at + 1 if mark in ("。", ". ") else at  # the stop stays with its sentence
    return len(head)


def _prefix_within(text: str, limit: int) -> str:
    """The longest prefix of ``text`` that is at most ``limit`` UTF-16 units."""
    units = 0
    for i, ch in enumerate(text):
        units += 2 if ord(ch) > 0xFFFF else 1
        if units > limit:
            return text[:i]
    return text


def callback_data(payload: str, number: int) -> str:
    """What a button carries back: its Rasa payload, or its number when that is too long."""
    if payload and len(payload.encode("utf-8")) <= MAX_CALLBACK_BYTES:
        return payload
    return f"{NUMBERED}{number}"


def inline_keyboard(buttons: Iterable[dict[str, Any]]) -> Optional[InlineKeyboardMarkup]:
    """Rasa buttons as an inline keyboard, one big button a row (unsteady hands)."""
    rows = []
    for number, button in enumerate(buttons, 1):
        title = str(button.get("title") or button.get("payload") or number)
        payload = str(button.get("payload") or title)
        data = callback_data(payload, number)
        rows.append([InlineKeyboardButton(title[:200], callback_data=data)])
    return InlineKeyboardMarkup(rows) if rows else None


def button_payload(data: Optional[str]) -> Optional[str]:
    """The text Rasa gets for a tapped button (``None``: not one of ours)."""
    if not data:
        return None
    if data.startswith(NUMBERED):
        number = data[len(NUMBERED) :]
        return number if ascii_digits(number) else None
    if data.startswith(LANGUAGE_CHOICE):
        language = data[len(LANGUAGE_CHOICE) :]
        return greet(language) if language in ("zh", "en") else None
    return data


def render(messages: Iterable[dict[str, Any]]) -> list[Reply]:
    """Rasa's collected messages as Telegram messages: split text, keyboard on the last piece."""
    replies: list[Reply] = []
    for message in messages:
        text = str(message.get("text") or "")
        if message.get("image"):
            text = f"{text}\n{message['image']}".strip()
        keyboard = inline_keyboard(message.get("buttons") or message.get("quick_replies") or [])
        if not text.strip():
            if keyboard is None:
                continue
            text = "👇"
        pieces = split_text(text)
        replies += [Reply(p) for p in pieces[:-1]]
        replies.append(Reply(pieces[-1], keyboard))
    return replies


# /start and /lang -------------------------------------------------------------------


def start_code(args: Optional[list[str]]) -> Optional[str]:
    """The six-digit family-link code of ``/start <payload>`` (``t.me/<bot>?start=<code>``)."""
    if not args or len(args) != 1:
        return None
    found = _LINK_CODE.match(args[0].strip())
    return found.group(1) if found else None


def greet(language: str) -> str:
    return "/greet" + json.dumps({"language": language}, separators=(",", ":"))


def link_family(code: str, language: str) -> str:
    entities = {"invite_code": code, "language": language}
    return "/link_family" + json.dumps(entities, separators=(",", ":"))


def typed(text: str) -> str:
    """What a person typed is never read as an intent: Rasa treats a leading "/" as one."""
    return text.lstrip("/").strip() if text.startswith("/") else text.strip()


def language_of(code: Optional[str], known: Optional[str] = None) -> str:
    """The person's language: what we know of them, else their Telegram app's, else Chinese."""
    if known in ("zh", "en"):
        return str(known)
    return "en" if (code or "").lower().startswith("en") else "zh"


LANGUAGE_KEYBOARD = InlineKeyboardMarkup(
    [
        [InlineKeyboardButton("中文", callback_data=f"{LANGUAGE_CHOICE}zh")],
        [InlineKeyboardButton("English", callback_data=f"{LANGUAGE_CHOICE}en")],
    ]
)

TEXTS = {
    "choose_language": {
        "zh": "请选择语言 / Choose a language:",
        "en": "Choose a language / 请选择语言:",
    },
    "please_type": {
        "zh": "语音消息我暂时还听不了，麻烦您打字告诉我，好吗？",
        "en": "I can't listen to voice messages yet. Could you type it for me, please?",
    },
    "voice_not_heard": {
        "zh": "不好意思，我没听清。您再说一遍，或者打字告诉我，好吗？",
        "en": "Sorry, I didn't hear you. Could you say it again, or type it for me?",
    },
    "voice_too_long": {
        "zh": "这条语音有点长，我听不了。您分成几条短的说，或者打字告诉我，好吗？",
        "en": "That voice message is a bit long for me. Could you send shorter ones, or type it?",
    },
    "voice_unreadable": {
        "zh": "这条语音我没能打开。您再录一遍，或者打字告诉我，好吗？",
        "en": "I couldn't open that voice message. Could you record it again, or type it?",
    },
    "answer_soon": {
        "zh": "收到了！我这边有点忙，稍后马上回复您。",
        "en": "Got it! I'm a little busy right now and will answer you shortly.",
    },
    # A message set aside after it crashed the assistant (channels/telegram_inbox.py).
    "set_aside": {
        "zh": "对不起，您刚才发的消息我这边没能处理好，已经转告工作人员了。"
        "麻烦您再发一次（打字或语音都行），或者打中心电话 {hotline}。",
        "en": "I'm sorry, I couldn't handle the message you just sent, and I've told the "
        "staff. Could you send it again (typed or spoken), or call the centre on {hotline}?",
    },
    "not_understood": {
        "zh": "这种消息我还看不懂，请您打字告诉我吧。",
        "en": "I can't read this kind of message yet. Please type it for me.",
    },
}


def text(key: str, language: str) -> str:
    return TEXTS[key]["en" if language == "en" else "zh"]


# The webhook's door ------------------------------------------------------------------


def secret_ok(expected: Optional[str], given: Optional[str]) -> bool:
    """Telegram's ``X-Telegram-Bot-Api-Secret-Token``: required when a secret is configured."""
    if not expected:
        return True
    return given is not None and hmac.compare_digest(
        expected.encode("utf-8"), given.encode("utf-8", "surrogatepass")
    )


class BadUpdate(ValueError):
    """Not a Telegram update: answered 400, never passed on."""


def parse_update(body: bytes) -> dict[str, Any]:
    """The JSON object of an update with its integer ``update_id``; ``BadUpdate`` otherwise."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BadUpdate("not JSON") from exc
    if not isinstance(data, dict):
        raise BadUpdate("not an object")
    update_id = data.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
        raise BadUpdate("no update_id")
    if deeper_than(data, MAX_JSON_DEPTH):  # Telegram's updates nest a few levels
        raise BadUpdate("too deep")
    return clean_update(data)


# What people wrote, in the parts of an update the handlers read.
_TEXTS = ("text", "caption")
_MESSAGES = ("message", "edited_message", "channel_post", "edited_channel_post")


def clean_update(data: dict[str, Any]) -> dict[str, Any]:
    """The update with what people wrote cleaned (care/text_clean.py) and every other string
    encodable, before the inbox keeps it and python-telegram-bot reads it: a lone surrogate
    (valid JSON, never sent by Telegram) once stopped the whole conversation log."""
    cleaned: dict[str, Any] = scrub(data, MAX_JSON_DEPTH + 1)
    for key in _MESSAGES:
        message = data.get(key)
        if isinstance(message, dict):
            for field in _TEXTS:
                if isinstance(message.get(field), str):  # from the original: no U+FFFD
                    cleaned[key][field] = clean_text(message[field])
    query = data.get("callback_query")
    if isinstance(query, dict) and isinstance(query.get("data"), str):  # a button's payload
        cleaned["callback_query"]["data"] = clean_text(query["data"])
    return cleaned
