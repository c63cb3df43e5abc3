"""Scaled out as the README offers: PostgreSQL, Redis, two Rasa workers, a second server.

One stack (`anxin run` with ANXIN_DB_URL on PostgreSQL, ANXIN_REDIS_URL,
ANXIN_RASA_WORKERS=2 and two action-server workers, the WeChat channel on its fake)
serves every test here; the last test adds a second Rasa server on the same Redis, as a
replica behind a load balancer.

- Sanic forks the Rasa workers after the channels were built: no database connection
  opened before the fork may be used by both children (it corrupted the traffic:
  ``PGRES_TUPLES_OK``, WeChat messages acknowledged and never answered).
- Nor may a Whisper model: loaded before the fork, it hung every worker's transcription.
- Two messages of one conversation arriving at the same instant on two processes are
  both kept, one turn after the other (Rasa's stock RedisLockStore let both processes
  in at once, and the last tracker saved won).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Callable, ContextManager, Iterator, Sequence

import pytest
from sqlalchemy import select

from care import models as m
from tests.audio_samples import mandarin_samples
from tests.channels.stacks import ChannelStack, Elder, running
from tests.support.rasa_api import tracker_events
from tests.support.scale_out import (
    REDIS_URL,
    Connection,
    Turns,
    action_server_processes,
    at_once,
    connections,
    one_on_each_worker,
    private_pg_database,
    private_redis_prefix,
    rasa_processes,
    replica,
    rest_post,
)

# What went wrong when two processes shared a connection (psycopg2 and SQLAlchemy's words).
DATABASE_TROUBLE = ("PGRES", "DatabaseError", "InternalError", "ResourceClosedError",
                    "differ from number of column processors", "Traceback")  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    with private_pg_database() as db_url, private_redis_prefix() as prefix:
        with running(
            tmp_path_factory.mktemp("scale-out"),
            wechat=True,
            ANXIN_DB_URL=db_url,
            ANXIN_REDIS_URL=REDIS_URL,
            ANXIN_REDIS_PREFIX=prefix,
            ANXIN_RASA_WORKERS="2",
            ACTION_SERVER_SANIC_WORKERS="2",  # rasa-sdk forks its workers too
        ) as stack:
            assert "2 Rasa worker" in stack.out.wait_for(r"conversations .*", 10)[0]
            # Each server's main process and the two workers it forked.
            assert len(rasa_processes(stack.port)) == 3
            assert len(action_server_processes(int(stack.env["ANXIN_ACTIONS_PORT"]))) == 3
            # Each worker loads what Rasa loads lazily on its first turn.
            at_once([lambda i=i: rest_post(stack.port, f"warm{i}", "你好") for i in range(4)])
            yield stack


def test_twenty_wechat_users_at_once_each_message_kept_and_answered_once(stack):
    elders = [Elder(stack, f"oScale{uuid.uuid4().hex[:8]}") for _ in range(20)]
    said = ["你好", "你们都有啥服务", "谢谢"]

    def talk(elder: Elder) -> list[str]:  # one message after another, as a person types
        return [elder.post(text) for text in said]

    passive = at_once([lambda e=e: talk(e) for e in elders])  # each acknowledged within 5 s

    openids = {e.openid for e in elders}
    deadline = time.monotonic() + 90
    while True:
        with stack.care.db.read() as s:
            rows = s.execute(
                select(m.ChannelInbox.sender_id, m.ChannelInbox.answered_at).where(
                    m.ChannelInbox.channel == "wechat"
                )
            ).all()
        ours = [r for r in rows if any(r.sender_id.endswith(o) for o in openids)]
        if len(ours) == len(elders) * len(said) and all(r.answered_at for r in ours):
            break
        assert time.monotonic() < deadline, (
            f"{len(ours)} inbox rows for {len(elders) * len(said)} messages, "
            f"{sum(1 for r in ours if r.answered_at is None)} not answered"
        )
        time.sleep(1)

    for elder, answers in zip(elders, passive, strict=True):
        # One turn per message: none lost, none run twice.
        assert stack.user_turns(f"wechat:{elder.openid}") == len(said), elder.openid
        slow = sum(1 for a in answers if not a)  # acknowledged with `success`: sent later
        if slow:
            assert len(stack.wechat_api.wait_for_texts(elder.openid, slow)) >= slow
    trouble = [w for w in DATABASE_TROUBLE if w in stack.out.text]
    assert not trouble, stack.out.text[-4000:]


def test_each_worker_hears_a_voice_turn_with_a_whisper_model_of_its_own(stack):
    """The channels are built (and Whisper was loaded) before Sanic forks the workers: a
    model loaded in the parent hung each worker's first transcription for ever."""
    wav, _ = next(iter(mandarin_samples().values()))
    with one_on_each_worker(stack.port, 1) as [pair]:
        heard = [
            conn.request(f"/webhooks/voice/turn?sender=twoears{i}", wav, "audio/wav")
            for i, conn in enumerate(pair)
        ]
    for status, answer in heard:
        assert status == 200 and answer["transcript"] and answer["replies"], answer


FIRST, SECOND = "你好", "谢谢"
Pairs = Callable[[int], ContextManager[Sequence[Sequence[Connection]]]]


def race(pairs: Pairs, port: int, conversations: int, wave: int = 4) -> None:
    """``conversations`` new conversations, each sent FIRST through one process and SECOND
    through another at the same instant (``pairs(n)``: n pairs of connections, the two
    of a pair served by different processes), ``wave`` conversations at a time. Every
    message must be answered, and every tracker (read from the server on ``port``) keep
    both messages, one whole turn after the other."""
    tag = uuid.uuid4().hex[:6]
    senders = [f"race{tag}n{i}" for i in range(conversations)]
    unanswered: list[tuple[int, Any]] = []
    for start in range(0, conversations, wave):
        batch = senders[start : start + wave]
        with pairs(len(batch)) as conns:
            for sender, (first, second) in zip(batch, conns, strict=True):
                first.ready(sender, FIRST)
                second.ready(sender, SECOND)
            answers = at_once([conn.go for pair in conns for conn in pair])
        unanswered += [(status, a) for status, a in answers if status != 200 or not a]
    lost, overlapped = {}, {}
    for sender in senders:
        turns = Turns.of(tracker_events(port, f"rest:{sender}"))
        if sorted(turns.texts) != sorted([FIRST, SECOND]):
            lost[sender] = turns.texts
        if turns.problems:
            overlapped[sender] = turns.problems
    assert not (unanswered or lost or overlapped), (
        f"of {conversations} conversations ({2 * conversations} messages): "
        f"{len(unanswered)} message(s) not answered {unanswered[:3]}; "
        f"{len(lost)} conversation(s) lost a message {list(lost.items())[:3]}; "
        f"{len(overlapped)} overlapped turns {list(overlapped.items())[:3]}"
    )


def test_two_workers_keep_both_of_two_simultaneous_messages(stack):
    race(lambda n: one_on_each_worker(stack.port, n), stack.port, conversations=200)


@pytest.fixture(scope="module")
def replica_port(stack: ChannelStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A second Rasa server (one worker) on the stack's Redis, database and action server."""
    log = tmp_path_factory.mktemp("replica") / "rasa.log"
    with replica(stack.env, log) as port:
        rest_post(port, "warm-replica", "你好")
        yield port
    trouble = [w for w in DATABASE_TROUBLE if w in log.read_text(encoding="utf-8")]
    assert not trouble, log.read_text(encoding="utf-8")[-4000:]


def test_two_servers_on_one_redis_keep_both_of_two_simultaneous_messages(stack, replica_port):
    race(lambda n: connections((stack.port, replica_port), n), stack.port, conversations=200)
