"""Notifications for people on channels that cannot push: REST and voice.

WeChat and Telegram send the outbox (``m.Notification``) in their background rounds.
A REST client and a caller are only reachable while they are here, so their notices
are taken at that moment: the person behind the sender (``channel_identities``), each
pending notice claimed with one conditional UPDATE (``ChannelStore.claim``:
``delivered_at IS NULL``), so two requests at once, or a call and a poll, hand each
out once. Urgent ones come first.
"""

from __future__ import annotations

from typing import Any, Iterable, Optional

from care.channel_store import ChannelStore, Outgoing
from care.clock import Clock
from care.db import Database
from care.language import detect_language

# Said before a notice in a call, so the elder knows the centre speaks, not the assistant.
NOTICE_SAYS = {
    "zh": "您有一条服务中心的消息：{text}",
    "en": "A message from the care centre: {text}",
}


class Notices:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.store = ChannelStore(db, clock)

    def take(self, channel: str, external_id: str) -> list[Outgoing]:
        """The pending notices of whoever ``external_id`` is on ``channel``, each claimed
        for this caller and marked delivered on ``channel``: [] for a stranger."""
        return [
            n for n in self.store.outbox_of(channel, external_id)
            if self.store.claim(n.notification_id, channel)
        ]  # fmt: skip

    def give_back(self, notification_ids: Iterable[int]) -> None:
        """They were not heard after all (the call dropped first): back in the outbox."""
        for notification_id in notification_ids:
            self.store.unclaim(notification_id)


def as_spoken(text: str, language: Optional[str]) -> str:
    """A notice as a call says it, in the notice's own language when it has one."""
    said_in = detect_language(text) or language
    return NOTICE_SAYS["en" if said_in == "en" else "zh"].format(text=text.strip())


def as_rest(notice: Outgoing, sender: str) -> dict[str, Any]:
    """A notice in a REST answer: a message like the bot's, marked as the centre's."""
    return {
        "recipient_id": sender,
        "text": notice.message,
        "custom": {"notification": True, "kind": notice.kind, "urgent": notice.urgent},
    }
