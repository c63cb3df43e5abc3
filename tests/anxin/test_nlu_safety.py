"""How the NLU's last word on safety is decided (anxin/nlu_safety.py): the reading of the
danger words first; the classifier's own safety guesses only when it is sure."""

from __future__ import annotations

import pytest

from anxin.nlu_safety import decide, is_short
from care.safety_reading import Reading, read


@pytest.mark.parametrize(
    ("text", "guessed", "confidence", "level"),
    [
        # The reading decides whatever the classifier guessed.
        ("我老伴叫不醒了", "crisis", 0.7, "emergency"),
        ("我摔倒了 起不来", "inform", 0.9, "emergency"),
        ("我摔了一跤", "emergency", 0.99, "possible"),
        ("活着没意思", "chitchat", 0.5, "crisis"),
        # Danger words explained away: a sure classifier does not bring the alarm back.
        ("我把暖壶摔了", "emergency", 0.99, None),
        ("乐死我了", "crisis", 0.95, None),
        ("my cat fell off the sofa", "emergency", 0.97, None),
        ("what do I do if my husband falls?", "emergency", 0.95, None),
        # No danger words: the classifier's guess, graded by how sure it is.
        ("我老伴儿脸色发青 怎么喊都不应", "emergency", 0.95, "emergency"),
        ("我老伴儿今天怪怪的", "emergency", 0.45, "possible"),
        ("两位", "emergency", 0.35, None),
        ("我这心里空落落的", "crisis", 0.6, "crisis"),
        ("我这心里空落落的", "crisis", 0.45, None),
        ("下午三点", "inform", 0.9, None),
    ],
)
def test_what_a_message_is_treated_as(text, guessed, confidence, level):
    assert decide(read(text), guessed, confidence) == level


def test_an_unsure_guess_never_raises_the_alarm():
    nothing = Reading(None, "no danger words")
    assert decide(nothing, "emergency", 0.39) is None
    assert decide(nothing, "crisis", 0.49) is None
    assert decide(nothing, "emergency", 0.4) == "possible"
    assert decide(nothing, "emergency", 0.5) == "emergency"
    assert decide(nothing, "crisis", 0.5) == "crisis"


def test_a_short_message_needs_a_surer_guess():
    # "好的，我等着" was a crisis at 0.67: too few words for counts that low.
    nothing = Reading(None, "no danger words")
    assert is_short("好的，我等着") and is_short("OK I'll wait here")
    assert not is_short("老头子刚才电话里说这地方咋没见过呢")
    assert decide(nothing, "crisis", 0.67, short=True) is None
    assert decide(nothing, "emergency", 0.6, short=True) is None
    assert decide(nothing, "emergency", 0.7, short=True) == "possible"
    assert decide(nothing, "emergency", 0.8, short=True) == "emergency"
    assert decide(nothing, "crisis", 0.67) == "crisis"
    assert decide(read("救命"), "inform", 0.9, short=True) == "emergency"  # the reading's
