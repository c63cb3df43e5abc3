"""Tests for care.language.detect_language."""

import pytest

from care.language import EN, ZH, detect_language


@pytest.mark.parametrize(
    "text",
    [
        "你好",
        "嗯",
        "好",
        "好的",
        "俺想整点儿饺子",
        "明天中午给俺送个饭呗",
        "这玩意儿咋整啊",
        "你是嘎哈的",
        # voice-transcript style: no punctuation, digits from the recogniser
        "我想约明天上午10点的内科",
        "帮我订个午饭少放盐",
        "喂喂能听见不",
        # mixed: Chinese frame, English word
        "我想订lunch",
        "帮我book一下",
        "OK 我知道了",
        "好的ok",
        "A套餐",
        "wifi密码是多少",
        # traditional characters and full-width punctuation
        "謝謝你！",
        "11月28号",
        "12349是啥电话",
    ],
)
def test_chinese(text):
    assert detect_language(text) == ZH


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "hi",
        "yes",
        "no",
        "thanks",
        "bye",
        "Good morning!",
        "I'd like lunch tomorrow",
        "can you book me a doctor",
        # typos and voice transcripts without punctuation
        "helo ther",
        "i wnat to ordr lunch",
        "book me a ride to the day care tomorrow morning please",
        "ok thanks",
        "OK sure",
        # mixed: English frame, Chinese word
        "Can I have 饺子 for lunch",
        "Is the 中医 clinic open today",
        # full-width Latin letters are normalised
        "ｈｅｌｌｏ",
        "café please",
    ],
)
def test_english(text):
    assert detect_language(text) == EN


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "ok",
        "OK",
        "Ok!",
        "okay",
        "ＯＫ",
        "kk",
        "hhh",
        "emm",
        "A",
        "b",
        "3pm",
        "nihao",
        "ni hao",
        "123",
        "11/28",
        "12:30",
        "2024-11-28",
        "？？",
        "...",
        "👍",
        "😊😊",
        "🙏🏻",
        "こんにちは",
        "안녕하세요",
    ],
)
def test_ambiguous(text):
    assert detect_language(text) is None


def test_tie_goes_to_chinese():
    # two Latin words against two ideographs
    assert detect_language("I want 饺子") == ZH


def test_no_heavy_imports():
    """The module is imported by the NLU pipeline and channels: keep it light."""
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parents[2]
    code = (
        "import sys, care.language;"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('rasa', 'rasa_sdk', 'sqlalchemy', 'jieba', 'numpy', 'tensorflow')];"
        "print(heavy); sys.exit(1 if heavy else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
