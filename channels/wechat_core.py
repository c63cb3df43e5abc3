"""The WeChat channel without its web server: receive a callback, answer within 5 s.

``receive`` is the whole request path (verify → decode → parse → map → reply), so it is
tested and fuzzed without Sanic. The Rasa turn runs on a collecting output channel: a
turn that ends before ``passive_deadline_s`` is answered passively; a slower one gets
``success`` at once and its replies go out through the customer-service API.

A message that needs a turn is taken in durably before the turn starts: its receipt (the
retry dedup) and its inbox row in one transaction, the row leased to this process and the
lease renewed while the turn runs, and the row marked as being worked on in that same
insert. A turn that cannot answer (it raises, or says nothing while the action server is
down) releases the lease, and ``poll`` answers the message once the assistant is back,
exactly once. A process that dies mid-turn lets the lease lapse with the mark still on:
``poll`` sets that message aside (quarantined, a staff alert) and asks the person to send
it again, rather than replaying what may be the message that killed it. A turn still
running after ``PATIENCE_S`` (a hung action server) tells the person we will answer
shortly, and its answer follows when it ends.

A voice message is heard when its turn runs (``channels.wechat_voice``: WeChat's own
Recognition when the account has it, else the media transcribed), so a held one is heard
again later. When the person spoke, the text answer is followed by the same answer as a
voice message, sent on its own so that it can fail without costing the text.

Replays are refused before anything else: a timestamp outside 5 minutes (403, in
channels.wechat_xml), or a ``(timestamp, nonce)`` that already signed another message
(403, care.nonces); WeChat's own retries carry the same pair and the same message and
are answered as before, once by MsgId.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Awaitable, Callable, Mapping, Optional, Sequence, TypeVar

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sqlalchemy.exc import SQLAlchemyError
from wechatpy.crypto import WeChatCrypto

from care import address_hints
from care.errors import DatabaseUnavailable
from care.nonces import Nonces, message_digest
from care.services import CareServices
from channels import wechat_background as background
from channels.common import fit, user_message
from channels.config import WeChatSettings
from channels.wechat_api import WeChatAPI
from channels.wechat_background import CHANNEL
from channels.wechat_text import say
from channels.wechat_voice import WeChatVoice
from channels.wechat_xml import (
    Incoming,
    Rejected,
    decode,
    pack,
    parse,
    passive_reply,
    render_messages,
    signed_at,
    verify_get,
)

log = logging.getLogger(__name__)

SUCCESS = "success"  # WeChat: "received, no passive reply, do not retry"
# What a URL verification "carried", for the nonce it used (care/nonces.py).
VERIFICATION = "url-verification"
REMEMBER_S = 120.0  # WeChat retries within ~15 s; an answer is kept this long for a retry
AFTER_PASSIVE_S = 0.3  # the rest of a long answer follows the passive reply
PATIENCE_S = 8.0  # a turn still running this long after the message: "we will answer shortly"
# A running turn's hold on its message, renewed every third of it: short, so that after a
# crash another process answers within seconds; renewed, so a slow turn never runs twice.
TURN_LEASE_S = 20.0

T = TypeVar("T")

Handler = Callable[[UserMessage], Awaitable[Any]]


@dataclass(frozen=True)
class Reply:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


async def _always(*_: Any) -> bool:
    return True


async def _chinese(_: str) -> str:
    return "zh"


async def _unknown(_: str) -> Optional[str]:
    return None


class WeChatCore:
    def __init__(
        self,
        settings: WeChatSettings,
        care: CareServices,
        api: WeChatAPI,
        handler: Optional[Handler] = None,
        assistant_up: Callable[[], Awaitable[bool]] = _always,
        language_of: Callable[[str], Awaitable[str]] = _chinese,
        voice: Optional[WeChatVoice] = None,  # None: voice messages get "please type"
        known_language: Callable[[str], Awaitable[Optional[str]]] = _unknown,
        now: Callable[[], float] = time.time,  # WeChat's clock: signatures' timestamps
    ) -> None:
        self.settings = settings
        self.now = now
        self.nonces = Nonces(care.db)
        self.care = care
        self.store = care.channels
        self.api = api
        self.handler = handler
        self.assistant_up = assistant_up
        self.language_of = language_of
        self.voice = voice
        self.known_language = known_language  # a transcription hint: None lets Whisper detect
        self.turn_lease_s = TURN_LEASE_S
        self.crypto = (
            WeChatCrypto(settings.token, settings.aes_key, settings.app_id)
            if settings.aes_key
            else None
        )
        # key → the passive answer (None: answered by `success`), for retries in this process
        self._answers: OrderedDict[str, tuple[float, asyncio.Future[Optional[str]]]] = OrderedDict()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._hinted: set[str] = set()  # openids with a location kept until they are known

    # The request path -------------------------------------------------------------

    async def verify(self, args: Mapping[str, str]) -> Reply:
        """URL verification: the echostr back, once per signed query string (a retry with
        the same echostr is WeChat's; the pair reused for anything else is a replay)."""
        try:
            echo = verify_get(self.settings.token, args, self.now())
        except Rejected as rejected:
            log.info("WeChat URL verification refused: %s", rejected.reason)
            return Reply(rejected.status, "")
        timestamp, nonce = signed_at(args)
        digest = message_digest(VERIFICATION, echo)
        try:
            first = await asyncio.to_thread(self.nonces.first_use, timestamp, nonce, digest)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.warning("WeChat nonce not checked: %s", type(exc).__name__)
            return Reply(503, "")
        if not first:
            log.info("WeChat URL verification refused (403): a signed query string reused")
            return Reply(403, "")
        return Reply(200, echo)

    async def receive(self, args: Mapping[str, str], body: bytes) -> Reply:
        started = time.monotonic()
        try:
            xml, encrypted = decode(self.settings.token, args, body, self.crypto, self.now())
            incoming = parse(xml)
        except Rejected as rejected:
            log.info("WeChat callback refused (%d): %s", rejected.status, rejected.reason)
            return Reply(rejected.status, "")
        refused = await self._replayed(args, incoming)
        if refused is not None:
            return refused
        text = await self.answer(incoming, started)
        if not text:
            return Reply(200, SUCCESS)
        xml = passive_reply(incoming, text)
        if encrypted and self.crypto is not None:
            xml = self.crypto.encrypt_message(xml, args["nonce"], args["timestamp"])
        return Reply(200, xml, "application/xml; charset=utf-8")

    async def _replayed(self, args: Mapping[str, str], incoming: Incoming) -> Optional[Reply]:
        """403 when this signed query string already carried another message; 503 when
        that cannot be known now (WeChat retries, with the same query string)."""
        timestamp, nonce = signed_at(args)
        digest = message_digest(incoming.openid, incoming.key)
        try:
            first = await asyncio.to_thread(self.nonces.first_use, timestamp, nonce, digest)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.warning("WeChat nonce not checked: %s", type(exc).__name__)
            return Reply(503, "")
        if first:
            return None
        log.info("WeChat callback refused (403): a signed query string reused")
        return Reply(403, "")

    async def answer(self, incoming: Incoming, started: float) -> Optional[str]:
        """The passive answer to a message (None: `success`), once per message key."""
        deadline = started + self.settings.passive_deadline_s
        known = self._answers.get(incoming.key)
        if known is not None:  # a retry of a message this process is answering or answered
            try:
                remaining = max(0.0, deadline - time.monotonic())
                return await asyncio.wait_for(asyncio.shield(known[1]), remaining)
            except asyncio.TimeoutError:
                return None
        future: asyncio.Future[Optional[str]] = asyncio.get_running_loop().create_future()
        self._remember(incoming.key, future)
        try:
            fitted = await fit(incoming.text) if incoming.kind == "text" else None
            if fitted is not None and fitted.reply is not None:
                # Too long, and no danger in it: answered kindly, without a turn.
                log.info("an over-long WeChat message answered without a turn")
                first = await asyncio.to_thread(self.store.first_delivery, CHANNEL, incoming.key)
                text = fitted.reply if first else None
            elif self._needs_turn(incoming):
                if fitted is not None:  # the part around danger words of an over-long one
                    incoming = replace(incoming, text=fitted.text)
                # Kept before the turn, in the same transaction as the receipt: a crash
                # after the receipt alone made the retry a duplicate and lost the message.
                lease = timedelta(seconds=self.turn_lease_s)
                inbox_id = await asyncio.to_thread(
                    self.store.take_in, CHANNEL, incoming.key, incoming.openid,
                    incoming.text, self._meta(incoming), lease,
                )  # fmt: skip
                text = None if inbox_id is None else await self._turn(incoming, inbox_id, deadline)
            else:
                # No turn: the answer is immediate and cheap, a receipt is enough.
                first = await asyncio.to_thread(self.store.first_delivery, CHANNEL, incoming.key)
                text = await self._answer(incoming) if first else None
        except Exception as exc:  # its kind only: an error's message can quote the text
            log.error("answering a WeChat message failed: %s", type(exc).__name__)
            text = None
        future.set_result(text)
        return text

    def _remember(self, key: str, future: asyncio.Future[Optional[str]]) -> None:
        now = time.monotonic()
        while self._answers and next(iter(self._answers.values()))[0] < now - REMEMBER_S:
            self._answers.popitem(last=False)
        self._answers[key] = (now, future)

    def _needs_turn(self, incoming: Incoming) -> bool:
        if incoming.kind == "text":
            return bool(incoming.text)
        return incoming.kind == "voice" and self.voice is not None and self.voice.hears

    def _meta(self, incoming: Incoming) -> dict[str, Any]:
        meta: dict[str, Any] = {"message_id": incoming.key}
        if incoming.media_id:  # the person spoke (WeChat's Recognition or not): answer aloud too
            meta["voice"] = True
        if incoming.kind == "voice":  # transcribed when its turn runs, a held one's too
            meta.update(media_id=incoming.media_id, format=str(incoming.extra.get("format", "")))
        return meta

    async def _answer(self, incoming: Incoming) -> Optional[str]:
        """The answer to a message that runs no turn (events, locations, images ...)."""
        kind = incoming.kind
        if kind == "unsubscribe":
            return None
        language = await self.language_of(incoming.openid)
        if kind == "subscribe":
            return say("welcome", language)
        if kind == "location":
            return await self._location(incoming, language)
        return say("voice" if kind == "voice" else "other", language)

    async def _location(self, incoming: Incoming, language: str) -> str:
        lat, lon = incoming.extra["latitude"], incoming.extra["longitude"]
        label = incoming.extra["label"] or f"{lat},{lon}"
        hint = address_hints.describe(label, lat, lon)
        db, clock = self.care.db, self.care.clock
        if not await asyncio.to_thread(
            address_hints.note, db, clock, CHANNEL, incoming.openid, hint
        ):
            self._hinted.add(incoming.openid)  # kept until they are known (their first booking)
        return say("location_saved", language, label=label)

    # A Rasa turn ------------------------------------------------------------------

    async def _turn(self, incoming: Incoming, inbox_id: int, deadline: float) -> Optional[str]:
        """The turn of a message taken in as ``inbox_id`` (leased to us)."""
        turn = self._run(incoming.openid, incoming.text, self._meta(incoming))
        spoken = bool(self._meta(incoming).get("voice"))
        task = self._spawn(self._leased(inbox_id, turn))
        try:
            remaining = max(0.0, deadline - time.monotonic())
            messages = await asyncio.wait_for(asyncio.shield(task), remaining)
        except asyncio.TimeoutError:
            log.info("a WeChat turn passed the deadline: answering through the API")
            self._spawn(self._deliver_late(incoming, inbox_id, task, spoken))
            return None
        except Exception as exc:  # Rasa not ready, the tracker store down ...
            log.warning("a WeChat turn failed: %s", type(exc).__name__)
            return await self._later(incoming, inbox_id, "turn failed")
        texts = pack(render_messages(messages))
        if not texts and not await self._up():
            # Rasa carries on when a custom action cannot be reached: nothing was said.
            return await self._later(incoming, inbox_id, "no answer and the action server is down")
        if not await asyncio.to_thread(self.store.answered, inbox_id):
            return None  # our lease lapsed and another process answered it: no second reply
        if len(texts) > 1 or (spoken and texts):
            # The passive reply carries the first text; the rest, then the voice, follow.
            speak = texts if spoken else []
            self._spawn(self._send(incoming.openid, texts[1:], AFTER_PASSIVE_S, speak))
        return texts[0] if texts else None

    async def _run(self, openid: str, text: str, meta: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The turn of a kept message: its text, or its voice message transcribed."""
        if meta.get("media_id") and self.voice is not None:
            hint = await self.known_language(openid)
            media, fmt, key = str(meta["media_id"]), str(meta.get("format", "")), meta["message_id"]
            heard = await self.voice.hear(media, fmt, hint, openid, str(key))
            if not heard.text:  # nothing to understand: a gentle re-ask, no Rasa turn
                return [{"text": say(heard.problem, hint or await self.language_of(openid))}]
            text = heard.text
        return await self.run_turn(openid, text, str(meta["message_id"]))

    async def _leased(self, inbox_id: int, work: Awaitable[T]) -> T:
        """Run a message's turn, renewing its lease meanwhile: no other process starts it
        again however long it runs, and if this process dies the lease lapses."""
        renewing = asyncio.ensure_future(self._renew(inbox_id))
        try:
            return await work
        except asyncio.CancelledError:
            # The server is stopping (``close``): no crash, so it is not set aside but
            # released, and answered after the restart.
            with contextlib.suppress(Exception):
                self.store.release(inbox_id)
            raise
        finally:
            renewing.cancel()

    async def _renew(self, inbox_id: int) -> None:
        while True:
            await asyncio.sleep(self.turn_lease_s / 3)
            try:
                lease = timedelta(seconds=self.turn_lease_s)
                await asyncio.to_thread(self.store.renew, inbox_id, lease)
            except Exception as exc:  # the database away for a moment: try at the next beat
                log.warning("a WeChat turn's lease was not renewed: %r", exc)

    async def run_turn(self, openid: str, text: str, message_id: str) -> list[dict[str, Any]]:
        """Rasa's turn for one message; the message id keeps a retried booking single."""
        if self.handler is None:
            raise RuntimeError("the WeChat channel has no Rasa handler yet")
        collector = CollectingOutputChannel()
        await self.handler(user_message(text, collector, openid, CHANNEL, message_id=message_id))
        if openid in self._hinted:
            db, clock = self.care.db, self.care.clock
            if await asyncio.to_thread(address_hints.apply_pending, db, clock, CHANNEL, openid):
                self._hinted.discard(openid)
        return list(collector.messages)

    async def _up(self, timeout: float = 1.0) -> bool:
        try:
            return await asyncio.wait_for(self.assistant_up(), timeout)
        except asyncio.TimeoutError:
            return False

    async def _later(self, incoming: Incoming, inbox_id: int, why: str) -> str:
        """The turn could not answer: its message stays in the inbox for ``poll``."""
        log.warning("WeChat message held for a later answer: %s", why)
        await asyncio.to_thread(self.store.release, inbox_id)
        return say("later", await self.language_of(incoming.openid))

    async def _deliver_late(
        self, incoming: Incoming, inbox_id: int, task: asyncio.Task[Any], spoken: bool = False
    ) -> None:
        """A slow turn's replies, through the API; a hung one gets a kind word meanwhile."""
        done, _ = await asyncio.wait({task}, timeout=PATIENCE_S)
        if not done:
            await self._send(
                incoming.openid, [say("later", await self.language_of(incoming.openid))]
            )
            await asyncio.wait({task})
        if task.cancelled() or task.exception() is not None:
            failure = "cancelled" if task.cancelled() else type(task.exception()).__name__
            log.warning("a slow WeChat turn failed: %s", failure)
            later = await self._later(incoming, inbox_id, "slow turn failed")
            await self._send(incoming.openid, [later])
            return
        texts = pack(render_messages(task.result()))
        if not texts and not await self._up():
            later = await self._later(incoming, inbox_id, "no answer, action server down")
            await self._send(incoming.openid, [later])
            return
        if await asyncio.to_thread(self.store.answered, inbox_id):
            await self._send(incoming.openid, texts, speak=texts if spoken else [])

    async def _send(
        self, openid: str, texts: list[str], after: float = 0.0, speak: Sequence[str] = ()
    ) -> bool:
        """Texts through the customer-service API, then ``speak`` as a voice message."""
        if after:
            await asyncio.sleep(after)
        sent = True
        try:
            for text in texts:
                await self.api.send_text(openid, text)
        except Exception as exc:  # the 48-hour window, the network: logged, not raised
            log.warning("a WeChat customer-service message was not sent: %s", exc)
            sent = False
        if speak and self.voice is not None:  # after the text, which it never holds up
            await self.voice.speak(openid, speak)
        return sent

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # In the background --------------------------------------------------------------

    async def poll(self) -> None:
        """Deliver the outbox, then answer held messages if the assistant is back."""
        await self.deliver_outbox()
        await self.answer_held()

    # The background's work lives in channels.wechat_background; these are its entries.

    async def deliver_outbox(self) -> int:
        return await background.deliver_outbox(self)

    async def answer_held(self) -> int:
        return await background.answer_held(self)

    async def run_forever(self) -> None:
        await background.run_forever(self)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await self.api.close()
