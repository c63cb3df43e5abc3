"""The Traditional → Simplified map Whisper's Chinese output goes through."""

from __future__ import annotations

from voice.zh_simplify import _PAIRS, TRADITIONAL_TO_SIMPLIFIED, simplified_ratio, to_simplified


def test_domain_sentences_become_simplified() -> None:
    assert to_simplified("我想預約明天的午飯，謝謝。") == "我想预约明天的午饭，谢谢。"
    assert to_simplified("這個門診幾點開門?") == "这个门诊几点开门？"
    assert to_simplified("我一個人很孤獨,想找人陪聊") == "我一个人很孤独，想找人陪聊"


def test_simplified_text_is_left_alone() -> None:
    text = "您好，我想取消后天的日托。12.5元"
    assert to_simplified(text) == text
    assert simplified_ratio(text) == 1.0
    assert simplified_ratio("預約") == 0.0


def test_the_map_is_well_formed() -> None:
    assert len(_PAIRS) % 2 == 0
    # No Simplified character is itself mapped on (which would change correct text).
    assert not set(TRADITIONAL_TO_SIMPLIFIED.values()) & {
        chr(k) for k in TRADITIONAL_TO_SIMPLIFIED
    }
