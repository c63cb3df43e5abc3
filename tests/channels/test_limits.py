"""Size and number rules of every channel, with the vectors fuzzing found."""

from __future__ import annotations

import pytest

from care.safety_words import danger_in, danger_span
from channels.limits import (
    LIMIT_ENV,
    MAX_BODY_BYTES,
    MAX_JSON_DEPTH,
    MAX_MESSAGE_CHARS,
    TOO_LONG,
    BadBody,
    Bounded,
    ascii_digits,
    bound,
    bounded_text,
    check_message_limit,
    danger_window,
    deeper_than,
    find_danger,
    json_object,
    message_limit,
    sender_ok,
    too_large,
)


@pytest.mark.parametrize("text", ["0", "1700000000", "6054768590064713728"])
def test_plain_digits_are_numbers(text):
    assert ascii_digits(text)


@pytest.mark.parametrize("text", ["", "²", "٣", "１２", "12a", "-1", " 1"])
def test_other_digits_are_not(text):
    assert not ascii_digits(text)  # int() would raise on "²" although "²".isdigit()


@pytest.mark.parametrize("sender", ["app-zhou", "周桂芳", "a b", "+8613800000000", "x" * 190, "🙂"])
def test_sender_ids_people_and_apps_use_are_taken(sender):
    assert sender_ok(sender)


@pytest.mark.parametrize("sender", ["", "x" * 191, "\x00", "a\x00b", "\x07", "a\r\nb", "\x7f",
                                    "\ud800", "a\u202eb", "\u200b", "\ufeff",
                                    "\u3000"])  # fmt: skip
def test_sender_ids_with_control_or_invisible_characters_are_not(sender):
    assert not sender_ok(sender)  # a NUL was a 500 on PostgreSQL


def test_a_body_is_too_large_by_its_size_or_its_declared_length():
    assert not too_large(None, b"x" * MAX_BODY_BYTES)
    assert too_large(None, b"x" * (MAX_BODY_BYTES + 1))
    assert too_large(str(MAX_BODY_BYTES + 1), b"")
    assert not too_large("²", b"")  # Hypothesis found this one: a 500 before
    assert not too_large("lots", b"{}")


# JSON bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"message": "\xe4\xbd"}', "not UTF-8"),
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"{'a': 1}", "not JSON"),
        (b'{"a": NaN}', "not JSON"),
        (b'{"a": Infinity}', "not JSON"),
        (b'{"a": ' + b"1" * 5000 + b"}", "not JSON"),  # int() refuses over 4300 digits
        (b"[]", "a JSON object"),
        (b'"text"', "a JSON object"),
        (b"null", "a JSON object"),
        (b"123", "a JSON object"),
        (b"[" * 50_000, "nested too deeply"),  # RecursionError inside json.loads
        (b"[" * 50_000 + b"]" * 50_000, "nested too deeply"),
        (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, "nested too deeply"),
        (b'{"metadata": ' + b"[" * 40 + b"]" * 40 + b"}", "nested too deeply"),
    ],
)
def test_a_body_that_is_no_json_object_is_refused_with_a_reason(body, reason):
    with pytest.raises(BadBody, match=reason):
        json_object(body)


def test_a_json_object_within_the_depth_is_taken():
    body = b'{"sender": "a", "message": "\\ud800", "metadata": ' + b"[" * 30 + b"]" * 30 + b"}"
    data = json_object(body)
    assert data["message"] == "\ud800"  # valid JSON: cleaned later, at the door
    assert not deeper_than(data, MAX_JSON_DEPTH)
    assert deeper_than({"a": [[{}]]}, 3) and not deeper_than({"a": [[{}]]}, 4)
    assert not deeper_than({}, 1)


# Message length -------------------------------------------------------------------------


def test_the_message_limit_is_2000_unless_set_within_its_range():
    assert MAX_MESSAGE_CHARS == 2000
    assert message_limit({}) == 2000
    assert message_limit({LIMIT_ENV: "3000"}) == 3000
    for bad in ("50", "100000", "lots", "²", "-5"):
        assert message_limit({LIMIT_ENV: bad}) == 2000  # never fails a message
        with pytest.raises(ValueError, match=LIMIT_ENV):
            check_message_limit({LIMIT_ENV: bad})


def test_a_message_within_the_limit_goes_on_unchanged():
    text = "我想订明天的午饭" * 250
    assert len(text) == 2000
    assert bound(text) == Bounded(text)
    assert bounded_text(text) == text


@pytest.mark.parametrize(
    ("text", "language"),
    [("我想订明天的午饭" * 1000, "zh"), ("I would like lunch tomorrow " * 1000, "en"),
     ("😀" * 50_000, "zh"), ("1" * 3000, "zh")],  # fmt: skip
)
def test_an_over_long_message_is_answered_kindly_in_its_language(text, language):
    fitted = bound(text)
    assert fitted.reply == TOO_LONG[language] and fitted.text == "" and fitted.danger is None
    assert bounded_text(text) == text[:2000]  # what the NLU would read if a channel did not


@pytest.mark.parametrize(
    ("filler", "words", "kind"),
    [
        ("我想订明天的午饭。", "我摔倒了起不来", "emergency"),
        ("I would like lunch tomorrow. ", "I fell and can't get up", "emergency"),
        ("我想订明天的午饭。", "我真的不想活了", "crisis"),
        ("I would like lunch tomorrow. ", "I want to kill myself", "crisis"),
    ],
)
@pytest.mark.parametrize("where", [0.0, 0.3, 0.5, 0.999])
def test_danger_in_an_over_long_message_goes_on_to_the_dialogue(filler, words, kind, where):
    body = filler * (15_000 // len(filler))
    at = int(len(body) * where)
    text = body[:at] + words + "。 " + body[at:]
    fitted = bound(text)
    assert fitted.reply is None and fitted.danger == kind
    assert words in fitted.text and len(fitted.text) <= 2000
    assert danger_in(fitted.text) == kind  # what the NLU's safety floor will see
    assert bounded_text(text) == fitted.text


def test_an_emergency_wins_over_a_crisis_said_earlier():
    text = "我不想活了。" + "今天天气不错。" * 1000 + "我摔倒了起不来"
    assert bound(text).danger == "emergency"


def test_the_head_and_the_tail_of_a_very_long_message_are_read_for_danger():
    filler = "今天天气不错。" * 20_000  # 140,000 characters
    assert bound("救命" + filler).danger == "emergency"
    assert bound(filler + "救命").danger == "emergency"
    # The middle of something this long is not read (SCAN_CHARS): it is answered kindly.
    middle = filler[:70_000] + "救命" + filler[70_000:]
    assert bound(middle).reply == TOO_LONG["zh"]


def test_danger_words_straddling_a_piece_of_the_scan_are_found():
    for at in [*range(1990, 2010), *range(2190, 2210), *range(3990, 4010)]:
        text = "x" * at + "我摔倒了起不来" + "x" * 5000
        assert find_danger(text) == ("emergency", *danger_span("emergency", text)), at


def test_a_danger_window_is_centred_and_bounded():
    text = "a" * 5000 + "救命" + "b" * 5000
    window = danger_window(text, 5000, 5002, 100)
    assert len(window) == 100 and window.index("救命") in (49, 48)
    tail = danger_window("a" * 5000 + "救命", 5000, 5002, 100)
    assert tail.endswith("救命") and len(tail) == 100
    head = danger_window("救命" + "b" * 5000, 0, 2, 100)
    assert head.startswith("救命") and len(head) == 100
    assert danger_window("help" + "!" * 3000, 0, 3004, 100) == "help" + "!" * 96
