"""What a platform request may be: size and number rules shared by every channel (pure).

- Bodies: at most ``MAX_BODY_BYTES``; a JSON body is UTF-8, an object, and at most
  ``MAX_JSON_DEPTH`` deep (``json_object``), else the channel answers 400.
- Messages: at most ``message_limit()`` characters (2,000 unless ``ANXIN_MAX_MESSAGE_CHARS``
  says otherwise) reach the NLU, whose cost grows with the length of what it reads (a
  200 kB message held a Rasa worker for 35 s). A longer one is answered here, kindly, in the
  person's language, asking for shorter parts (``bound``) — unless it speaks of danger: then
  the part around the danger words goes on to the dialogue, so that the emergency or crisis
  path (anxin/nlu_safety.py) still fires for a message nobody would otherwise read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from care.language import detect_language
from care.safety_words import KINDS, danger_in, danger_span

# Platforms never send more than a few KB of text; anything bigger is not theirs.
MAX_BODY_BYTES = 1_000_000
# The largest body any route of the Rasa server takes (Sanic's REQUEST_MAX_SIZE, set by
# `anxin run`): a voice turn's audio, up to 10 MB (channels/voice.py), and its headers.
MAX_REQUEST_BYTES = 10 * 1024 * 1024 + 64 * 1024
# Deeper than any body a platform or an integration sends; deep enough nesting makes
# json.loads, copy.deepcopy and json.dumps raise RecursionError.
MAX_JSON_DEPTH = 32

MAX_MESSAGE_CHARS = 2_000
LIMIT_ENV = "ANXIN_MAX_MESSAGE_CHARS"
# Bounds of the setting: below, ordinary messages would be refused; above, the NLU's time
# per message is no longer a fraction of a second (docs/benchmarks.md), and Telegram's own
# limit is 4096.
LIMIT_RANGE = (200, 4096)

# An over-long message is read for danger words in full up to this length; beyond it, its
# first and last halves of this (the danger scan costs ~5 µs a character: 20,000 characters
# take about 0.1 s, 1 MB would take 5 s). A person in danger does not write 20,000
# characters; someone pasting a long text and adding "help" at the end is read.
SCAN_CHARS = 20_000
# The scan goes in pieces, so that a thread doing it lets the event loop run in between.
_PIECE = 2_000
_OVERLAP = 200  # longer than any danger pattern's match, so none is cut in two

TOO_LONG = {
    "zh": "您的消息有点长，我一次看不完。麻烦您分成几条短一点的消息发给我，好吗？",
    "en": "Your message is a bit long for me to read at once. "
    "Could you send it in a few shorter messages, please?",
}


def ascii_digits(text: str) -> bool:
    """Only 0-9: ``str.isdigit`` also takes "²" and "٣", which ``int`` then refuses."""
    return text.isascii() and text.isdigit()


# A channel prefix ("rest:", care.senders) and this fit a conversation id (200 characters).
MAX_SENDER_CHARS = 190


def sender_ok(sender: str) -> bool:
    """A sender id a conversation may be keyed by: 1 to 190 printable characters. Control
    characters (a NUL: PostgreSQL refuses it, a 500), format characters and lone
    surrogates are not printable."""
    return 0 < len(sender) <= MAX_SENDER_CHARS and sender.isprintable()


def too_large(declared: Optional[str], body: bytes, limit: int = MAX_BODY_BYTES) -> bool:
    """A body over the limit, or one whose Content-Length says it would be."""
    if declared is not None and ascii_digits(declared) and int(declared) > limit:
        return True
    return len(body) > limit


# JSON bodies ----------------------------------------------------------------------------


class BadBody(ValueError):
    """A body the channel answers 400 to; ``reason`` is safe to show (no content)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _no_constants(name: str) -> Any:
    raise BadBody(f"{name} is not JSON")  # NaN, Infinity: Python's json takes them


def json_object(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """The JSON object in ``body``; ``BadBody`` for anything else (never another error)."""
    data = json_value(body, max_depth)
    if not isinstance(data, dict):
        raise BadBody("the body must be a JSON object")
    return data


def json_value(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON value in ``body`` (UTF-8, at most ``max_depth`` deep); ``BadBody`` else."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody("the body is not UTF-8") from None
    try:
        data = json.loads(text, parse_constant=_no_constants)
    except RecursionError:
        raise BadBody("the JSON is nested too deeply") from None
    except BadBody:
        raise
    except ValueError:  # also an integer of more than 4300 digits
        raise BadBody("the body is not JSON") from None
    if isinstance(data, (dict, list)) and deeper_than(data, max_depth):
        raise BadBody("the JSON is nested too deeply")
    return data


def deeper_than(value: Any, limit: int) -> bool:
    """Whether objects and arrays in ``value`` nest more than ``limit`` levels (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


# Message length -------------------------------------------------------------------------


def message_limit(environ: Optional[Mapping[str, str]] = None) -> int:
    """The most characters of one message the dialogue reads (a bad setting: the default;
    ``anxin run`` refuses to start with one, see ``check_message_limit``)."""
    try:
        return check_message_limit(environ)
    except ValueError:
        return MAX_MESSAGE_CHARS


def check_message_limit(environ: Optional[Mapping[str, str]] = None) -> int:
    raw = (os.environ if environ is None else environ).get(LIMIT_ENV, "").strip()
    if not raw:
        return MAX_MESSAGE_CHARS
    low, high = LIMIT_RANGE
    if not ascii_digits(raw) or not low <= int(raw) <= high:
        raise ValueError(f"{LIMIT_ENV}={raw!r}: a number of characters from {low} to {high}")
    return int(raw)


@dataclass(frozen=True)
class Bounded:
    """A message made fit for the dialogue.

    ``reply`` set: the message is answered with it, and nothing goes to the dialogue.
    Otherwise ``text`` goes on: the message itself, or the part of an over-long one
    around its danger words (``danger`` says which kind).
    """

    text: str
    reply: Optional[str] = None
    danger: Optional[str] = None


def bound(text: str, limit: Optional[int] = None) -> Bounded:
    """``text`` if it is short enough; else the part around danger words, else a reply."""
    limit = limit or message_limit()
    if len(text) <= limit:
        return Bounded(text)
    found = find_danger(text)
    if found is None:
        return Bounded("", reply=too_long_reply(text[:limit]))
    kind, start, end = found
    return Bounded(danger_window(text, start, end, limit), danger=kind)


def bounded_text(text: str, limit: Optional[int] = None) -> str:
    """At most ``limit`` characters for the NLU, whatever the channel did: the danger part
    of an over-long text, else its beginning (a channel answers those before this)."""
    limit = limit or message_limit()
    if len(text) <= limit:
        return text
    fitted = bound(text, limit)
    return text[:limit] if fitted.reply is not None else fitted.text


def too_long_reply(text: str) -> str:
    return TOO_LONG["en" if detect_language(text) == "en" else "zh"]


def find_danger(text: str) -> Optional[tuple[str, int, int]]:
    """The first danger words of a long text: (kind, start, end), an emergency first."""
    n = len(text)
    half = SCAN_CHARS // 2
    ranges = [(0, n)] if n <= SCAN_CHARS else [(0, half), (n - half, n)]
    for kind in KINDS:
        for begin, end in ranges:
            for at in range(begin, end, _PIECE):
                span = danger_span(kind, text, at, min(at + _PIECE + _OVERLAP, end))
                if span is not None:
                    return kind, span[0], span[1]
    return None


def danger_window(text: str, start: int, end: int, limit: int) -> str:
    """At most ``limit`` characters of ``text`` around ``text[start:end]``, centred on it."""
    if end - start >= limit:
        return text[start : start + limit]
    a = max(0, start - (limit - (end - start)) // 2)
    b = min(len(text), a + limit)
    window = text[max(0, b - limit) : b]
    if danger_in(window) is None:
        # A pattern anchored at the start of the text ("^help$"-like) does not match
        # inside the window: the danger words alone still do.
        return text[start:end]
    return window
