"""A Telegram message becomes a Rasa turn, and its replies go back, paced; nothing is lost.

- ``Assistant``: Rasa in this process (is its model loaded?) and the action server behind
  it (does ``/health`` answer?). A turn is only run when both are up, because a custom
  action that fails loses its events (PRODUCT.md).
- ``Sender``: every message out goes through python-telegram-bot's ``AIORateLimiter``
  (30/s overall, ``retry_after`` on 429) and, here, about one message a second per chat
  after a short burst.
- ``Turns``: one conversation at a time per chat. Every update is already in the inbox
  (``care.channels``) when its handlers call ``answer`` (channels/telegram_inbox.py): a
  turn that answers marks its row answered before the reply goes out; a message that
  cannot be answered now is released there, the person is told kindly, and
  ``retry_held`` replays it once the assistant is back — as it replays an update whose
  process died while it waited its turn. One whose process died while it was processed
  is set aside instead (``set_aside_crashed``): the person is told, staff get an alert,
  and it is never replayed into a crash loop. ``deliver_outbox`` sends what the dialogue
  queued for people on Telegram (a son's booking, an emergency, a consent question).

Logs carry ids and counts, never what people wrote or their chat ids at INFO.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from typing import Any, AsyncIterator, Awaitable, Callable, Optional

import httpx
from aiolimiter import AsyncLimiter
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from telegram import Bot
from telegram.error import Forbidden, TelegramError

from care.senders import external_for, sender_id
from care.services import CareServices
from care.staff_replies import StaffReplies
from channels.common import fit, user_message
from channels.telegram_inbox import ANSWERED, CHANNEL, DONE, HELD, Inbox, Taken
from channels.telegram_render import Reply, language_of, render, split_text, text
from channels.telegram_voice import VoiceNote, VoiceNotes

log = logging.getLogger(__name__)

# After this many failed tries a held message goes to staff instead (an alert).
MAX_ATTEMPTS = 5


def _app_language(meta: dict[str, Any]) -> Optional[str]:
    """The Telegram app's language of the person behind a kept update."""
    update = meta.get("update")
    for key in ("message", "edited_message", "callback_query"):
        part = update.get(key) if isinstance(update, dict) else None
        person = part.get("from") if isinstance(part, dict) else None
        if isinstance(person, dict) and isinstance(person.get("language_code"), str):
            return str(person["language_code"])
    return None


class TelegramCollector(CollectingOutputChannel):
    """Collects a turn's replies; named "telegram" so channel-specific responses apply."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL


class Assistant:
    """Rasa in this process, and the action server its custom actions need."""

    def __init__(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        agent: Callable[[], Any],
        health_timeout_s: float = 2.0,
    ) -> None:
        self._on_new_message = on_new_message
        self._agent = agent
        self._timeout = health_timeout_s

    async def ready(self) -> bool:
        agent = self._agent()
        if agent is None or not agent.is_ready():
            return False
        endpoint = getattr(agent, "action_endpoint", None)
        url = getattr(endpoint, "url", None)
        if not url:
            return True  # no custom actions configured: nothing else to wait for
        health = url.rsplit("/webhook", 1)[0].rstrip("/") + "/health"
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as client:
                return (await client.get(health)).status_code == 200
        except (httpx.HTTPError, OSError):
            return False

    async def language(self, chat_id: str) -> Optional[str]:
        """The ``language`` slot of this person's conversation, once they have said anything."""
        agent = self._agent()
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return None
        try:
            tracker = await store.retrieve(sender_id(CHANNEL, chat_id))
        except Exception as exc:
            log.warning("telegram: tracker not readable: %s", type(exc).__name__)
            return None
        if tracker is None or tracker.latest_message is None or not tracker.latest_message.text:
            return None
        language = tracker.get_slot("language")
        return str(language) if language in ("zh", "en") else None

    async def turn(
        self, chat_id: str, message: str, message_id: str, metadata: dict[str, Any]
    ) -> list[dict[str, Any]]:
        collector = TelegramCollector()
        await self._on_new_message(
            user_message(message, collector, chat_id, CHANNEL, message_id, metadata)
        )
        return list(collector.messages)


class Sender:
    """Telegram messages out: the application bot's rate limiter, plus pacing per chat."""

    def __init__(self, bot: Bot, burst: int = 3, period_s: float = 3.0, chats: int = 10_000):
        self.bot = bot
        self._burst, self._period, self._chats = burst, period_s, chats
        self._limiters: OrderedDict[int, AsyncLimiter] = OrderedDict()

    def _limiter(self, chat_id: int) -> AsyncLimiter:
        limiter = self._limiters.pop(chat_id, None) or AsyncLimiter(self._burst, self._period)
        self._limiters[chat_id] = limiter
        while len(self._limiters) > self._chats:
            self._limiters.popitem(last=False)
        return limiter

    async def send(self, chat_id: int, replies: list[Reply]) -> None:
        for reply in replies:
            async with self._limiter(chat_id):
                await self.bot.send_message(chat_id, reply.text, reply_markup=reply.keyboard)

    async def send_voice(self, chat_id: int, note: VoiceNote) -> None:
        async with self._limiter(chat_id):
            await self.bot.send_voice(
                chat_id, note.ogg, duration=note.seconds, filename="anxin.ogg"
            )


class Turns:
    def __init__(
        self,
        assistant: Assistant,
        sender: Sender,
        care: CareServices,
        inbox: Optional[Inbox] = None,
        voice: Optional[VoiceNotes] = None,
    ) -> None:
        self.assistant = assistant
        self.sender = sender
        self.care = care
        self.inbox = inbox or Inbox(care.channels)
        self.voice = voice
        self._locks: dict[int, tuple[asyncio.Lock, list[int]]] = {}  # lock, users
        self._waiting: set[int] = set()  # chats with held messages: new ones queue behind
        self._loaded = False
        self._refused: set[int] = set()  # notifications a person's Telegram refused

    @contextlib.asynccontextmanager
    async def _one_at_a_time(self, chat_id: int) -> AsyncIterator[None]:
        """One turn per chat at a time, in arrival order; the lock goes when nobody waits."""
        lock, users = self._locks.setdefault(chat_id, (asyncio.Lock(), [0]))
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[chat_id]

    def _load_waiting(self) -> None:
        if not self._loaded:
            self._waiting = self._chats_waiting()
            self._loaded = True

    def _chats_waiting(self) -> set[int]:
        """Chats with a row nobody is answering: a kept message, or one whose process died
        (once its lease lapsed). A new message there queues behind it. Rows leased to a
        turn running here or in another replica are not waiting: they are being answered."""
        return {
            int(h.sender_id)
            for h in self.care.channels.waiting(CHANNEL, 1000)
            if h.sender_id.lstrip("-").isdigit()
        }

    async def language(self, chat_id: int, app_language: Optional[str] = None) -> str:
        """The language to speak outside Rasa's replies: the conversation's, the person's
        in care/, else their Telegram app's (Chinese first)."""
        return language_of(app_language, await self.known_language(chat_id))

    async def known_language(self, chat_id: int) -> Optional[str]:
        """The conversation's language, else the person's in care/; None for a stranger."""
        known = await self.assistant.language(str(chat_id))
        if known is None:
            person = self.care.people.find_by_identity(CHANNEL, str(chat_id))
            known = person.preferred_language if person is not None else None
        return known

    async def answer(
        self,
        chat_id: int,
        message: str,
        message_id: str,
        app_language: Optional[str] = None,
        aloud: Optional[str] = None,
    ) -> None:
        """One message from a person: answered now, or kept and answered later.

        ``message_id`` is the update's id: its row in the inbox (``self.inbox``), taken
        in at the webhook, is what says it was answered, or lets it be answered later.
        ``aloud``: the person spoke (in that language), so the answer is also a voice note.
        """
        meta = {"message_id": message_id}
        taken = self.inbox.of(message_id)
        fitted = await fit(message)
        if fitted.reply is not None:  # too long, and no danger in it: said here
            await self._answer_here(chat_id, fitted.reply, taken)
            return
        message = fitted.text  # the part around danger words of an over-long one
        # A replayed update is the one the chat was waiting for: it goes first.
        queued = taken is None or not taken.replay
        async with self._one_at_a_time(chat_id):
            self._load_waiting()
            if app_language:
                meta["app_language"] = app_language
            if (queued and chat_id in self._waiting) or not await self.assistant.ready():
                await self._hold(chat_id, message, meta, taken)
                return
            try:
                replies = await self.assistant.turn(str(chat_id), message, message_id, meta)
            except Exception as exc:  # its kind only: an error's message can quote the text
                log.warning("telegram: a turn failed (%s); the message is kept",
                            type(exc).__name__)  # fmt: skip
                await self._hold(chat_id, message, meta, taken)
                return
            if not replies and not await self.assistant.ready():
                await self._hold(chat_id, message, meta, taken)  # it went down during the turn
                return
            if taken is not None:
                # Answered before the reply goes out: after a crash in between, the
                # recovery must not run the turn again (at most one reply, never two).
                first = self.care.channels.answered(taken.inbox_id)
                taken.outcome = ANSWERED
                if not first:
                    return  # our lease lapsed and another process answered it
        await self._send_quietly(chat_id, render(replies))
        if aloud is not None:
            await self.say_aloud(chat_id, replies, aloud)

    async def _answer_here(self, chat_id: int, reply: str, taken: Optional[Taken]) -> None:
        """Answer without a turn (an over-long message), after the chat's earlier turns."""
        log.info("telegram: an over-long message answered without a turn")
        async with self._one_at_a_time(chat_id):
            if taken is not None:
                taken.outcome = ANSWERED
                if not self.care.channels.answered(taken.inbox_id):
                    return  # another process answered it
        await self._send_quietly(chat_id, [Reply(reply)])

    async def say_aloud(self, chat_id: int, messages: list[dict[str, Any]], language: str) -> None:
        """The same answer as a voice note, after its text: a voice that fails (no
        synthesizer, an encoder error, Telegram refusing it) costs the person nothing."""
        if self.voice is None:
            return
        try:
            note = await self.voice.say(messages, language)
            if note is not None:
                await self.sender.send_voice(chat_id, note)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("telegram: the answer was not sent as voice: %s", type(exc).__name__)

    async def _hold(
        self, chat_id: int, message: str, meta: dict[str, Any], taken: Optional[Taken]
    ) -> None:
        first = chat_id not in self._waiting
        if taken is None:  # not taken in at the webhook (no update behind it): keep it now
            held = self.care.channels.hold(CHANNEL, str(chat_id), message, meta)
        else:  # its row keeps the update: released, the next round replays it
            taken.outcome = HELD
            self.care.channels.release(taken.inbox_id)
            held = taken.inbox_id
        self._waiting.add(chat_id)
        log.info("telegram: message held (inbox %s)", held)
        if first:
            language = await self.language(chat_id, meta.get("app_language"))
            try:
                await self.sender.send(chat_id, [Reply(text("answer_soon", language))])
            except TelegramError as exc:
                log.warning("telegram: could not say we will answer soon: %s", type(exc).__name__)

    async def set_aside_crashed(self) -> int:
        """Quarantine the updates whose process died while they were processed (staff get
        an alert with each, in the same transaction) and tell each person, in their
        language, to send it again or call the centre. Returns how many."""
        aside = self.care.channels.set_aside_crashed(CHANNEL)
        for item in aside:
            log.warning("telegram: inbox %s set aside: its process died handling it", item.id)
            if not item.sender_id.lstrip("-").isdigit():
                continue  # no chat to answer (a group or channel post)
            chat_id = int(item.sender_id)
            language = await self.language(chat_id, _app_language(item.meta))
            said = text("set_aside", language).format(hotline=self.care.settings.centre_hotline)
            await self._send_quietly(chat_id, [Reply(said)])
        if aside:
            self._waiting = self._chats_waiting()  # their chats no longer wait for them
        return len(aside)

    async def retry_held(self) -> int:
        """Answer what nobody is answering, oldest first, once the assistant is up: held
        messages and updates whose process died while they waited (those whose process
        died while they were processed are set aside first). Returns how many."""
        await self.set_aside_crashed()
        self._load_waiting()
        # Only rows nobody holds: a turn still running is no reason to probe the assistant.
        held = self.care.channels.waiting(CHANNEL)
        if not held or not await self.assistant.ready():
            return 0
        done = 0
        for item in held:
            if "update" in item.meta:
                outcome = await self.inbox.replay(item)
                if outcome in (ANSWERED, DONE):
                    done += 1
                elif outcome is not None:  # held or failed again
                    if not await self.assistant.ready():
                        break
                    if item.attempts + 1 >= MAX_ATTEMPTS:
                        self._to_staff(item.id, item.sender_id)
                continue
            # A message kept by ``hold`` (no update behind it, e.g. from before updates
            # were kept whole): its turn's text is the row's.
            chat_id = int(item.sender_id)
            message_id = str(item.meta.get("message_id") or f"held-{item.id}")
            async with self._one_at_a_time(chat_id):
                if not self.care.channels.lease(item.id):
                    continue  # another worker or replica is answering it
                try:
                    replies = await self.assistant.turn(
                        item.sender_id, item.text, message_id, dict(item.meta)
                    )
                except Exception as exc:
                    log.warning("telegram: held message %s failed again: %s", item.id,
                                type(exc).__name__)  # fmt: skip
                    self.care.channels.release(item.id)
                    if item.attempts + 1 >= MAX_ATTEMPTS:
                        self._to_staff(item.id, item.sender_id)
                    continue
                if not replies and not await self.assistant.ready():
                    self.care.channels.release(item.id)
                    break
                if not self.care.channels.answered(item.id):
                    continue  # another process answered it
            done += 1
            await self._send_quietly(chat_id, render(replies))
        self._waiting = self._chats_waiting()
        if done:
            log.info("telegram: %d held message(s) answered", done)
        return done

    def _to_staff(self, inbox_id: int, chat_id: str) -> None:
        if self.care.channels.answered(inbox_id):
            person = self.care.people.find_by_identity(CHANNEL, chat_id)
            self.care.alerts.raise_alert(
                "handoff",
                "A Telegram message the assistant could not answer: please reply in person.",
                person_id=person.id if person else None,
                conversation_id=sender_id(CHANNEL, chat_id),
                channel=CHANNEL,
            )

    async def deliver_outbox(self) -> int:
        """Send queued notifications to people on Telegram: claimed first, given back on failure."""
        sent = 0
        for item in self.care.channels.outbox(CHANNEL):
            if item.notification_id in self._refused or not item.external_id.lstrip("-").isdigit():
                continue
            if not self.care.channels.claim(item.notification_id, CHANNEL):
                continue
            try:
                await self.sender.send(
                    int(item.external_id), [Reply(p) for p in split_text(item.message)]
                )
            except Forbidden:
                # They blocked the bot: leave it to another channel (or staff) to reach them.
                self.care.channels.unclaim(item.notification_id)
                self._refused.add(item.notification_id)
                log.warning("telegram: notification %s refused", item.notification_id)
                continue
            except Exception as exc:
                self.care.channels.unclaim(item.notification_id)
                log.warning("telegram: notification %s not sent: %s", item.notification_id,
                            type(exc).__name__)  # fmt: skip
                break
            sent += 1
        return sent + await self._deliver_staff_replies()

    async def _deliver_staff_replies(self) -> int:
        """Staff replies in a handed-off conversation (``telegram:<chat id>``)."""
        replies, sent = StaffReplies(self.care.db, self.care.clock), 0
        for reply in replies.pending(CHANNEL):
            chat = external_for(CHANNEL, reply.conversation_id) or ""
            if not chat.lstrip("-").isdigit() or not replies.claim(reply.id):
                continue
            try:
                await self.sender.send(int(chat), [Reply(p) for p in split_text(reply.text)])
            except Exception as exc:
                replies.unclaim(reply.id)
                log.warning("telegram: staff reply %s not sent: %s", reply.id, type(exc).__name__)
                break
            sent += 1
        return sent

    async def _send_quietly(self, chat_id: int, replies: list[Reply]) -> None:
        try:
            await self.sender.send(chat_id, replies)
        except TelegramError as exc:
            log.warning("telegram: reply not sent: %s", type(exc).__name__)
