"""Text at the door: fixed vectors for what is dropped, what is kept, and what is normalised."""

from __future__ import annotations

import json
import unicodedata

import pytest

from care.safety_words import danger_in
from care.text_clean import clean_text, replace_surrogates, scrub


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("我想订明天的午饭", "我想订明天的午饭"),
        ("  hello  ", "hello"),
        ("第一行\n第二行\t完", "第一行\n第二行\t完"),  # newline and tab stay
        ("a\r\nb\rc\x85d\u2028e\u2029f", "a\nb\nc\nd\ne\nf"),  # every line break a newline
        ("a\x00b\x01c\x07d\x1be\x7ff", "abcdef"),  # NUL, C0, ESC, DEL
        ("a\x80b\x9fc", "abc"),  # C1
        ("\ud800", ""),  # a lone surrogate (valid JSON: "\ud800")
        ("我\udfff摔倒了\ud83d", "我摔倒了"),
        ("😀 ok", "😀 ok"),  # a real astral character is one code point, kept
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # ZWJ sequences stay
        ("\u202eolleh\u202c", "olleh"),  # right-to-left override
        ("pay \u2066100\u2069 \u200fyuan\u200e", "pay 100 yuan"),  # isolates, marks
        ("\u061cx\u180ey", "xy"),
        ("救\u200b命", "救命"),  # zero-width space inside a danger word
        ("help\u2060 me\ufeff", "help me"),
        ("soft\u00adware", "software"),
        ("\ufffe\uffff\ufff9x\ufffb", "x"),  # noncharacters, interlinear annotation
        ("e\u0301", "\u00e9"),  # NFC: e + combining acute is é
        ("\u1100\u1161", "\uac00"),  # NFC: Hangul jamo compose
        ("ＯＫ", "ＯＫ"),  # NFC, not NFKC: full-width stays (language detection folds it)
        ("\x00\u202e \t\n", ""),  # nothing left
        ("", ""),
    ],
)
def test_clean_text(raw: str, clean: str) -> None:
    assert clean_text(raw) == clean


def test_the_result_always_encodes_and_is_nfc() -> None:
    every_odd_char = "".join(chr(c) for c in [*range(0, 0x30), *range(0x7F, 0xA0), 0x200B,
                                              0x202A, 0x202E, 0x2066, 0x2069, 0xD800, 0xDBFF,
                                              0xDC00, 0xDFFF, 0xFEFF, 0xFFFE])  # fmt: skip
    cleaned = clean_text(every_odd_char + "好")
    cleaned.encode("utf-8")  # no UnicodeEncodeError
    assert unicodedata.is_normalized("NFC", cleaned)
    assert all(c in "\n\t" or c.isprintable() for c in cleaned), ascii(cleaned)


def test_a_danger_word_disguised_by_invisible_characters_is_seen_once_clean() -> None:
    assert danger_in("救\u200b命") is None
    assert danger_in(clean_text("救\u200b命")) == "emergency"
    assert danger_in(clean_text("I \u2060fell\u00ad")) == "emergency"


def test_replace_surrogates_keeps_everything_else() -> None:
    assert replace_surrogates("a\ud800b\x00c") == "a\ufffdb\x00c"
    assert replace_surrogates("我 😀") == "我 😀"


def test_scrub_makes_any_json_value_encodable() -> None:
    value = json.loads('{"\\ud800k": ["\\udc00", {"n": 1, "t": true, "x": null}], "s": "ok"}')
    scrubbed = scrub(value)
    assert scrubbed == {"\ufffdk": ["\ufffd", {"n": 1, "t": True, "x": None}], "s": "ok"}
    json.dumps(scrubbed, ensure_ascii=False).encode("utf-8")
    deep: list = []
    for _ in range(100):
        deep = [deep]
    assert json.dumps(scrub(deep, depth=3)) == "[[[null]]]"
