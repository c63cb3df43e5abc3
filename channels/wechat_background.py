"""The WeChat channel's background round: the outbox, and the messages held for later.

Family notifications queued by ``care`` (the outbox) go out through the customer-service
API, each claimed by one process. Messages whose turn could not answer (Rasa or the action
server down) are answered once the assistant is back, exactly once — a voice message with
its voice reply too. A message whose process died mid-turn is set aside instead
(quarantined, with a staff alert), and the person is asked to send it again: replayed, a
message that crashes the assistant would crash it at every restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from care.senders import external_for
from care.staff_replies import StaffReplies
from channels.wechat_text import say
from channels.wechat_xml import pack, render_messages

if TYPE_CHECKING:
    from channels.wechat_core import WeChatCore

log = logging.getLogger(__name__)

CHANNEL = "wechat"
ANSWERED_KEPT = timedelta(days=1)  # answered inbox rows (what people wrote) are then dropped
SET_ASIDE_KEPT = timedelta(days=30)  # messages set aside after a crash, for staff to look into
CLEANUP_S = 3600.0


async def deliver_outbox(core: WeChatCore) -> int:
    store = core.store
    sent = 0
    for item in await asyncio.to_thread(store.outbox, CHANNEL):
        if not await asyncio.to_thread(store.claim, item.notification_id, CHANNEL):
            continue  # another process has it
        if await core._send(item.external_id, [item.message]):
            sent += 1
        else:
            await asyncio.to_thread(store.unclaim, item.notification_id)
    # Staff replies in a handed-off conversation (``wechat:<openid>``).
    replies = StaffReplies(store.db, store.clock)
    for reply in await asyncio.to_thread(replies.pending, CHANNEL):
        openid = external_for(CHANNEL, reply.conversation_id)
        if openid is None or not await asyncio.to_thread(replies.claim, reply.id):
            continue
        if await core._send(openid, [reply.text]):
            sent += 1
        else:
            await asyncio.to_thread(replies.unclaim, reply.id)
    return sent


async def set_aside_crashed(core: WeChatCore) -> int:
    """Quarantine the messages whose process died while they were handled (staff get an
    alert with each), and tell each person to send it again or call the centre."""
    aside = await asyncio.to_thread(core.store.set_aside_crashed, CHANNEL)
    for message in aside:
        log.warning("WeChat inbox %s set aside: its process died handling it", message.id)
        language = await core.language_of(message.sender_id)
        hotline = core.care.settings.centre_hotline
        await core._send(message.sender_id, [say("set_aside", language, hotline=hotline)])
    return len(aside)


async def answer_held(core: WeChatCore) -> int:
    store = core.store
    # A message that crashed its process is never replayed into a crash loop.
    await set_aside_crashed(core)
    # Only what nobody is answering: a running turn's message is no reason to probe
    # the action server (a hung one piles every probe up in its accept queue).
    held = await asyncio.to_thread(store.waiting, CHANNEL)
    if not held or not await core._up():
        return 0
    answered = 0
    for message in held:
        lease = timedelta(seconds=core.turn_lease_s)
        if not await asyncio.to_thread(store.lease, message.id, lease):
            continue  # its turn is running here, in another worker or on a replica
        meta = {**message.meta}
        meta["message_id"] = str(meta.get("message_id") or f"held:{message.id}")
        try:
            turn = core._run(message.sender_id, message.text, meta)
            replies = await core._leased(message.id, turn)
        except Exception as exc:
            log.warning("a held WeChat message still cannot be answered: %s", type(exc).__name__)
            await asyncio.to_thread(store.release, message.id)
            return answered
        texts = pack(render_messages(replies))
        if not texts and not await core._up():
            await asyncio.to_thread(store.release, message.id)
            return answered
        if await asyncio.to_thread(store.answered, message.id):
            spoken = texts if meta.get("voice") else []
            await core._send(message.sender_id, texts, speak=spoken)
            answered += 1
    return answered


async def run_forever(core: WeChatCore) -> None:
    last_cleanup = 0.0
    while True:
        try:
            await core.poll()
            if time.monotonic() - last_cleanup > CLEANUP_S:
                await asyncio.to_thread(core.store.forget_receipts, timedelta(days=1))
                await asyncio.to_thread(core.store.forget_answered, CHANNEL, ANSWERED_KEPT)
                await asyncio.to_thread(core.store.forget_set_aside, CHANNEL, SET_ASIDE_KEPT)
                await asyncio.to_thread(core.nonces.forget, core.now())
                last_cleanup = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the WeChat background delivery failed; trying again")
        await asyncio.sleep(core.settings.poll_s)
