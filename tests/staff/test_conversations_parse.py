"""care.conversations.parse on Rasa's own event dicts: sessions, a greeting before anyone
spoke, buttons and slots, a hand-off, language carried over an ambiguous message."""

from __future__ import annotations

from typing import Any

from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)

from care.conversations import Conversation, parse


def rows(*events: Event) -> list[tuple[int, dict[str, Any]]]:
    return [(n, {"sender_id": "s", **e.as_dict()}) for n, e in enumerate(events, start=1)]


def user(text: str, intent: str, confidence: float, language: str | None = None) -> UserUttered:
    entities = [{"entity": "language", "value": language}] if language else []
    return UserUttered(text, intent={"name": intent, "confidence": confidence},
                       entities=entities, input_channel="wechat", timestamp=1.0)  # fmt: skip


def test_sessions_turns_and_what_belongs_to_each() -> None:
    sessions = parse(
        rows(
            ActionExecuted("action_session_start", timestamp=1.0),
            SessionStarted(timestamp=1.0),
            BotUttered("您好！我是安心。", timestamp=1.0),  # said before anyone spoke
            ActionExecuted("action_listen", timestamp=1.0),
            user("我想找个人说说话", "request_human", 0.93, "zh"),
            ActionExecuted("action_handoff", timestamp=2.0),
            SlotSet("handed_off", True, timestamp=2.0),
            BotUttered("好的，我已经告诉工作人员了。", timestamp=2.0),
            ActionExecuted("action_listen", timestamp=2.0),
            user("ok", "affirm", 0.31),  # ambiguous: keeps the conversation's Chinese
            ActionExecuted("action_session_start", timestamp=90000.0),
            user("hello", "greet", 0.99, "en"),
            BotUttered("Hi there!", timestamp=90001.0),
        )
    )
    assert len(sessions) == 2
    first, second = sessions
    greeting, asked, ok = first.turns
    assert greeting.event_id is None and greeting.replies == ["您好！我是安心。"]
    assert (asked.event_id, asked.text, asked.intent, asked.channel) == (
        5, "我想找个人说说话", "request_human", "wechat")  # fmt: skip
    assert asked.actions == ["action_handoff"] and asked.handed_off
    assert asked.replies == ["好的，我已经告诉工作人员了。"]
    assert ok.language == "zh" and ok.low_confidence(0.6) and not asked.low_confidence(0.6)
    [hello] = second.turns
    assert hello.language == "en" and hello.replies == ["Hi there!"]
    conversation = Conversation("s", sessions)
    assert conversation.handed_off and conversation.languages == ["zh", "en"]
    assert conversation.low_confidence_turns(0.6) == 1
    assert conversation.intents == ["request_human", "affirm", "greet"]


def test_rows_that_are_not_rasa_events_are_skipped() -> None:
    sessions = parse([(1, {}), (2, {"event": "user", "timestamp": "soon", "text": None}),
                      (3, {"event": "slot"}), (4, {"event": "bot", "text": ""})])  # fmt: skip
    [turn] = sessions[0].turns
    assert turn.text is None and turn.intent is None and turn.replies == []


def test_staff_replies_are_told_apart_from_the_assistants_and_masked_for_volunteers() -> None:
    from staff.redact import conversation as view

    sessions = parse(
        rows(
            ActionExecuted("action_listen", timestamp=1.0),
            user("我要找人工", "request_human", 0.95, "zh"),
            BotUttered("好的，我已经告诉工作人员了。", timestamp=2.0),
            BotUttered("王阿姨您好，我是小李。", metadata={"staff": "li"}, timestamp=3.0),
        )
    )
    [turn] = sessions[0].turns
    assert turn.replies == ["好的，我已经告诉工作人员了。"]
    assert turn.staff_replies == [{"by": "li", "text": "王阿姨您好，我是小李。"}]
    conversation = Conversation("s", sessions)
    full, masked = view(conversation, "staff", 0.6), view(conversation, "volunteer", 0.6)
    assert full["sessions"][0]["turns"][0]["staff_replies"][0]["text"] == "王阿姨您好，我是小李。"
    assert "小李" not in str(masked)
