"""Answers to "may I have your name?" (fixed vectors)."""

from __future__ import annotations

import pytest

from care.names import name_in


@pytest.mark.parametrize(
    ("text", "name"),
    [("张桂芬", "张桂芬"), ("俺叫刘淑珍", "刘淑珍"), ("我姓王叫王秀兰", "王秀兰"),
     ("李秀兰。", "李秀兰"), ("王强", "王强"), ("Dorothy Clarke", "Dorothy Clarke"),
     ("my name is John Brown", "John Brown"),
     ("i'm mary smith", "Mary Smith"), ("O'Brien", "O'Brien"),
     ("对", None), ("你好", None), ("谢谢", None), ("我都约了啥", None), ("算了", None),
     ("yes", None), ("what have I booked", None), ("thank you", None), ("never mind", None),
     ("12月1号", None), ("ok", None)],
)  # fmt: skip
def test_names(text, name):
    assert name_in(text) == name
