"""Which language is a message written in: Chinese ("zh"), English ("en") or unclear.

Anxin answers in the language the person uses. This module decides it from one
message, cheaply and without any model, so it can run inside the Rasa NLU
pipeline (``anxin.nlu_language.LanguageDetector``), in channels and in actions.

Rules, in order:

* Text is normalised with NFKC first (full-width ``ＯＫ`` becomes ``OK``).
* CJK ideographs count one each; Latin words count one each.
* No ideographs and no Latin words (digits, emoji, punctuation, a bare date
  such as ``11/28``, a time such as ``12:30``, kana/hangul only): ``None``.
* Ideographs present: ``"zh"`` unless Latin words (fillers like ``ok`` not
  counted) outnumber them —
  ``我想订lunch`` is Chinese, ``Can I have 饺子 for lunch`` is English.
  A tie goes to Chinese (the centre's first language).
* Only Latin words: ``"en"``, except when every word is one both Chinese and
  English speakers type (``ok``, ``OK``, ``hhh``, ``emm``, a single letter such
  as a menu choice ``A``, ``wifi``, ``nihao`` ...): then ``None``.

``None`` means "keep whatever language the conversation already has".
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["detect_language", "ZH", "EN"]

ZH = "zh"
EN = "en"

# CJK Unified Ideographs (+ extension A, compatibility ideographs, extensions
# B-F and the compatibility supplement) and the ideographic zero 〇.
_CJK = re.compile("[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")

# A Latin word: letters (ASCII and Latin-1/Extended-A/B accents), with an
# optional apostrophe part ("don't", "I'm").
_LATIN_WORD = re.compile(
    "[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+"
    "(?:['\u2019][A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+)?"
)

# Latin "words" that Chinese speakers type just as often as English speakers,
# so on their own they say nothing about the language.
_AMBIGUOUS_WORDS = frozenset(
    {
        # acknowledgements
        "ok",
        "okay",
        "okk",
        "okok",
        "k",
        "kk",
        "o",
        "oh",
        "ohh",
        "hmm",
        "hm",
        "mm",
        "mmm",
        "em",
        "emm",
        "emmm",
        "en",
        "enen",
        "ah",
        "a",
        "ha",
        "haha",
        "hahaha",
        "hh",
        "hhh",
        "hhhh",
        "hehe",
        "lol",
        "xd",
        # time-of-day markers, units, brands and tech words used in Chinese text
        "am",
        "pm",
        "app",
        "wifi",
        "wechat",
        "vip",
        "tv",
        "cd",
        "dvd",
        "id",
        "qq",
        "kg",
        "km",
        "cm",
        "ml",
        "x",
        "pdf",
        # pinyin a person without an input method might type
        "nihao",
        "ni",
        "hao",
        "xiexie",
        "zaijian",
        "dui",
        "shi",
        "hai",
    }
)


def detect_language(text: str | None) -> str | None:
    """Return ``"zh"``, ``"en"`` or ``None`` (ambiguous) for one message.

    >>> detect_language("俺想整点儿饺子")
    'zh'
    >>> detect_language("I'd like lunch tomorrow")
    'en'
    >>> detect_language("ok") is None
    True
    """
    if not text:
        return None
    normalised = unicodedata.normalize("NFKC", text)

    cjk_count = len(_CJK.findall(normalised))
    latin_words = [w.lower() for w in _LATIN_WORD.findall(normalised)]

    if cjk_count:
        # Fillers such as "ok" do not make a Chinese sentence English.
        telling = [w for w in latin_words if w not in _AMBIGUOUS_WORDS]
        return ZH if cjk_count >= len(telling) else EN

    if not latin_words:
        return None

    if all(w in _AMBIGUOUS_WORDS or len(w) == 1 for w in latin_words):
        return None
    return EN
