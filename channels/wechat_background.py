"""The WeChat channel's background round: the outbox, and the messages held for later.

Family notifications queued by ``care`` (the outbox) go out through the customer-service
API, each claimed by one process. Messages whose turn could not answer (Rasa or the action
server down, a process that died mid-turn) are answered once the assistant is back,
exactly once — a voice message with its voice reply too.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from care.staff_replies import StaffReplies
from channels.wechat_xml import pack, render_messages

if TYPE_CHECKING:
    from channels.wechat_core import WeChatCore

log = logging.getLogger(__name__)

CHANNEL = "wechat"
ANSWERED_KEPT = timedelta(days=1)  # answered inbox rows (what people wrote) are then dropped
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
    # Staff replies in a handed-off conversation (the sender id is the openid).
    replies = StaffReplies(store.db, store.clock)
    for reply in await asyncio.to_thread(replies.pending, CHANNEL):
        if not await asyncio.to_thread(replies.claim, reply.id):
            continue
        if await core._send(reply.conversation_id, [reply.text]):
            sent += 1
        else:
            await asyncio.to_thread(replies.unclaim, reply.id)
    return sent


async def answer_held(core: WeChatCore) -> int:
    store = core.store
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
                last_cleanup = time.monotonic()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the WeChat background delivery failed; trying again")
        await asyncio.sleep(core.settings.poll_s)
