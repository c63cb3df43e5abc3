"""Is this answer a person's name? For "may I have your name?" whatever the classifier says.

A name is rarely an intent the classifier knows ("Dorothy Clarke" read as
affirm), so the forms ask this instead. Pure, tested with fixed vectors.
"""

from __future__ import annotations

import re
from typing import Optional

_ZH_PREFIX = re.compile(r"^(?:我|俺)?(?:叫|是|姓\S?叫?|的名字是|名字叫|名字是)|^叫我")
_EN_PREFIX = re.compile(
    r"^(?:my name is|my name's|i'm|i am|it's|it is|this is|call me|name's)\s+", re.I
)
_ZH_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
_EN_NAME = re.compile(r"^[A-Za-z][A-Za-z'\-]*(?:\s+[A-Za-z][A-Za-z'\-]*){0,2}$")
# Words that make a short answer something other than a name.
_ZH_NOT = re.compile(
    r"[吗呢啥么嘛吧了的]|什么|订|约|取消|饭|日托|门诊|电话|谢谢|你好|不用|对|行|算|好"
)
_EN_NOT = {
    "yes", "no", "yeah", "nope", "ok", "okay", "sure", "thanks", "thank", "you", "hello", "hi",
    "what", "have", "booked", "book", "cancel", "help", "stop", "never", "mind", "right", "the",
    "a", "my", "i", "is", "please", "bye", "lunch", "dinner", "tomorrow", "today", "not", "fine",
}  # fmt: skip


def name_in(text: str) -> Optional[str]:
    """The name said ("俺叫刘淑珍" → 刘淑珍, "my name is John Brown" → John Brown), or None."""
    said = re.sub(r"[\s,.!?，。！？]+$", "", text.strip())
    zh = _ZH_PREFIX.sub("", said)
    if _ZH_NAME.match(zh) and not _ZH_NOT.search(zh):
        return zh
    en = _EN_PREFIX.sub("", said)
    if _EN_NAME.match(en) and not any(w.lower() in _EN_NOT for w in en.split()):
        return " ".join(w[:1].upper() + w[1:] for w in en.split())
    return None
