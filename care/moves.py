"""Reading a request to move a booking: "把明天的午饭改到后天", "move Friday's call to Monday".

Pure: the text is split at the word that means "to" and each side is read by
care.when, so the old day finds the booking and the new day finds its place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from care.when import When, parse_when

# "改到/换成/挪到/推到/调到…" and "to/until"; the last one wins ("to" may also mean "want to").
_ZH = re.compile(r"(?:改|换|挪|推|调|移|变)(?:到|成|为|去)|往后推到|延到|提前到")
_EN = re.compile(
    r"\b(?:to|until|till|for)\b(?=\s+(?:the\s+|next\s+|this\s+|\d|[a-z]+day\b|tomorrow|today"
    r"|noon|morning|afternoon|evening|\w+\s+\d))",
    re.I,
)


@dataclass(frozen=True)
class MoveRequest:
    old: When
    new: When
    old_text: str
    new_text: str


def split_move(text: str) -> tuple[str, str]:
    """(what is moved, where to); the second is "" when no new day or time was said."""
    marks = list(_ZH.finditer(text)) or list(_EN.finditer(text))
    if not marks:
        return text, ""
    last = marks[-1]
    return text[: last.start()], text[last.end() :]


def read_move(text: str, now: datetime) -> MoveRequest:
    old_text, new_text = split_move(text)
    return MoveRequest(parse_when(old_text, now), parse_when(new_text, now), old_text, new_text)
