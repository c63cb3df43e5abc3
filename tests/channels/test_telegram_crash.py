"""A Telegram process that dies mid-turn loses nothing, and does not die again for it.

Telegram got its 200 before the turn ran, so it never delivers that update again: the only
copy left is the one the webhook kept. An update whose process died while it was being
processed is set aside (quarantined): kept, with an alert for staff, the person asked to
send it again, and never replayed, since it may be the very update that killed the
process (a voice note that crashed the decoder would crash every restart). An update
that was only waiting behind its chat's earlier one is replayed and answered once.

The crash is real: a child process runs the channel (webhook, handlers and turns wired
by ``channels.telegram.serve``, python-telegram-bot against the fake Bot API), takes an
update in and is killed with SIGKILL while its turn runs (nothing of ours runs after the
kill: no ``finally``, no release). The database is
the real channel store on SQLite, shared with the process that carries on. Rasa is a
stand-in here (as in test_wechat_crash.py; the real Rasa is in test_telegram_stack.py):
what is under test is the order of the receipt and the durable inbox, and the lease that
keeps one turn per update. Text messages, button presses and ``/start`` links each; and a
voice note, heard by the real Whisper model before its process died.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import pytest
from rasa.core.channels.channel import UserMessage

from care import migrate
from care.config import CareSettings
from care.services import CareServices, build
from channels.config import TelegramSettings
from channels.telegram import Webhook, serve
from channels.telegram_bot import build_application
from channels.telegram_inbox import TURN_LEASE_S, Inbox
from channels.telegram_turns import Turns
from channels.telegram_voice import VoiceNotes
from channels.voice_engines import shared_engines
from tests.channels.fake_telegram import BOT_ID, FakeTelegram
from voice.codecs import decode, encode

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "42:CRASH"
SECRET = "crash-secret"

# The process that crashes: the real channel, a turn that never ends (Rasa is busy), a
# short lease so that the test does not wait the production one out.
CRASHING = """
import asyncio, json, sys
from pathlib import Path
from care.config import CareSettings
from care.services import build
from tests.channels.test_telegram_crash import SECRET, open_channel

db_url, api_base, marker, bodies, voice = sys.argv[1:]

async def rasa_busy(message):
    Path(marker).write_text(json.dumps([message.message_id, message.text]))  # turn begun
    await asyncio.sleep(3600)

async def main():
    care = build(CareSettings(db_url=db_url))
    channel = await open_channel(care, api_base, rasa_busy, lease_s=1.0, voice=voice == "voice")
    statuses = []
    for body in json.loads(bodies):  # the first one's turn never ends: the rest wait
        status, _ = await channel.webhook.receive(SECRET, None, body.encode())
        statuses.append(status)
    Path(marker + ".status").write_text(json.dumps(statuses))  # what Telegram was told
    await asyncio.sleep(3600)

asyncio.run(main())
"""


class StandInRasa:
    """Rasa's part: one answer on the output channel per message, slowly when told."""

    def __init__(self, delay: float = 0.0) -> None:
        self.turns: Counter[str] = Counter()
        self.delay = delay

    async def __call__(self, message: UserMessage) -> None:
        self.turns[str(message.message_id)] += 1
        await asyncio.sleep(self.delay)
        await message.output_channel.send_text_message(message.sender_id, f"答:{message.text}")


class StandInAgent:
    """Rasa's agent as the channel asks it: model loaded, no action server to wait for."""

    action_endpoint = None
    tracker_store = None

    def is_ready(self) -> bool:
        return True


@dataclass
class Channel:
    webhook: Webhook
    turns: Turns

    async def close(self) -> None:
        await self.webhook.drain()
        await self.webhook.application.stop()
        await self.webhook.application.shutdown()


async def open_channel(
    care: CareServices,
    api_base: str,
    rasa: Any,
    lease_s: float = TURN_LEASE_S,
    voice: bool = False,
) -> Channel:
    """The channel as TelegramInput runs it, started the way its background task starts it;
    with ``voice``, hearing with the real voice engines (the Whisper model loads here)."""
    settings = TelegramSettings(TOKEN, SECRET, api_base=api_base)
    application = build_application(settings)
    webhook = Webhook(settings, care, application, Inbox(care.channels, application, lease_s))
    agent = StandInAgent()
    notes = VoiceNotes(shared_engines()) if voice else None
    turns = serve(webhook, rasa, lambda: agent, voice=notes)
    await application.initialize()  # getMe
    await application.start()
    webhook.ready = True
    return Channel(webhook, turns)


def person(chat: int) -> dict[str, Any]:
    return {"id": chat, "is_bot": False, "first_name": "Tester", "language_code": "en"}


def message(chat: int, text: str, update_id: int) -> dict[str, Any]:
    msg: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": chat, "type": "private", "first_name": "Tester"},
        "from": person(chat),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": update_id, "message": msg}


def tap(chat: int, data: str, update_id: int) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "callback_query": {
            "id": f"cq-{update_id}",
            "from": person(chat),
            "chat_instance": "ci-1",
            "data": data,
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Anxin"},
                "text": "…",
            },
        },
    }


# kind → (chat, the update, the text its turn gives Rasa)
KINDS = {
    "text": (6001, message(6001, "hello", 7001), "hello"),
    "button": (6002, tap(6002, "/affirm", 7002), "/affirm"),
    "start": (
        6003,
        message(6003, "/start 123456", 7003),
        '/link_family{"invite_code":"123456","language":"en"}',
    ),
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTelegram]:
    api = FakeTelegram(TOKEN).start()
    yield api
    api.stop()


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('telegram-crash') / 'anxin.db'}"


@pytest.fixture(scope="module")
def care(db_url) -> Iterator[CareServices]:
    services = build(CareSettings(db_url=db_url))
    migrate.upgrade(services.db)
    yield services
    services.close()


def crash_mid_turn(
    db_url: str, api_base: str, tmp: Path, body: bytes, voice: bool = False,
    waiting: tuple[bytes, ...] = (),
) -> tuple[list[int], list]:  # fmt: skip
    """A channel process takes the update in (and ``waiting``, which queue behind it),
    starts its turn and is killed (SIGKILL) once every update was taken in.

    Returns what the webhook answered Telegram and what the turn gave Rasa."""
    marker = tmp / "turn"
    status = Path(f"{marker}.status")
    bodies = json.dumps([b.decode() for b in (body, *waiting)])
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING, db_url, api_base, str(marker), bodies,
         "voice" if voice else "text"],
        cwd=ROOT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180  # a busy machine loads Whisper slowly
        while not (marker.exists() and marker.read_text() and status.exists()):
            assert child.poll() is None, "the crashing process ended before its turn began"
            assert time.monotonic() < deadline, "the crashing process never began its turn"
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    return json.loads(status.read_text()), json.loads(marker.read_text())


async def retry_until_set_aside(
    care: CareServices, turns: Turns, chat: int, timeout: float = 15
) -> int:
    """The background round, until it has set the chat's update aside (answering nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert await turns.retry_held() == 0
        aside = [h for h in care.channels.set_aside("telegram") if h.sender_id == str(chat)]
        if aside:
            return len(aside)
        await asyncio.sleep(0.2)
    return 0


def alerts_for(care: CareServices, chat: int) -> list:
    return [a for a in care.alerts.open_alerts() if a.conversation_id == f"telegram:{chat}"]


async def retry_until_answered(turns: Turns, timeout: float = 15) -> int:
    """What the background round does every few seconds, until it answers something."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = await turns.retry_held()
        if answered:
            return answered
        await asyncio.sleep(0.2)
    return 0


def texts_to(fake: FakeTelegram, chat: int) -> list[str]:
    return [c.text for c in fake.sent("sendMessage", chat)]


@pytest.mark.parametrize("kind", list(KINDS))
async def test_an_update_whose_process_died_mid_turn_is_set_aside_not_replayed(
    kind, care, db_url, fake, tmp_path
):
    chat, update, turn_text = KINDS[kind]
    body = json.dumps(update).encode()
    key = str(update["update_id"])
    statuses, turn = crash_mid_turn(db_url, fake.api_base, tmp_path, body)
    assert statuses == [200]  # Telegram was told it arrived: it will never send it again
    assert turn == [key, turn_text]
    acks = len(fake.sent("answerCallbackQuery"))

    rasa = StandInRasa()
    survivor = await open_channel(care, fake.api_base, rasa)  # the restart, or a replica
    try:
        # A redelivery all the same (the poll relay retrying a dropped connection):
        # recognised as the same update, so it starts no second turn now.
        assert await survivor.webhook.receive(SECRET, None, body) == (200, {"ok": True})
        await survivor.webhook.drain()
        assert rasa.turns == Counter()

        # The dead turn's lease lapses with its work still marked: set aside, not replayed.
        assert await retry_until_set_aside(care, survivor.turns, chat) == 1
        assert rasa.turns == Counter()
        [told] = texts_to(fake, chat)  # in the person's language (their app's: English)
        assert "couldn't handle the message" in told and "12349" in told, told
        [alert] = alerts_for(care, chat)
        assert (alert.kind, alert.channel) == ("message_failed", "telegram")
        sent = update["message"]["text"] if "message" in update else update["callback_query"]
        sent = sent if isinstance(sent, str) else sent["data"]
        assert f"“{sent}”" in alert.summary  # what the person sent, for staff to act on
        # The press was acknowledged by the process that took it, and not again.
        assert len(fake.sent("answerCallbackQuery")) == acks

        # Later rounds and later redeliveries add nothing.
        assert await survivor.turns.retry_held() == 0
        assert await survivor.webhook.receive(SECRET, None, body) == (200, {"ok": True})
        await survivor.webhook.drain()
        assert rasa.turns == Counter() and len(texts_to(fake, chat)) == 1
        assert care.channels.held("telegram") == []
    finally:
        await survivor.close()


async def test_an_update_waiting_behind_the_one_that_died_is_answered_once(
    care, db_url, fake, tmp_path
):
    chat = 6007
    first, second = message(chat, "first", 7011), message(chat, "second", 7012)
    statuses, turn = crash_mid_turn(db_url, fake.api_base, tmp_path, json.dumps(first).encode(),
                                    waiting=(json.dumps(second).encode(),))  # fmt: skip
    assert statuses == [200, 200] and turn == ["7011", "first"]

    rasa = StandInRasa()
    survivor = await open_channel(care, fake.api_base, rasa)
    try:
        # The one being processed is set aside; the one that was only waiting is answered.
        assert await retry_until_answered(survivor.turns) == 1
        assert rasa.turns == Counter({"7012": 1})
        assert [h.sender_id for h in care.channels.set_aside("telegram")].count(str(chat)) == 1
        told, answer = texts_to(fake, chat)
        assert "couldn't handle" in told and answer == "答:second"
        assert len(alerts_for(care, chat)) == 1
        assert await survivor.turns.retry_held() == 0 and rasa.turns == Counter({"7012": 1})
        assert care.channels.held("telegram") == []
    finally:
        await survivor.close()


async def test_a_voice_note_whose_process_died_mid_turn_is_set_aside_not_heard_again(
    care, db_url, fake, tmp_path
):
    chat, update_id = 6006, 7006
    wav = tmp_path / "hello.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "130", "-w", str(wav), "Hello there"],
                   check=True)  # fmt: skip
    fake.add_file("crash-note", encode(decode(wav.read_bytes(), "wav"), "ogg_opus"))
    update = message(chat, "", update_id)
    del update["message"]["text"]
    update["message"]["voice"] = {"file_id": "crash-note", "file_unique_id": "u-crash",
                                  "duration": 2, "mime_type": "audio/ogg"}  # fmt: skip
    body = json.dumps(update).encode()
    key = str(update_id)
    statuses, turn = crash_mid_turn(db_url, fake.api_base, tmp_path, body, voice=True)
    assert statuses == [200]
    assert turn[0] == key and "hello" in turn[1].lower(), turn  # the dead process heard it
    fetched = fake.downloads.count("voice/crash-note.oga")

    rasa = StandInRasa()
    survivor = await open_channel(care, fake.api_base, rasa, voice=True)
    try:
        assert await retry_until_set_aside(care, survivor.turns, chat) == 1
        # Not fetched, decoded or heard again: a note that crashed its process once is
        # never given the chance to crash the next one.
        assert fake.downloads.count("voice/crash-note.oga") == fetched
        assert rasa.turns == Counter()
        [told] = texts_to(fake, chat)
        assert "couldn't handle" in told, told
        [alert] = alerts_for(care, chat)
        assert alert.summary.startswith("A Telegram voice message"), alert.summary
        assert await survivor.turns.retry_held() == 0
        assert care.channels.held("telegram") == []
    finally:
        await survivor.close()


async def test_slow_turns_keep_their_updates_from_other_processes(care, fake):
    rasa = StandInRasa(delay=1.5)  # longer than the lease: renewed while the turn runs
    busy = await open_channel(care, fake.api_base, rasa, lease_s=0.6)
    other_rasa = StandInRasa()
    other = await open_channel(care, fake.api_base, other_rasa)  # a replica's rounds
    try:
        # The second waits behind the first (one chat, in order): its lease is kept too.
        for update in (message(6004, "one", 7101), message(6004, "two", 7102)):
            status, _ = await busy.webhook.receive(SECRET, None, json.dumps(update).encode())
            assert status == 200
        for _ in range(14):
            assert await other.turns.retry_held() == 0
            await asyncio.sleep(0.25)
        await busy.webhook.drain()
        assert await other.turns.retry_held() == 0
        assert other_rasa.turns == Counter()
        assert rasa.turns == Counter({"7101": 1, "7102": 1})
        assert texts_to(fake, 6004) == ["答:one", "答:two"]
        assert care.channels.held("telegram") == []
    finally:
        await busy.close()
        await other.close()


async def test_an_update_stopped_with_the_server_is_answered_after_the_restart(care, fake):
    rasa = StandInRasa(delay=30)  # still running when the server stops
    stopping = await open_channel(care, fake.api_base, rasa, lease_s=0.6)
    try:
        status, _ = await stopping.webhook.receive(
            SECRET, None, json.dumps(message(6008, "stop", 7301)).encode()
        )
        assert status == 200
        await asyncio.sleep(0.3)  # its turn is running
        with pytest.raises(asyncio.TimeoutError):  # the stop does not wait: it cancels
            await asyncio.wait_for(stopping.webhook.drain(), 0.2)
    finally:
        await stopping.webhook.application.stop()
        await stopping.webhook.application.shutdown()
    await asyncio.sleep(1.0)  # past its lease

    again = StandInRasa()
    restarted = await open_channel(care, fake.api_base, again)
    try:
        assert await retry_until_answered(restarted.turns) == 1  # replayed, not set aside
        assert again.turns == Counter({"7301": 1})
        assert texts_to(fake, 6008) == ["答:stop"]
        assert [h for h in care.channels.set_aside("telegram") if h.sender_id == "6008"] == []
    finally:
        await restarted.close()


async def test_an_update_with_no_turn_is_done_once_its_handlers_end(care, fake):
    rasa = StandInRasa()
    channel = await open_channel(care, fake.api_base, rasa)
    try:
        status, _ = await channel.webhook.receive(
            SECRET, None, json.dumps(message(6005, "/lang", 7201)).encode()
        )
        assert status == 200
        await channel.webhook.drain()
        assert "Choose a language" in texts_to(fake, 6005)[0]
        assert rasa.turns == Counter() and care.channels.held("telegram") == []
        assert await channel.turns.retry_held() == 0 and len(texts_to(fake, 6005)) == 1
    finally:
        await channel.close()
