"""The events-as-objects store gives back what Rasa's own in-memory store gives back."""

from __future__ import annotations

from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from anxin.tracker_store import EventsInMemoryTrackerStore

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, book_meal]
slots:
  meal:
    type: text
    mappings: [{type: from_text}]
responses:
  utter_greet: [{text: hi}]
"""
)


def conversation(sender: str) -> DialogueStateTracker:
    parse = {"intent": {"name": "greet", "confidence": 0.9}, "entities": [], "text": "你好"}
    events = [
        ActionExecuted("action_session_start", timestamp=1.0),
        SessionStarted(timestamp=1.1),
        ActionExecuted("action_listen", timestamp=1.2),
        UserUttered("你好", parse["intent"], [], parse, timestamp=2.0),
        BotUttered("hi", {"buttons": None}, timestamp=2.1),
        SlotSet("meal", "lunch", timestamp=2.2),
        ActionExecuted("action_listen", timestamp=2.3),
        # A second session: stores hand back only the last one.
        ActionExecuted("action_session_start", timestamp=9.0),
        SessionStarted(timestamp=9.1),
        SlotSet("meal", "lunch", timestamp=9.2),
        ActionExecuted("action_listen", timestamp=9.3),
        UserUttered("book", {"name": "book_meal", "confidence": 0.8}, [], timestamp=10.0),
    ]
    return DialogueStateTracker.from_events(sender, events, DOMAIN.slots)


async def test_retrieve_matches_rasas_in_memory_store():
    ours, rasas = EventsInMemoryTrackerStore(DOMAIN), InMemoryTrackerStore(DOMAIN)
    for store in (ours, rasas):
        await store.save(conversation("elder-1"))
    for fetch in ("retrieve", "retrieve_full_tracker"):
        mine = await getattr(ours, fetch)("elder-1")
        theirs = await getattr(rasas, fetch)("elder-1")
        assert mine.current_state() == theirs.current_state()
        assert mine.as_dialogue().as_dict() == theirs.as_dialogue().as_dict()
    last = await ours.retrieve("elder-1")
    assert len(last.events) < len((await ours.retrieve_full_tracker("elder-1")).events)
    assert last.get_slot("meal") == "lunch"
    assert list(await ours.keys()) == ["elder-1"]
    assert await ours.retrieve("nobody") is None
    assert await ours.retrieve_full_tracker("nobody") is None


async def test_an_unsaved_turn_leaves_the_stored_conversation_as_it_was():
    store = EventsInMemoryTrackerStore(DOMAIN)
    await store.save(conversation("elder-2"))
    before = (await store.retrieve_full_tracker("elder-2")).as_dialogue().as_dict()
    working = await store.retrieve("elder-2")
    working.update(SlotSet("meal", "dinner"))
    working.update(ActionExecuted("utter_greet"))
    after = await store.retrieve_full_tracker("elder-2")
    assert after.as_dialogue().as_dict() == before
    await store.save(working)
    assert (await store.retrieve("elder-2")).get_slot("meal") == "dinner"


async def test_only_the_last_session_whatever_came_before():
    full = list(conversation("x").events)
    variants = {
        "no session start": full[2:7],
        "events before the first start": full[2:7] + full[7:],
        "three sessions": full + full[7:],
    }
    for name, events in variants.items():
        ours, rasas = EventsInMemoryTrackerStore(DOMAIN), InMemoryTrackerStore(DOMAIN)
        tracker = DialogueStateTracker.from_events(name, events, DOMAIN.slots)
        for store in (ours, rasas):
            await store.save(tracker)
        mine, theirs = await ours.retrieve(name), await rasas.retrieve(name)
        assert mine.as_dialogue().as_dict() == theirs.as_dialogue().as_dict(), name
        assert mine.current_state() == theirs.current_state(), name
