"""What people write, made safe to understand, store and show: one pure function at the door.

Every channel passes the text of a message through :func:`clean_text` before anything else
reads it (channels/common.py ``user_message``, the REST webhook, WeChat's XML, Telegram's
updates). It

* drops lone surrogates (``"\\ud800"`` is valid JSON but no character: UTF-8 cannot encode
  it, and one of them made every write of the conversation log fail);
* drops control characters (NUL, the rest of C0 and C1, DEL) except newline and tab, and
  turns the other line breaks (CR, CRLF, NEL, U+2028/2029) into newlines;
* drops invisible format characters that can disguise text: bidi embeddings, overrides and
  isolates (U+202A-202E, U+2066-2069) and marks (U+200E/F, U+061C), which reorder what
  staff read in the console; zero-width spaces and joiners between words (U+200B, U+2060,
  U+FEFF, the soft hyphen), which also split a danger word ("救\\u200b命") so that
  care/safety_words.py would not see it; interlinear annotations and noncharacters.
  The zero-width joiner U+200D stays: emoji sequences (👨‍👩‍👧) are made of it;
* normalises to NFC (one code point sequence for one written text), then trims.

:func:`scrub` and :func:`replace_surrogates` are for values that are not a person's words
(ids, metadata, a whole event as JSON): only what cannot be encoded is replaced.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

__all__ = ["clean_text", "replace_surrogates", "scrub"]

REPLACEMENT = "\ufffd"

_SURROGATES = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = re.compile("\r\n?|[\x85\u2028\u2029]")
_DROPPED = re.compile(
    "["
    "\x00-\x08\x0b-\x1f\x7f-\x84\x86-\x9f"  # C0 but tab and newline, DEL, C1 but NEL
    "\u00ad\u061c\u180e"  # soft hyphen, Arabic letter mark, Mongolian vowel separator
    "\u200b\u200c\u200e\u200f"  # zero-width space and non-joiner, LRM, RLM (not ZWJ)
    "\u202a-\u202e\u2060-\u2064\u2066-\u206f"  # bidi embeddings/overrides/isolates, invisibles
    "\ufeff\ufff9-\ufffb\ufffe\uffff"  # BOM, interlinear annotations, noncharacters
    "\ud800-\udfff"  # lone surrogates (a real pair is one code point in a str)
    "]"
)


def clean_text(text: str) -> str:
    """A person's message as the assistant should read it (see the module's rules)."""
    if text.isascii() and text.isprintable():
        return text.strip()  # the common case, without a pass of regexes
    text = _LINE_BREAKS.sub("\n", text)
    text = _DROPPED.sub("", text)
    return unicodedata.normalize("NFC", text).strip()


def replace_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD: then it encodes as UTF-8."""
    return _SURROGATES.sub(REPLACEMENT, text)


def scrub(value: Any, depth: int = 64) -> Any:
    """A JSON-like value with every string (keys too) made encodable and storable (lone
    surrogates replaced, NUL characters dropped: PostgreSQL keeps neither in text or JSON),
    else unchanged.

    ``depth`` bounds the recursion; what lies deeper is replaced by None (bodies are
    depth-checked at the door: see channels/limits.py ``json_object``).
    """
    if isinstance(value, str):
        return replace_surrogates(value).replace("\x00", "")
    if depth <= 0:
        return None
    if isinstance(value, dict):
        return {scrub(k, depth - 1): scrub(v, depth - 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub(v, depth - 1) for v in value]
    return value
