"""The voice channel's side of Rasa and of the care records, for one turn at a time.

``Conversations`` is what a call or an HTTP turn asks: Rasa's answer to a transcript (in
this process, through the channel's ``on_new_message``), the caller's language, the
turn's recording (care.recordings), staff replies waiting in a hand-off
(care/staff_replies.py) and the care centre's notifications (care/notices.py).
``speak`` turns replies into one stretch of speech.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Optional

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from care.language import detect_language
from care.notices import Notices
from care.notices import as_spoken as notice_spoken
from care.recordings import Recorder
from care.senders import sender_id
from care.services import CareServices
from care.staff_replies import as_spoken, take_for_voice
from channels.common import user_message
from channels.voice_engines import Engines
from voice.base import LANGUAGES, Audio

log = logging.getLogger(__name__)

CHANNEL = "voice"


class VoiceCollector(CollectingOutputChannel):
    """Collects a turn's replies; named "voice" so voice-specific responses apply."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL


def spoken(message: dict[str, Any]) -> str:
    """What a reply sounds like: its text, then its buttons as numbered choices."""
    text = str(message.get("text") or "").strip()
    titles = [str(b.get("title", "")) for b in message.get("buttons") or [] if b.get("title")]
    choices = " ".join(f"{n}. {_unnumbered(t, n)}" for n, t in enumerate(titles, 1))
    return " ".join(part for part in (text, choices) if part)


def _unnumbered(title: str, number: int) -> str:
    # Some buttons carry their number already ("1. 07:50 east gate"): said once, not twice.
    return re.sub(rf"^{number}\s*[.、．]\s*", "", title.strip())


@dataclass(frozen=True)
class Answer:
    """Rasa's answer to one spoken turn."""

    replies: list[str]  # as they are said: texts, with their buttons as numbered choices
    fell_back: bool  # Rasa did not understand (nlu_fallback)
    choices: int  # numbered choices offered last: a key in range answers them
    message_id: str = ""  # the id Rasa filed the turn under: its recording's too


class Conversations:
    """Rasa in this process, as the voice channel asks it: a turn, and a caller's language;
    and the care records a voice turn touches: its recording, staff replies waiting."""

    def __init__(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        agent: Callable[[], Any],
        care: Optional[CareServices] = None,  # None: nothing kept, no staff replies
        recorder: Optional[Recorder] = None,
    ) -> None:
        self._on_new_message = on_new_message
        self._agent = agent
        self._care = care
        self._recorder = recorder

    async def turn(
        self, sender: str, text: str, metadata: dict[str, Any], message_id: Optional[str] = None
    ) -> Answer:
        # Ours when the caller gave none, so the recording names the turn Rasa keeps.
        message_id = message_id or uuid.uuid4().hex
        collector = VoiceCollector()
        await self._on_new_message(
            user_message(text, collector, sender, CHANNEL, message_id, metadata)
        )
        replies = [s for s in (spoken(m) for m in collector.messages) if s]
        offered = [len(m["buttons"]) for m in collector.messages if m.get("buttons")]
        tracker = await self._tracker(sender)
        intent = (tracker.latest_message.intent or {}).get("name") if tracker else None
        return Answer(replies, intent == "nlu_fallback", offered[-1] if offered else 0,
                      message_id)  # fmt: skip

    def record(
        self, sender: str, message_id: str, audio: Audio, transcript: str,
        language: Optional[str], original: Optional[tuple[bytes, str]] = None,
    ) -> None:  # fmt: skip
        """Keep a heard turn for staff review, in the background (care.recordings)."""
        if self._recorder is not None:
            self._recorder.record(CHANNEL, sender, message_id, audio, transcript, language,
                                  original)  # fmt: skip

    async def staff_replies(self, sender: str, language: str) -> list[str]:
        """What staff wrote to this caller and nobody has had yet, as it is said: each
        handed out once. A database away costs the turn nothing: they wait."""
        if self._care is None:
            return []
        care = self._care
        try:
            conversation = sender_id(CHANNEL, sender)
            texts = await asyncio.to_thread(take_for_voice, care.db, care.clock, CHANNEL,
                                            conversation)  # fmt: skip
        except Exception as exc:
            log.warning("voice: staff replies not read: %s", type(exc).__name__)
            return []
        return [as_spoken(text, language) for text in texts]

    async def notices(self, sender: str, language: str) -> list[tuple[int, str]]:
        """The care centre's pending notifications for the person behind this caller,
        claimed (marked delivered on ``voice``) and as they are said: (id, speech). A
        database away costs the call nothing: they wait for the next one."""
        if self._care is None:
            return []
        care = self._care
        try:
            taken = await asyncio.to_thread(Notices(care.db, care.clock).take, CHANNEL, sender)
        except Exception as exc:
            log.warning("voice: notifications not read: %s", type(exc).__name__)
            return []
        return [(n.notification_id, notice_spoken(n.message, language)) for n in taken]

    async def give_back(self, notification_ids: list[int]) -> None:
        """Notifications claimed for a call that ended before they were said."""
        if self._care is None or not notification_ids:
            return
        care = self._care
        try:
            await asyncio.to_thread(Notices(care.db, care.clock).give_back, notification_ids)
        except Exception as exc:
            log.error("voice: notifications not given back: %s", type(exc).__name__)

    async def drain(self) -> None:
        if self._recorder is not None:
            await self._recorder.drain()

    async def language(self, sender: str) -> Optional[str]:
        """The conversation's language once the caller has said anything, else None."""
        tracker = await self._tracker(sender)
        if tracker is None or tracker.latest_message is None or not tracker.latest_message.text:
            return None
        language = tracker.get_slot("language")
        return str(language) if language in LANGUAGES else None

    async def _tracker(self, sender: str) -> Any:
        store = getattr(self._agent(), "tracker_store", None)
        if store is None:
            return None
        try:
            return await store.retrieve(sender_id(CHANNEL, sender))
        except Exception as exc:  # a language is never worth failing an answer for
            log.warning("voice: tracker not readable: %s", type(exc).__name__)
            return None


async def speak(engines: Engines, texts: list[str], language: str) -> Optional[Audio]:
    """All of ``texts`` as one stretch of speech; None without a synthesizer or when it
    fails (the caller still gets the text: a missing voice never loses an answer)."""
    if engines.synthesizer is None or not texts:
        return None
    pcm = bytearray()
    try:
        for text in texts:
            said_in = detect_language(text) or language
            async for chunk in engines.synthesizer.synthesize(text, said_in):
                pcm += chunk.pcm
    except Exception as exc:
        log.warning("voice: speech synthesis failed: %s", type(exc).__name__)
        return None
    return Audio(bytes(pcm))
