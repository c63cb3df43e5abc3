"""Fixed vectors for Telegram's shapes: buttons, 4096-character pieces, /start, the secret."""

from __future__ import annotations

import json

import pytest

from channels.telegram_render import (
    MAX_TEXT,
    BadUpdate,
    button_payload,
    callback_data,
    inline_keyboard,
    language_of,
    link_family,
    parse_update,
    render,
    secret_ok,
    split_text,
    start_code,
    typed,
    utf16_len,
)


def keyboard_dict(markup):
    return markup.to_dict()["inline_keyboard"]


def test_rasa_buttons_become_one_inline_button_a_row():
    buttons = [
        {"title": "对 / Yes", "payload": "/affirm"},
        {"title": "不对 / No", "payload": "/deny"},
        {"title": "1. Lunch", "payload": '/inform{"meal":"lunch"}'},
    ]
    assert keyboard_dict(inline_keyboard(buttons)) == [
        [{"text": "对 / Yes", "callback_data": "/affirm"}],
        [{"text": "不对 / No", "callback_data": "/deny"}],
        [{"text": "1. Lunch", "callback_data": '/inform{"meal":"lunch"}'}],
    ]
    assert inline_keyboard([]) is None


def test_a_payload_over_64_bytes_travels_as_its_number():
    long = '/inform{"choice":"' + "清" * 20 + '"}'  # 20 Chinese characters = 60 bytes alone
    assert len(long.encode()) > 64
    assert callback_data(long, 3) == "n:3"
    assert callback_data("/affirm", 1) == "/affirm"
    exactly = "/" + "a" * 63
    assert callback_data(exactly, 2) == exactly
    assert button_payload("n:3") == "3"  # the bot answers numbered choices by number
    assert button_payload("n:x") is None
    assert button_payload("/affirm") == "/affirm"
    assert button_payload("lang:en") == '/greet{"language":"en"}'
    assert button_payload("lang:fr") is None
    assert button_payload(None) is None


def test_short_text_is_one_piece():
    assert split_text("hello") == ["hello"]
    assert split_text("") == [""]


def test_long_text_is_cut_at_lines_and_nothing_else_is_lost():
    lines = [f"{i:04d} " + "x" * 95 for i in range(100)]  # 100 lines of 100 characters
    text = "\n".join(lines)
    pieces = split_text(text)
    assert [len(p) for p in pieces] == [4039, 4039, 2019]  # 40 + 40 + 20 whole lines
    assert all(utf16_len(p) <= MAX_TEXT for p in pieces)
    assert "\n".join(pieces) == text


def test_chinese_without_spaces_is_cut_after_a_full_stop():
    sentence = "您好，这是安心小助手给您的一句话。"  # 17 characters
    text = sentence * 300  # 5100 characters
    pieces = split_text(text)
    assert len(pieces) == 2
    assert pieces[0].endswith("。") and len(pieces[0]) == 17 * 240
    assert "".join(pieces) == text


def test_a_word_longer_than_the_limit_is_cut_hard_and_emoji_count_twice():
    assert [len(p) for p in split_text("a" * 10_000)] == [4096, 4096, 1808]
    emoji = "😀" * 3000  # 6000 UTF-16 units
    pieces = split_text(emoji)
    assert [utf16_len(p) for p in pieces] == [4096, 1904]
    assert "".join(pieces) == emoji


def test_render_puts_the_keyboard_under_the_last_piece():
    yes = [{"title": "Yes", "payload": "/affirm"}]
    messages = [
        {"recipient_id": "1", "text": "a" * 5000, "buttons": yes},
        {"recipient_id": "1", "text": "", "buttons": None},  # nothing to say: skipped
        {"recipient_id": "1", "buttons": [{"title": "No", "payload": "/deny"}]},
    ]
    replies = render(messages)
    assert [len(r.text) for r in replies] == [4096, 904, 1]
    assert [r.keyboard is None for r in replies] == [True, False, False]
    assert replies[2].text == "👇"


@pytest.mark.parametrize(
    "args, code",
    [
        (["123456"], "123456"),
        (["link_123456"], "123456"),
        (["LINK-654321"], "654321"),
        (["12345"], None),
        (["1234567"], None),
        (["abcdef"], None),
        (["123456", "x"], None),
        ([], None),
        (None, None),
    ],
)
def test_start_payload_carries_a_six_digit_code(args, code):
    assert start_code(args) == code


def test_the_code_is_sent_to_rasa_as_the_link_family_intent():
    text = link_family("123456", "en")
    assert text.startswith("/link_family{")
    assert json.loads(text[len("/link_family") :]) == {"invite_code": "123456", "language": "en"}


def test_typed_text_is_never_an_intent():
    assert typed('/inform{"choice":"x"}') == 'inform{"choice":"x"}'
    assert typed("  hello ") == "hello"


def test_language_comes_from_what_we_know_then_the_app():
    assert language_of("en-GB") == "en"
    assert language_of("zh-hans") == "zh"
    assert language_of(None) == "zh"
    assert language_of("de") == "zh"  # Chinese first
    assert language_of("en", known="zh") == "zh"


@pytest.mark.parametrize(
    "expected, given, ok",
    [
        ("s3cret", "s3cret", True),
        ("s3cret", "S3CRET", False),
        ("s3cret", None, False),
        ("s3cret", "", False),
        ("s3cret", "s3cret ", False),
        (None, None, True),  # no secret configured: nothing to check
        (None, "anything", True),
        ("s3cret", "\udcff", False),
    ],
)
def test_secret_check(expected, given, ok):
    assert secret_ok(expected, given) is ok


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[]", b'"x"', b"{}", b'{"update_id": "1"}', b'{"update_id": -1}',
     b'{"update_id": true}', b"\xff\xfe", b"[" * 100_000],
)  # fmt: skip
def test_what_is_not_an_update(body):
    with pytest.raises(BadUpdate):
        parse_update(body)


def test_an_update():
    assert parse_update(b'{"update_id": 5, "message": {}}') == {"update_id": 5, "message": {}}


def test_an_update_is_cleaned_before_anything_reads_it():
    body = json.dumps({
        "update_id": 7,
        "message": {"text": " \ud800你好\u202e\x00 ", "caption": "a\u200bb",
                    "chat": {"id": 1, "type": "private", "first_name": "Li\udc00"}},
        "edited_message": {"text": "\r\nhelp\u2066"},
    }).encode()  # fmt: skip
    assert b"\\ud800" in body  # as a JSON escape: valid JSON, never sent by Telegram
    data = parse_update(body)
    assert data["message"]["text"] == "你好"
    assert data["message"]["caption"] == "ab"
    assert data["message"]["chat"]["first_name"] == "Li\ufffd"  # encodable, else kept
    assert data["edited_message"]["text"] == "help"
    json.dumps(data, ensure_ascii=False).encode("utf-8")  # the inbox can keep it


def test_an_update_nested_deeper_than_any_of_telegrams_is_refused():
    body = b'{"update_id": 8, "message": ' + b"[" * 40 + b"]" * 40 + b"}"
    with pytest.raises(BadUpdate):
        parse_update(body)


def test_an_update_keeps_no_character_postgresql_cannot_store():
    """A NUL in a button's payload or a name was a 500 on PostgreSQL (the inbox keeps the
    update before the 200); lone surrogates too."""
    body = json.dumps({
        "update_id": 7,
        "callback_query": {"id": "1", "data": "/book_meal\x00", "chat_instance": "x",
                           "from": {"id": 5, "is_bot": False, "first_name": "Li\x00\ud800"}},
    }).encode()  # fmt: skip
    update = parse_update(body)
    assert update["callback_query"]["data"] == "/book_meal"
    assert update["callback_query"]["from"]["first_name"] == "Li\ufffd"
    assert "\\u0000" not in json.dumps(update) and "\x00" not in json.dumps(update)
