"""An in-memory tracker store that keeps events as objects, not as JSON text.

Rasa's ``InMemoryTrackerStore`` serialises the whole tracker to JSON on every save
and parses it back on every retrieve: in a booking conversation that round trip
(``json``, ``Event.from_parameters`` walking every Event subclass per event) was
about a tenth of the Rasa server's CPU per message (py-spy, docs/benchmarks.md).
Here a save keeps the tracker's events as an immutable tuple and a retrieve
replays them into a fresh tracker, as Rasa's own ``copy()`` does: the replayed
tracker shares the event objects (Rasa treats them as values) but appends to its
own event list, so a turn that fails before it is saved leaves the store as it was.

Used when no ``ANXIN_REDIS_URL`` is set (one Rasa process); with Redis, replicas
share conversations through Rasa's Redis store instead.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.conversation import Dialogue
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import (
    DialogueStateTracker,
    get_trackers_for_conversation_sessions,
)

logger = logging.getLogger(__name__)


class EventsInMemoryTrackerStore(TrackerStore):
    """Conversations of one process, kept as tuples of Rasa events."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        event_broker: Optional[EventBroker] = None,
        **kwargs: Any,
    ) -> None:
        self.conversations: dict[str, tuple[Event, ...]] = {}
        super().__init__(domain, event_broker, **kwargs)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        self.conversations[tracker.sender_id] = tuple(tracker.events)

    async def keys(self) -> Iterable[str]:
        return list(self.conversations)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The conversation's last session, as Rasa's stores return it."""
        tracker = self._replay(sender_id)
        if tracker is None:
            return None
        sessions = get_trackers_for_conversation_sessions(tracker)
        return sessions[-1] if len(sessions) > 1 else tracker

    async def retrieve_full_tracker(self, sender_id: str) -> Optional[DialogueStateTracker]:
        return self._replay(sender_id)

    def _replay(self, sender_id: str) -> Optional[DialogueStateTracker]:
        events = self.conversations.get(sender_id)
        if events is None:
            return None
        tracker = self.init_tracker(sender_id)
        tracker.recreate_from_dialogue(Dialogue(sender_id, list(events)))
        return tracker
