"""Audio that crashed the assistant, against the real stack: `anxin run` with WeChat and
Telegram on (their platforms faked on loopback), the real Rasa, action server and Whisper.

The malformed files of tests/voice/malformed — three of which killed the Rasa process
inside PyAV — go in as voice turns over HTTP, as Telegram voice notes and as WeChat voice
downloads. Each is refused (415 with its reason; on the messaging channels a kind
"please say it again" in the person's language), the Rasa process is the same process
afterwards, nothing is left to replay, and ordinary messages are answered as before.
A call's WebSocket shrugs off frames that mean nothing.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import shutil
import time
import urllib.error
import urllib.request
import wave
from pathlib import Path
from typing import Any, Iterator

import pytest
import websockets

from tests.channels.stacks import ChannelStack, Elder, Person, content, running
from tests.channels.wechat_fakes import voice_xml
from tests.support import processes
from tests.support.audio_vectors import CRASHED_PYAV, REFUSED, vector

CONTENT_TYPES = {".wav": "audio/wav", ".ogg": "audio/ogg", ".amr": "audio/amr",
                 ".mp3": "audio/mpeg"}  # fmt: skip
_ids = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    assert shutil.which("espeak-ng"), "espeak-ng is not installed (.ci/run installs it)"
    with running(tmp_path_factory.mktemp("audio-hardening"), wechat=True, telegram=True) as s:
        yield s


def rasa_pid(stack: ChannelStack) -> int:
    assert stack.proc is not None
    [pid] = processes.running(stack.proc.pid, processes.RASA)
    return pid


def turn(stack: ChannelStack, body: bytes, content_type: str, sender: str
         ) -> tuple[int, dict[str, Any]]:  # fmt: skip
    req = urllib.request.Request(
        f"http://127.0.0.1:{stack.port}/webhooks/voice/turn?sender={sender}",
        data=body,
        headers={"Content-Type": content_type},
    )
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return int(resp.status), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        raw = err.read()
        assert b"Traceback" not in raw
        return int(err.code), json.loads(raw)


def quiet_wav(seconds: float = 1.0) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16_000)
        w.writeframes(bytes(int(16_000 * seconds) * 2))
    return out.getvalue()


def test_each_malformed_file_is_415_with_its_reason_and_the_assistant_lives_on(stack):
    rasa = rasa_pid(stack)
    for name, reason in REFUSED.items():
        status, answer = turn(stack, vector(name), CONTENT_TYPES[Path(name).suffix], "bad-1")
        assert status == 415, (name, status, answer)
        assert answer["error"] == "audio not readable" and reason in answer["reason"], answer
    # Every one of them, again, labelled as the format people send most: nothing changes.
    for name in CRASHED_PYAV:
        assert turn(stack, vector(name), "audio/mpeg", "bad-1")[0] == 415
    assert processes.alive(rasa) and rasa_pid(stack) == rasa  # the same process, still up
    assert stack.user_turns("voice:bad-1") == 0

    # Audio is decoded, and it is decoded in a decoder process of Rasa's, not in Rasa.
    status, answer = turn(stack, quiet_wav(), "audio/wav", "bad-1")
    assert status == 200 and answer["no_speech"], answer
    assert processes.running(rasa, processes.DECODER)

    # An ordinary message afterwards is answered, on both messaging channels.
    assert Person(stack, 7301).say("hello")
    assert Elder(stack, "oAfterBadAudio").says("你好")


async def _events(ws: Any, until: str, timeout: float = 60) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while True:
        message = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(message, bytes):
            continue
        events.append(json.loads(message))
        if events[-1]["event"] == until:
            return events


def test_frames_that_mean_nothing_leave_a_call_going(stack):
    rasa = rasa_pid(stack)
    url = f"ws://127.0.0.1:{stack.port}/webhooks/voice/stream?sender=ws-bad&language=en"

    async def call() -> list[dict[str, Any]]:
        async with websockets.connect(url, max_size=None) as ws:
            await _events(ws, "replies")  # the greeting
            for frame in (b"\x01", b"\x00\x80\x7f", vector("float_16bit.wav")):
                await ws.send(frame)  # odd sizes, a file instead of PCM: just sound
            for text in ("not json", "[1, 2]", '"1"', '{"dtmf": {"key": 1}}', "{}"):
                await ws.send(text)  # no control we know: ignored
            await ws.send(json.dumps({"dtmf": "1"}))  # and the call still answers keys
            return await _events(ws, "replies")

    replies = asyncio.run(call())[-1]
    assert replies["texts"], replies
    assert processes.alive(rasa) and rasa_pid(stack) == rasa


def _note(person: Person, data: bytes) -> dict[str, Any]:
    file_id = f"bad-note-{next(_ids)}"
    assert person.api is not None
    person.api.add_file(file_id, data)
    update = person.message("")
    del update["message"]["text"]
    update["message"]["voice"] = {"file_id": file_id, "file_unique_id": f"u-{file_id}",
                                  "duration": 2, "mime_type": "audio/ogg",
                                  "file_size": len(data)}  # fmt: skip
    return update


def test_as_telegram_voice_notes_they_get_a_kind_re_ask_and_nothing_to_replay(stack):
    rasa = rasa_pid(stack)
    chats = []
    for n, name in enumerate(CRASHED_PYAV):
        chinese = Person(stack, 7400 + n, language_code="zh-hans")
        answer = chinese.send(_note(chinese, vector(name)))
        assert "没能打开" in answer and "打字" in answer, (name, answer)
        chats.append(chinese)
    english = Person(stack, 7410, language_code="en")
    answer = english.send(_note(english, vector("float_16bit.wav")))
    assert "couldn't open" in answer and "type" in answer, answer
    chats.append(english)

    assert processes.alive(rasa) and rasa_pid(stack) == rasa
    # No crash loop, and no replay: the retry round (every second here) finds nothing.
    time.sleep(3)
    for person in chats:
        assert len(stack.telegram_api.sent(chat_id=person.chat_id)) == person.seen  # type: ignore[union-attr]
        assert stack.user_turns(f"telegram:{person.chat_id}") == 0
    assert stack.care.channels.held("telegram") == []
    assert stack.care.channels.set_aside("telegram") == []
    assert english.say("hello")  # and the conversation goes on


def test_as_wechat_voice_messages_they_get_a_kind_re_ask_and_nothing_to_replay(stack):
    rasa = rasa_pid(stack)
    assert stack.wechat_api is not None
    for name in (*CRASHED_PYAV, "amr_bad_frame.amr"):
        elder = Elder(stack, f"oBadVoice{next(_ids)}")
        media_id = f"bad-media-{next(_ids)}"
        stack.wechat_api.media[media_id] = vector(name)
        elder.msg_id += 1
        before = len(stack.wechat_api.texts_to(elder.openid))
        status, body, took = elder.wechat.post(voice_xml(elder.openid, media_id, elder.msg_id))
        assert status == 200 and took < 5, (status, took)  # WeChat's 5-second rule holds
        said = content(body) if body != "success" else "\n".join(
            stack.wechat_api.wait_for_texts(elder.openid, before + 1, 60)[before:]
        )
        assert "没能打开" in said and "再说一遍" in said, (name, said)
        assert stack.user_turns(f"wechat:{elder.openid}") == 0
    assert processes.alive(rasa) and rasa_pid(stack) == rasa
    time.sleep(2)  # a few background rounds (every 0.5 s here): nothing is replayed
    assert stack.care.channels.held("wechat") == []
    assert stack.care.channels.set_aside("wechat") == []
    assert Elder(stack, "oAfterBadVoice").says("你好")
