"""Size and number rules of every channel, with the vectors fuzzing found."""

from __future__ import annotations

import pytest

from channels.limits import MAX_BODY_BYTES, ascii_digits, sender_ok, too_large


@pytest.mark.parametrize("text", ["0", "1700000000", "6054768590064713728"])
def test_plain_digits_are_numbers(text):
    assert ascii_digits(text)


@pytest.mark.parametrize("text", ["", "²", "٣", "１２", "12a", "-1", " 1"])
def test_other_digits_are_not(text):
    assert not ascii_digits(text)  # int() would raise on "²" although "²".isdigit()


@pytest.mark.parametrize("sender", ["app-zhou", "周桂芳", "a b", "+8613800000000", "x" * 200, "🙂"])
def test_sender_ids_people_and_apps_use_are_taken(sender):
    assert sender_ok(sender)


@pytest.mark.parametrize("sender", ["", "x" * 201, "\x00", "a\x00b", "\x07", "a\r\nb", "\x7f",
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
