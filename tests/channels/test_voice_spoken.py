"""How a reply with buttons is said on the phone (channels/voice_conversations.spoken)."""

from __future__ import annotations

from channels.voice_conversations import spoken


def test_buttons_are_said_as_numbered_choices_after_the_text() -> None:
    buttons = [{"title": "At the canteen"}, {"title": "Deliver it home"}]
    said = spoken({"text": "Where will you eat?", "buttons": buttons})
    assert said == "Where will you eat? 1. At the canteen 2. Deliver it home"


def test_a_button_that_carries_its_number_is_not_numbered_twice() -> None:
    said = spoken({"text": "Choose a stop.",
                   "buttons": [{"title": "1. 07:50 east gate"}, {"title": "2、08:10 north gate"},
                               {"title": "3 pm works too"}]})  # fmt: skip
    assert said == "Choose a stop. 1. 07:50 east gate 2. 08:10 north gate 3. 3 pm works too"


def test_a_reply_without_text_or_buttons() -> None:
    assert spoken({"text": "  "}) == ""
    assert spoken({"buttons": [{"title": "Yes"}, {"payload": "/deny"}]}) == "1. Yes"
