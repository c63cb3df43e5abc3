"""What a platform request may be: size and number rules shared by every channel (pure)."""

from __future__ import annotations

from typing import Optional

# Platforms never send more than a few KB of text; anything bigger is not theirs.
MAX_BODY_BYTES = 1_000_000


def ascii_digits(text: str) -> bool:
    """Only 0-9: ``str.isdigit`` also takes "²" and "٣", which ``int`` then refuses."""
    return text.isascii() and text.isdigit()


MAX_SENDER_CHARS = 200


def sender_ok(sender: str) -> bool:
    """A sender id a conversation may be keyed by: 1 to 200 printable characters. Control
    characters (a NUL: PostgreSQL refuses it, a 500), format characters and lone
    surrogates are not printable."""
    return 0 < len(sender) <= MAX_SENDER_CHARS and sender.isprintable()


def too_large(declared: Optional[str], body: bytes, limit: int = MAX_BODY_BYTES) -> bool:
    """A body over the limit, or one whose Content-Length says it would be."""
    if declared is not None and ascii_digits(declared) and int(declared) > limit:
        return True
    return len(body) > limit
