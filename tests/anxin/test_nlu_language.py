"""The LanguageDetector NLU component tags messages the language slot then follows."""

from __future__ import annotations

from rasa.shared.nlu.training_data.message import Message

from anxin.nlu_language import LanguageDetector


def languages(text: str, entities: list[dict] | None = None) -> list[str]:
    message = Message(data={"text": text, **({"entities": entities} if entities else {})})
    [processed] = LanguageDetector({}).process([message])
    return [e["value"] for e in processed.get("entities", []) if e["entity"] == "language"]


def test_clear_messages_are_tagged():
    assert languages("俺想订明天的午饭") == ["zh"]
    assert languages("book lunch for tomorrow please") == ["en"]


def test_ambiguous_messages_keep_the_conversation_language():
    assert languages("ok") == []
    assert languages("👍") == []
    assert languages("11/28") == []


def test_intent_payloads_and_explicit_requests_are_left_alone():
    assert languages("/greet") == []
    explicit = [{"entity": "language", "value": "en", "start": 0, "end": 4}]
    assert languages("请说英语", explicit) == ["en"]
