"""What the Mandarin voice tests of WeChat and Telegram check the same way.

Real Mandarin recordings (tests/audio_samples.py) go in as voice messages; these read
what came of them: the transcript kept for staff review (care.recordings), the text
Rasa was given for each turn, and how close both are to what was said.

Bounds, measured with the default model (multilingual ``base``) through each channel's
codec (AMR-NB 8 kHz for WeChat, OGG/Opus for Telegram), the same on 1, 2 and 4 threads:
nihao_shijie 0.00 on both; jishu 0.09 on AMR (一…十 heard as 1234567890), 0.00 on Opus;
pangrama 0.50 on both (homophones: 玄→选, 洪→红, 盈昃→银子). Pooled over the three:
0.29 on AMR, 0.26 on Opus. A worse model, a wrong language or a broken codec lands far
above (an English transcript scores 1.0).
"""

from __future__ import annotations

import time

from sqlalchemy import select

from care.language import detect_language
from care.models_voice import VoiceRecording
from tests.audio_samples import cer, pooled_cer
from tests.channels.stacks import ChannelStack
from tests.support.rasa_api import tracker_events

SAMPLES = ("nihao_shijie", "jishu", "pangrama")  # short, counting, a whole line of verse
SAMPLE_CER = 0.6  # every sample: recognisably what was said
POOLED_CER = 0.35  # all three together


def recordings_of(
    stack: ChannelStack, channel: str, sender: str, count: int, timeout: float = 60
) -> list[VoiceRecording]:
    """The sender's kept voice turns, once ``count`` are there (kept in the background)."""
    deadline = time.monotonic() + timeout
    while True:
        with stack.care.db.read() as s:
            rows = s.scalars(
                select(VoiceRecording)
                .where(VoiceRecording.channel == channel, VoiceRecording.sender_id == sender)
                .order_by(VoiceRecording.id)
            ).all()
        if len(rows) >= count or time.monotonic() > deadline:
            return list(rows)
        time.sleep(0.2)


def user_texts(stack: ChannelStack, conversation_id: str) -> list[str]:
    """What Rasa was given, turn by turn (a voice turn: its transcript); the id is Rasa's
    (``telegram:123``, ``wechat:<openid>``)."""
    events = tracker_events(stack.port, conversation_id)
    return [str(e.get("text") or "") for e in events if e["event"] == "user"]


def assert_heard_close(said: list[tuple[str, str]], heard: list[str]) -> None:
    """``said``: (sample name, its transcript) in order; ``heard``: what was transcribed."""
    assert len(heard) == len(said), heard
    pairs = [(reference, heard[i]) for i, (_, reference) in enumerate(said)]
    for (name, reference), transcript in zip(said, heard, strict=True):
        assert detect_language(transcript) == "zh" or name == "jishu", (name, transcript)
        assert cer(reference, transcript) <= SAMPLE_CER, (name, reference, transcript)
    assert pooled_cer(pairs) <= POOLED_CER, pairs


def assert_chinese(reply: str) -> None:
    assert reply.strip() and detect_language(reply) == "zh", reply
