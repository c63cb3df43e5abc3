"""Telegram updates kept in the inbox from their receipt until they are answered.

Telegram redelivers an update only while it gets no 2xx, so an update answered 200 and
then lost with its process is lost for good. Hence, before the webhook answers 200, the
update is taken in: its receipt (``update_id``, the redelivery dedup) and its inbox row
(the whole update, as Telegram sent it) in one transaction (``ChannelStore.take_in``),
the row leased to this process. The lease is renewed while the update waits behind its
chat's earlier updates and while its handlers and turn run, so a slow turn is never
started a second time; if the process dies, the lease lapses within seconds and the
retry round (``Turns.retry_held``, in this replica after a restart or in another one)
``replay``s the update through the same handlers.

How a row ends:

- its process died while it was being processed: set aside (quarantined) by the next round
  (``Turns.set_aside_crashed``), never replayed — a message that crashes the assistant must
  not crash it again at every restart. The work is marked in the database before it
  begins (``take_in`` when the update starts at once, ``begin`` when it first waited
  behind its chat's earlier updates, ``lease`` for a replay); the person is told, staff
  get an alert. An update that was only waiting when its process died is replayed;
- its turn answered: ``Turns`` marks it answered *before* the reply goes out, so a lease
  that lapsed and was answered elsewhere sends no second reply;
- the assistant could not answer now: ``Turns`` releases it, and a later round replays it;
- no turn was needed (``/lang``, a voice note with nothing heard, a group's message):
  answered once its handlers are done;
- a handler failed before any turn (the error handler says so): released, replayed later;
- the server stopped while it was processed (its task cancelled): released, replayed later.

The whole update is kept rather than the text of its turn because the text is only known
inside the handlers (a ``/start`` greets in the person's language, read from the
conversation; a voice note's words are Whisper's), and a crash may come before they run:
a replayed voice note is fetched from the Bot API and heard again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Awaitable, Optional

from telegram import Update
from telegram.ext import Application

from care.channel_store import ChannelStore, HeldMessage
from channels.telegram_update import unusable

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# A running update's hold on its row, renewed every third of it: short, so that after a
# crash another process answers within seconds; renewed, so a slow turn never runs twice.
TURN_LEASE_S = 20.0
ANSWERED_KEPT = timedelta(days=1)  # answered rows (what people wrote) are then dropped

ANSWERED = "answered"  # a turn answered it
HELD = "held"  # the assistant could not answer it now: released for a later round
DONE = "done"  # no turn was needed, and its handlers finished
FAILED = "failed"  # a handler failed before any turn: released for a later round


@dataclass
class Taken:
    """An update this process is working on, and what became of it."""

    inbox_id: int
    replay: bool = False  # taken again from the inbox (its callback query was answered)
    outcome: Optional[str] = None  # ANSWERED or HELD, set by Turns; None: no turn (yet)
    failed: bool = False  # a handler raised (reported by the application's error handler)


def said(data: dict[str, Any]) -> str:
    """What the person sent, for the row's text column (the update itself is in ``meta``)."""
    for key in ("message", "edited_message", "callback_query"):
        part = data.get(key)
        if isinstance(part, dict):
            value = part.get("data" if key == "callback_query" else "text")
            if isinstance(value, str):
                # A lone surrogate (valid JSON, never from Telegram) cannot be stored.
                return value.encode("utf-8", "replace").decode("utf-8")
    return ""


class Inbox:
    def __init__(
        self,
        store: ChannelStore,
        application: Optional[Application] = None,
        lease_s: float = TURN_LEASE_S,
    ) -> None:
        self.store = store
        self.application = application  # what replays updates; set when the channel runs
        self.lease_s = lease_s
        self._taken: dict[str, Taken] = {}  # str(update_id) → its row, while worked on here

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_s)

    def take(self, data: dict[str, Any], chat: str, working: bool = True) -> Optional[int]:
        """Receipt and row in one transaction, leased to us; None for a redelivery.
        ``working``: it is processed at once (else ``begin`` marks it when it is)."""
        key = str(data["update_id"])
        inbox_id = self.store.take_in(
            CHANNEL, key, chat, said(data), {"update": data}, self.lease, working
        )
        if inbox_id is not None:
            self._taken[key] = Taken(inbox_id)
        return inbox_id

    def begin(self, update_id: object) -> bool:
        """A taken update that waited its turn is processed now: marked so, in the
        database, before any handler runs. False when it needs no processing any more."""
        taken = self.of(update_id)
        return taken is None or self.store.begin(taken.inbox_id)

    def of(self, update_id: object) -> Optional[Taken]:
        return self._taken.get(str(update_id))

    def replaying(self, update_id: object) -> bool:
        taken = self.of(update_id)
        return taken is not None and taken.replay

    def failed(self, update_id: object) -> None:
        taken = self.of(update_id)
        if taken is not None:
            taken.failed = True

    async def process(self, update_id: int, work: Awaitable[Any]) -> Optional[str]:
        """Run a taken update's handlers under its renewed lease, then settle its row.

        Returns its outcome. Cancelled (the server stopping), it settles nothing: the lease
        lapses and a later round replays the update.
        """
        key = str(update_id)
        taken = self._taken[key]
        renewing = asyncio.ensure_future(self._renew(taken))
        try:
            await work
        except Exception as exc:
            log.warning("telegram: update %s failed: %s", update_id, type(exc).__name__)
            taken.failed = True
        except asyncio.CancelledError:
            # The server is stopping: no crash, so not set aside. Released, it is replayed.
            if taken.outcome is None:
                with contextlib.suppress(Exception):
                    self.store.release(taken.inbox_id)
            raise
        finally:
            renewing.cancel()
            if self._taken.get(key) is taken:
                del self._taken[key]
        if taken.outcome is not None:
            return taken.outcome  # Turns marked it answered, or released it
        try:
            if taken.failed:
                self.store.release(taken.inbox_id)
                return FAILED
            self.store.answered(taken.inbox_id)
            return DONE
        except Exception as exc:  # the database away: the lease lapses, a round replays it
            log.warning("telegram: update %s not settled: %s", update_id, type(exc).__name__)
            return FAILED

    async def _renew(self, taken: Taken) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            if taken.outcome is not None:
                return  # answered, or released for a later round: not ours to hold now
            try:
                if not self.store.renew(taken.inbox_id, self.lease):
                    return  # answered already
            except Exception as exc:  # the database away for a moment: try at the next beat
                log.warning("telegram: a lease was not renewed: %s", type(exc).__name__)

    async def replay(self, held: HeldMessage) -> Optional[str]:
        """Process a kept update again (its process died, or it was held): its outcome,
        None when another process (or this one, still finishing it) has it."""
        data = held.meta.get("update")
        if self.application is None or not isinstance(data, dict):
            return None
        key = str(data.get("update_id"))
        if key in self._taken or not self.store.lease(held.id, self.lease):
            return None
        try:
            # Checked as at the door: a row may have been kept before the door checked types.
            update = None if unusable(data) else Update.de_json(data, self.application.bot)
        except Exception as exc:  # it was read once at the door; counted toward staff
            log.warning("telegram: kept update %s unreadable: %s", held.id, type(exc).__name__)
            update = None
        if update is None:
            self.store.release(held.id)
            return FAILED
        self._taken[key] = Taken(held.id, replay=True)
        return await self.process(update.update_id, self.application.process_update(update))
