"""The WhenExtractor NLU component turns dates, times and quantities into entities."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from rasa.shared.nlu.training_data.message import Message

from anxin.nlu_when import NOW_ENV, WhenExtractor
from care.clock import OFFSET_ENV


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch):
    # Wednesday 2026-11-25 10:00 in Harbin.
    monkeypatch.setenv(NOW_ENV, "2026-11-25T10:00:00+08:00")


def extract(text: str, entities: list[dict] | None = None, config: dict | None = None) -> dict:
    message = Message(data={"text": text, **({"entities": entities} if entities else {})})
    [processed] = WhenExtractor(config or {}).process([message])
    return {e["entity"]: e for e in processed.get("entities", [])}


def values(text: str, **kwargs) -> dict[str, str]:
    return {name: e["value"] for name, e in extract(text, **kwargs).items()}


def test_chinese_booking_sentence():
    text = "明天中午十二点整点儿给俺送两份饭"
    found = extract(text)
    assert {k: v["value"] for k, v in found.items()} == {
        "date": "2026-11-26",
        "time": "12:00",
        "part_of_day": "noon",
        "quantity": "2",
    }
    assert {e["extractor"] for e in found.values()} == {"WhenExtractor"}
    assert text[found["date"]["start"] : found["date"]["end"]] == "明天"
    assert text[found["part_of_day"]["start"] : found["part_of_day"]["end"]] == "中午"
    assert text[found["time"]["start"] : found["time"]["end"]] == "十二点整"
    assert text[found["quantity"]["start"] : found["quantity"]["end"]] == "两份"


def test_english_booking_sentence():
    text = "lunch for two on Friday at half past twelve please"
    found = extract(text)
    assert {k: v["value"] for k, v in found.items()} == {
        "date": "2026-11-27",
        "time": "12:30",
        "quantity": "2",
    }
    assert text[found["time"]["start"] : found["time"]["end"]] == "half past twelve"


def test_ambiguous_is_an_entity_to_ask_back():
    assert values("下周") == {"when_ambiguous": "week_without_day"}
    assert values("next week please") == {"when_ambiguous": "week_without_day"}
    assert values("昨天") == {"date": "2026-11-24", "when_ambiguous": "past_date"}


def test_messages_without_a_when_get_nothing():
    assert values("你好") == {}
    assert values("hello") == {}
    assert values("") == {}


def test_intent_payloads_are_left_alone():
    assert values("/book_meal") == {}
    assert values('/book_meal{"date": "2026-11-26"}') == {}


def test_entities_from_earlier_extractors_win():
    earlier = [{"entity": "date", "value": "2026-12-24", "start": 0, "end": 2}]
    found = extract("明天上午十点", entities=earlier)
    assert found["date"]["value"] == "2026-12-24"
    assert found["time"]["value"] == "10:00"


def test_anxin_now_without_offset_is_read_in_the_timezone(monkeypatch):
    monkeypatch.setenv(NOW_ENV, "2026-12-30T23:30:00")
    assert values("明天") == {"date": "2026-12-31"}
    monkeypatch.setenv(NOW_ENV, "2026-12-30T16:30:00+00:00")  # 00:30 next day in Harbin
    assert values("明天") == {"date": "2027-01-01"}


def test_without_anxin_now_the_configured_zone_is_used(monkeypatch):
    monkeypatch.delenv(NOW_ENV)
    extractor = WhenExtractor({"timezone": "Asia/Shanghai"})
    tomorrow = datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=1)
    [message] = extractor.process([Message(data={"text": "tomorrow"})])
    [entity] = message.get("entities")
    assert entity["value"] in (tomorrow.isoformat(), (tomorrow + timedelta(days=1)).isoformat())


def test_the_stacks_offset_wins_and_the_clock_runs(monkeypatch):
    # What `anxin run` hands every process: the real clock moved 30 days back.
    monkeypatch.setenv(OFFSET_ENV, str(-30 * 86_400))
    extractor = WhenExtractor({})
    expected = datetime.now(timezone.utc) - timedelta(days=30)
    first = extractor.now()
    assert abs(first - expected) < timedelta(seconds=30)
    time.sleep(0.02)
    assert extractor.now() > first  # a clock that starts somewhere and runs on


def test_default_config_and_name():
    assert WhenExtractor.get_default_config() == {"timezone": "Asia/Shanghai"}
    assert WhenExtractor({}).name == "WhenExtractor"
