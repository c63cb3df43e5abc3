"""A WeChat process that dies mid-turn loses nothing, and does not die again for it: the
message is set aside (quarantined) with an alert for staff, the person is asked to send
it again, and it is never replayed — it may be the very message that killed the process.

The crash is real: a child process takes the message in and is killed with SIGKILL while
its turn runs (nothing of ours runs after the kill, no ``finally``, no release). The
database is the real channel store on SQLite, shared with the process that carries on.
Rasa is a stand-in here (as in test_wechat_core.py): what is under test is the order of
the receipt and the durable inbox, and the lease that keeps one turn per message.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Iterator

import pytest
import xmltodict

from care import migrate
from care.config import CareSettings
from care.services import CareServices, build
from tests.channels.test_wechat_core import StandInRasa, make_core
from tests.channels.wechat_fakes import FakeWeChatAPI, signed, text_xml

ROOT = Path(__file__).resolve().parents[2]

# The process that crashes: the real channel core, a turn that never ends (Rasa is busy),
# a short lease so that the test does not wait the production one out.
CRASHING = """
import asyncio, sys
from pathlib import Path
from care.config import CareSettings
from care.services import build
from tests.channels.test_wechat_core import make_core
from tests.channels.wechat_fakes import signed, text_xml

db_url, marker, openid, text, msg_id = sys.argv[1:]

async def rasa_busy(message):
    Path(marker).write_text(str(message.message_id))  # the turn has begun
    await asyncio.sleep(3600)

async def main():
    core = make_core(build(CareSettings(db_url=db_url)), None, rasa_busy)
    core.turn_lease_s = 1.0
    await core.receive(signed(), text_xml(openid, text, int(msg_id)).encode())

asyncio.run(main())
"""


@pytest.fixture
def fake() -> Iterator[FakeWeChatAPI]:
    with FakeWeChatAPI() as api:
        yield api


@pytest.fixture(scope="module")
def db_url(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("wechat-crash") / "anxin.db"
    return f"sqlite:///{path}"


@pytest.fixture(scope="module")
def care(db_url) -> Iterator[CareServices]:
    services = build(CareSettings(db_url=db_url))
    migrate.upgrade(services.db)
    yield services
    services.close()


def crash_mid_turn(db_url: str, tmp: Path, openid: str, text: str, msg_id: int) -> None:
    """A channel process takes the message in, starts its turn and is killed (SIGKILL)."""
    marker = tmp / f"turn-{msg_id}"
    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING, db_url, str(marker), openid, text, str(msg_id)],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the crashing process ended before its turn began"
            assert time.monotonic() < deadline, "the crashing process never began its turn"
            time.sleep(0.05)
        assert marker.read_text() == f"msg:{msg_id}"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)


async def set_aside_until(core, timeout: float = 15) -> int:
    """What the background poll does every few seconds, until it set something aside;
    it answers nothing meanwhile (nothing is replayed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert await core.answer_held() == 0
        aside = core.store.set_aside("wechat")
        if aside:
            return len(aside)
        await asyncio.sleep(0.2)
    return 0


async def test_a_message_whose_process_crashed_mid_turn_is_set_aside_not_replayed(
    care, db_url, fake, tmp_path
):
    crash_mid_turn(db_url, tmp_path, "oCrash", "对", 2001)

    rasa = StandInRasa()
    survivor = make_core(care, fake, rasa)  # another replica, or the restarted process
    body = text_xml("oCrash", "对", 2001).encode()
    # WeChat's retry: recognised as the same message, so it starts no second turn now.
    assert (await survivor.receive(signed(), body)).body == "success"
    assert rasa.turns == Counter()

    # The crashed turn's lease lapses with its work still marked: set aside, not replayed.
    assert await set_aside_until(survivor) == 1
    assert rasa.turns == Counter()
    [told] = fake.texts_to("oCrash")
    assert "没能处理" in told and "再发一次" in told and "12349" in told, told
    [alert] = [a for a in care.alerts.open_alerts() if a.conversation_id == "wechat:oCrash"]
    assert alert.kind == "message_failed" and alert.channel == "wechat"
    assert "“对”" in alert.summary
    assert [h.sender_id for h in care.channels.set_aside("wechat")] == ["oCrash"]

    # Later rounds and later retries add nothing: no turn, no second word to the person.
    assert await survivor.answer_held() == 0
    assert (await survivor.receive(signed(), body)).body == "success"
    assert rasa.turns == Counter() and len(fake.texts_to("oCrash")) == 1
    assert care.channels.held("wechat") == []
    await survivor.close()


async def test_a_turn_still_running_keeps_its_message_from_other_processes(care, fake):
    rasa = StandInRasa()
    rasa.delay = 2.5  # longer than the lease: it is renewed while the turn runs
    core = make_core(care, fake, rasa, ANXIN_WECHAT_PASSIVE_S="0.2")
    core.turn_lease_s = 0.6
    reply = await core.receive(signed(), text_xml("oLong", "订午饭", 2002).encode())
    assert reply.body == "success"  # answered through the API when the turn ends

    other_rasa = StandInRasa()
    other = make_core(care, fake, other_rasa)  # another replica polling meanwhile
    for _ in range(10):
        assert await other.answer_held() == 0
        await asyncio.sleep(0.25)
    assert await asyncio.to_thread(fake.wait_for_texts, "oLong", 1, 10) == ["答:订午饭:0"]
    assert await other.answer_held() == 0
    assert other_rasa.turns == Counter() and rasa.turns == Counter({"msg:2002": 1})
    assert fake.texts_to("oLong") == ["答:订午饭:0"]
    await core.close()
    await other.close()


async def test_a_turn_stopped_with_the_server_is_answered_after_the_restart(care, fake):
    rasa = StandInRasa()
    rasa.delay = 30  # still running when the server stops
    core = make_core(care, fake, rasa, ANXIN_WECHAT_PASSIVE_S="0.2")
    core.turn_lease_s = 0.6
    reply = await core.receive(signed(), text_xml("oStop", "订午饭", 2006).encode())
    assert reply.body == "success"
    await core.close()  # a graceful stop: the turn is cancelled, not crashed
    await asyncio.sleep(1.0)  # past its lease

    again = StandInRasa()
    restarted = make_core(care, fake, again)
    assert await restarted.answer_held() == 1  # replayed, not set aside
    assert again.turns == Counter({"msg:2006": 1})
    assert fake.texts_to("oStop") == ["答:订午饭:0"]
    assert [h for h in care.channels.set_aside("wechat") if h.sender_id == "oStop"] == []
    await restarted.close()


async def test_every_answered_turn_leaves_nothing_held(care, fake):
    rasa = StandInRasa()
    core = make_core(care, fake, rasa)
    reply = await core.receive(signed(), text_xml("oFine", "你好", 2003).encode())
    assert xmltodict.parse(reply.body)["xml"]["Content"] == "答:你好:0"
    assert care.channels.held("wechat") == []
    assert await core.answer_held() == 0 and rasa.turns == Counter({"msg:2003": 1})
    await core.close()


def test_a_message_is_taken_in_once_and_its_text_dropped_a_while_after_its_answer(tmp_path):
    from datetime import timedelta

    care = build(CareSettings(db_url=f"sqlite:///{tmp_path / 'anxin.db'}"))
    migrate.upgrade(care.db)
    store = care.channels
    first = store.take_in("wechat", "msg:2004", "oKeep", "订午饭", {"message_id": "msg:2004"})
    assert first is not None
    assert store.take_in("wechat", "msg:2004", "oKeep", "订午饭") is None  # a retry
    assert store.first_delivery("wechat", "msg:2004") is False  # one receipt for both paths
    assert store.lease(first) is False  # leased to the turn that took it in
    unanswered = store.take_in("wechat", "msg:2005", "oKeep", "还在吗", lease=timedelta(0))
    assert store.answered(first) is True
    assert store.forget_answered("telegram", timedelta(0)) == 0  # only the channel asked
    assert store.forget_answered("wechat", timedelta(0)) == 1
    assert [h.id for h in store.held("wechat")] == [unanswered]  # kept until answered
    assert store.answered(unanswered) is True
    care.close()
