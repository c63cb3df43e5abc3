"""Small numbers as elders type or say them, and "how many portions / people".

Pure standard library: used by :mod:`care.when` and by the Rasa NLU component
``anxin.nlu_when.WhenExtractor``.

* :func:`chinese_number` reads 〇/零, 一 … 九十九, 两, 俩 and 仨 (and Arabic digits).
* :func:`english_number` reads zero … ninety-nine in words ("twenty-eight").
* :func:`parse_quantity` / :func:`find_quantity` find a count of portions or
  people: 三份, 两份饭, 两个人, 俩人, 仨, 2份, "for two", "two portions",
  "3 meals", "two people". Only a number tied to a counting word (份, 个人, 位,
  碗 …; portions, people, meals …) or "for <n>" / 俩 / 仨 counts, so times and
  dates (十点, 28号, "at two", "the 2nd") are never quantities. When several
  quantities are said, the first one is returned; vague ones ("两三份") give
  ``None``.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "CN_NUM",
    "EN_NUM",
    "chinese_number",
    "english_number",
    "find_quantity",
    "parse_number",
    "parse_quantity",
]

_CN_DIGIT = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "仨": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}

# A Chinese numeral 0-99 (regex fragment, no groups): 二十八, 十五, 十, 两, 零五.
CN_NUM = "(?:[一二两三四五六七八九]?十[一二三四五六七八九]?|[零〇]?[一二两三四五六七八九]|[零〇])"

_EN_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_EN_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_EN_VALUE = {w: i for i, w in enumerate(_EN_ONES)} | {
    w: 20 + 10 * i for i, w in enumerate(_EN_TENS)
}
_EN_VALUE["fourty"] = 40  # a common misspelling

_ONES_ALT = "|".join(sorted(_EN_ONES, key=len, reverse=True))
_TENS_ALT = "|".join(sorted([*_EN_TENS, "fourty"], key=len, reverse=True))
# An English number word 0-99 (regex fragment, no groups, lower case): "twenty-eight".
_DIGIT_WORD = "(?:one|two|three|four|five|six|seven|eight|nine)"
EN_NUM = rf"(?:(?:{_TENS_ALT})(?:[- ]{_DIGIT_WORD}\b)?|(?:{_ONES_ALT}))\b"


def chinese_number(s: str) -> int | None:
    """The value of a Chinese numeral 0-99 (一, 十五, 二十八, 两, 俩, 仨, 〇, 零五), else ``None``.

    Arabic digits (also full-width) are read too: ``chinese_number("28") == 28``.
    """
    s = unicodedata.normalize("NFKC", s).strip()
    if not s:
        return None
    if s.isascii() and s.isdigit():
        return int(s)
    if "十" in s:
        tens_part, _, ones_part = s.partition("十")
        if "十" in ones_part or len(tens_part) > 1 or len(ones_part) > 1:
            return None
        tens = 1 if not tens_part else _CN_DIGIT.get(tens_part)
        ones = 0 if not ones_part else _CN_DIGIT.get(ones_part)
        if not tens or ones is None or (ones_part and ones == 0):
            return None
        return tens * 10 + ones
    if len(s) == 1:
        return _CN_DIGIT.get(s)
    if len(s) == 2 and s[0] in "零〇" and s[1] in _CN_DIGIT:
        return _CN_DIGIT[s[1]]
    return None


def english_number(s: str) -> int | None:
    """The value of an English number word 0-99 ("seven", "twenty-eight", "forty five")."""
    words = re.split(r"[- ]+", s.strip().lower())
    if len(words) == 1:
        return _EN_VALUE.get(words[0])
    if len(words) == 2 and words[0] in _EN_VALUE and words[1] in _EN_VALUE:
        tens, ones = _EN_VALUE[words[0]], _EN_VALUE[words[1]]
        if tens >= 20 and tens % 10 == 0 and 1 <= ones <= 9:
            return tens + ones
    return None


def parse_number(s: str) -> int | None:
    """Digits, a Chinese numeral or an English number word, else ``None``."""
    value = chinese_number(s)
    return value if value is not None else english_number(s)


# --- quantities -------------------------------------------------------------------------------

_CN_COUNTER = "(?:个人|口人|人份|位|人|份儿?|碗|盒|顿)"
_CN_QTY = re.compile(
    rf"(?<![第\d零〇一二两三四五六七八九十几多])(\d{{1,2}}|{CN_NUM}|俩|仨)\s*(?:个)?{_CN_COUNTER}"
)
# 俩 / 仨 on their own ("咱俩", "俺们仨") are two / three people.
_CN_PAIR = re.compile(r"(?<![一二两三四五六七八九十])(俩|仨)(?![点号日月天周星礼小钟年岁分个])")

_EN_QTY_WORD = r"(?:\d{1,2}|" + EN_NUM + r"|an?)"
_EN_COUNTER = (
    r"(?:(?:hot|extra|more|vegetarian|veggie|small|big|large)\s+)?"
    r"(?:portions?|servings?|meals?|plates?|people|persons?|lunch(?:es)?|dinners?|breakfasts?"
    r"|suppers?|box(?:es)?|bowls?|sets?|of us)\b"
)
_EN_QTY = re.compile(rf"\b({_EN_QTY_WORD})\s+{_EN_COUNTER}")
_EN_FOR = re.compile(
    rf"\bfor\s+(?:the\s+)?(\d{{1,2}}|{EN_NUM})(?![:.]?\d)"
    r"(?!\s*(?:days?|hours?|weeks?|months?|years?|nights?|minutes?|mins?|o'?\s?clock|a\.?m\b|p\.?m\b"
    r"|in the|at night|tonight))"
)


def find_quantity(text: str) -> tuple[int, tuple[int, int]] | None:
    """The first quantity in ``text`` and its character span, or ``None``."""
    # Full-width digits become ASCII one for one, so spans stay valid.
    norm = "".join(
        n if len(n := unicodedata.normalize("NFKC", ch).lower()) == 1 else ch for ch in text
    )
    found: list[tuple[int, int, int]] = []
    for pattern in (_CN_QTY, _CN_PAIR, _EN_QTY, _EN_FOR):
        for m in pattern.finditer(norm):
            word = m.group(1)
            value = 1 if word in ("a", "an") else parse_number(word)
            if value:
                found.append((m.start(), m.end(), value))
    if not found:
        return None
    start, end, value = min(found, key=lambda f: (f[0], -f[1]))
    return value, (start, end)


def parse_quantity(text: str) -> int | None:
    """How many portions / people ``text`` asks for (三份 → 3, "for two" → 2), else ``None``."""
    hit = find_quantity(text)
    return hit[0] if hit else None
