"""The batching event broker writes Rasa's `events` rows, in few transactions, losing nothing.

Runs on SQLite and PostgreSQL (the ``care`` fixture migrates a fresh database). Brokers
are made through Rasa's own factory from an endpoint config, as `rasa run` makes them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
import yaml
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import event, text

from anxin.config import RunSettings
from anxin.event_broker import BatchingSQLEventBroker
from anxin.stack import write_endpoints
from care.clock import OFFSET_ENV
from care.services import CareServices
from tests.support.forks import in_child

SECRET_WORDS = "我摔倒了 住在学府路88号"


def make_broker(url: str, **options: Any) -> BatchingSQLEventBroker:
    config = EndpointConfig(url=url, type="anxin.event_broker.BatchingSQLEventBroker", **options)
    broker = asyncio.run(EventBroker.create(config))
    assert isinstance(broker, BatchingSQLEventBroker)
    return broker


def user_event(sender: str, n: int) -> dict[str, Any]:
    return {
        "sender_id": sender,
        "event": "user",
        "timestamp": 1764200000.0 + n,
        "text": f"{SECRET_WORDS} {n}",
        "input_channel": "rest",
        "parse_data": {"intent": {"name": "emergency", "confidence": 0.97}, "entities": []},
    }


def rows(care: CareServices) -> list[tuple[int, str, str]]:
    with care.db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT id, sender_id, data FROM events"))]


def test_events_land_in_rasas_table_in_batches(care: CareServices) -> None:
    broker = make_broker(care.settings.db_url, batch_size=200, max_delay_s=0.2)
    commits: list[int] = []
    event.listen(broker.engine, "commit", lambda _conn: commits.append(1))
    try:
        for n in range(500):
            broker.publish(user_event(f"elder-{n % 3}", n))
        assert broker.flush(60)
    finally:
        asyncio.run(broker.close())
    found = rows(care)
    assert len(found) == 500
    assert [json.loads(data)["text"] for _, _, data in found] == [
        f"{SECRET_WORDS} {n}" for n in range(500)
    ]  # in publishing order
    assert {sender for _, sender, _ in found} == {"elder-0", "elder-1", "elder-2"}
    assert SECRET_WORDS in found[0][2]  # stored as readable UTF-8, so LIKE finds Chinese
    # 500 events in batches of at most 200: three transactions, not five hundred.
    assert 3 <= len(commits) <= 10, len(commits)


def test_close_writes_what_is_still_queued(care: CareServices) -> None:
    broker = make_broker(care.settings.db_url, max_delay_s=30)  # would wait 30 s otherwise
    for n in range(7):
        broker.publish(user_event("elder-close", n))
    started = time.monotonic()
    asyncio.run(broker.close())
    assert time.monotonic() - started < 20
    assert len(rows(care)) == 7


def test_an_outage_keeps_events_queued_and_logs_counts_not_words(
    care: CareServices, caplog: pytest.LogCaptureFixture
) -> None:
    broker = make_broker(care.settings.db_url, max_delay_s=0.05, retry_s=0.1, max_queued=50)
    caplog.set_level(logging.WARNING, logger="anxin.event_broker")
    with care.db.engine.begin() as conn:  # the table is gone: every write fails
        conn.execute(text("ALTER TABLE events RENAME TO events_away"))
    try:
        for n in range(60):
            broker.publish(user_event("elder-outage", n))
        deadline = time.monotonic() + 30
        while "retrying" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "50 event(s) queued, retrying" in caplog.text, caplog.text
        assert broker.dropped == 10  # bounded: the newest beyond max_queued are counted
        assert broker.pending() == 50
        with care.db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE events_away RENAME TO events"))
        assert broker.flush(60)
    finally:
        asyncio.run(broker.close())
    texts = [json.loads(data)["text"] for _, _, data in rows(care)]
    assert texts == [f"{SECRET_WORDS} {n}" for n in range(50)]  # nothing queued was lost
    assert broker.refused == 0  # an outage is waited out, never taken for bad events
    assert "我摔倒了" not in caplog.text and "学府路" not in caplog.text
    assert "reachable again" in caplog.text


def test_a_lone_surrogate_or_a_nul_is_written_not_retried_forever(
    care: CareServices, caplog: pytest.LogCaptureFixture
) -> None:
    """Valid JSON that UTF-8 (or PostgreSQL) cannot take used to fail every batch for good."""
    broker = make_broker(care.settings.db_url, max_delay_s=0.05, retry_s=0.1)
    caplog.set_level(logging.INFO, logger="anxin.event_broker")
    odd = [user_event("elder-a", 0), {**user_event("elder-b\ud800", 1), "text": "\ud800"},
           {**user_event("elder-c\x00", 2), "text": "我\x00摔倒了\udfff"},
           {**user_event("elder-d", 3), "metadata": {"\udc00key": ["\ud83d"]}},
           user_event("elder-e", 4)]  # fmt: skip
    try:
        for e in odd:
            broker.publish(e)
        assert broker.flush(20), caplog.text  # before: retried the same batch forever
    finally:
        asyncio.run(broker.close())
    found = rows(care)
    assert [sender for _, sender, _ in found] == [
        "elder-a", "elder-b\ufffd", "elder-c", "elder-d", "elder-e"
    ]
    data = [json.loads(d) for _, _, d in found]
    assert data[1]["text"] == "\ufffd" and data[2]["text"] == "我\x00摔倒了\ufffd"
    assert data[3]["metadata"] == {"\ufffdkey": ["\ufffd"]}
    assert broker.refused == 0 and broker.written == 5
    assert "retrying" not in caplog.text


def _refuse_sender(care: CareServices, sender: str) -> None:
    """The database itself refuses rows of this sender (a constraint), as it refuses any
    value it cannot take: a real refusal, from SQLite or PostgreSQL."""
    with care.db.engine.begin() as conn:
        if care.db.engine.dialect.name == "sqlite":
            conn.execute(text(
                f"CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.sender_id = '{sender}' "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            ))  # fmt: skip
        else:
            conn.execute(text(
                f"ALTER TABLE events ADD CONSTRAINT refuse CHECK (sender_id <> '{sender}')"
            ))  # fmt: skip


def test_an_event_the_database_refuses_is_skipped_and_the_rest_written(
    care: CareServices, caplog: pytest.LogCaptureFixture
) -> None:
    _refuse_sender(care, "poison")
    broker = make_broker(care.settings.db_url, batch_size=20, max_delay_s=0.05, retry_s=0.1)
    caplog.set_level(logging.INFO, logger="anxin.event_broker")
    bad = {3, 17, 18, 40}
    try:
        for n in range(50):
            broker.publish(user_event("poison" if n in bad else f"elder-{n % 4}", n))
        assert broker.flush(30), caplog.text  # before: the batch was retried forever
        broker.publish(user_event("elder-after", 99))  # and the log goes on
        assert broker.flush(30)
    finally:
        asyncio.run(broker.close())
    texts = [json.loads(data)["text"] for _, _, data in rows(care)]
    assert texts == [f"{SECRET_WORDS} {n}" for n in [*range(50), 99] if n not in bad]
    assert broker.refused == 4 and broker.written == 47
    assert caplog.text.count("was refused and skipped") == 4, caplog.text
    assert "sender 'poison', event 'user'" in caplog.text and "4 refused so far" in caplog.text
    assert "我摔倒了" not in caplog.text and "学府路" not in caplog.text  # ids, never words
    assert "retrying" not in caplog.text


def test_publish_only_queues(care: CareServices) -> None:
    """publish() is called on Rasa's event loop: it must not touch the database."""
    broker = make_broker(care.settings.db_url, max_delay_s=0.05)
    statements: list[str] = []
    event.listen(broker.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    try:
        with broker._cond:  # the writer cannot take anything while we hold its lock
            for n in range(5):
                broker.publish(user_event("elder-q", n))
            assert broker.pending() == 5 and statements == []
        assert broker.flush(30)
        assert any("INSERT INTO events" in s for s in statements)
    finally:
        asyncio.run(broker.close())


def test_events_are_kept_on_the_stacks_clock(care: CareServices, monkeypatch) -> None:
    """Rasa stamps events with the real clock; with the stack's clock moved (ANXIN_NOW, as
    `anxin run` hands it on) the log is moved with it, so a turn and the booking it made
    are on one time line in the console."""
    monkeypatch.setenv(OFFSET_ENV, "-86400.5")
    broker = make_broker(care.settings.db_url, max_delay_s=0.05)
    try:
        broker.publish(user_event("elder-t", 0))
        broker.publish({"sender_id": "elder-t", "event": "session_started"})  # no stamp
        assert broker.flush(30)
    finally:
        asyncio.run(broker.close())
    stamps = [json.loads(data).get("timestamp") for _, _, data in rows(care)]
    assert stamps == [1764200000.0 - 86400.5, None]


def test_anxin_run_configures_the_broker_unless_turned_off(tmp_path) -> None:
    run = RunSettings.from_env({"ANXIN_VAR_DIR": str(tmp_path)})
    on = yaml.safe_load(write_endpoints(run, {}).read_text(encoding="utf-8"))
    assert on["event_broker"] == {"type": "anxin.event_broker.BatchingSQLEventBroker"}
    off = yaml.safe_load(
        write_endpoints(run, {"ANXIN_CONVERSATION_LOG": "off"}).read_text(encoding="utf-8")
    )
    assert "event_broker" not in off
    with pytest.raises(SystemExit, match="ANXIN_CONVERSATION_LOG"):
        write_endpoints(run, {"ANXIN_CONVERSATION_LOG": "maybe"})


def test_the_in_memory_store_publishes_what_rasas_own_diff_publishes(tmp_path) -> None:
    """anxin.tracker_store counts the stored session instead of replaying it: same events."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    from anxin.tracker_store import EventsInMemoryTrackerStore

    class RasasDiff(EventsInMemoryTrackerStore):
        stream_events = TrackerStore.stream_events  # retrieve (replay) and diff, as Rasa does

    async def talk(store: EventsInMemoryTrackerStore) -> None:
        for sender in ("a", "b"):
            for n in range(12):
                tracker = await store.get_or_create_tracker(sender)
                if n % 5 == 0:  # a new session now and then: only the last one is replayed
                    tracker.update(ActionExecuted("action_session_start", timestamp=n))
                    tracker.update(ActionExecuted("action_listen", timestamp=n))
                for e in (UserUttered(f"{sender} {n}", timestamp=n), SlotSet("language", "en"),
                          BotUttered(f"reply {n}", timestamp=n),
                          ActionExecuted("action_listen", timestamp=n)):  # fmt: skip
                    tracker.update(e)
                await store.save(tracker)

    published = []
    for name, store_class in (("ours", EventsInMemoryTrackerStore), ("rasa", RasasDiff)):
        broker = make_broker(f"sqlite:///{tmp_path / name}.db", max_delay_s=0.01)
        asyncio.run(talk(store_class(event_broker=broker)))
        asyncio.run(broker.close())
        with broker.engine.connect() as conn:
            rows = conn.execute(text("SELECT sender_id, data FROM events ORDER BY id")).all()
        published.append([(s, json.loads(d)["event"], json.loads(d).get("text")) for s, d in rows])
    ours, rasas = published
    assert ours == rasas
    assert sum(1 for _, kind, _ in ours if kind == "user") == 24  # each message once


def test_a_forked_broker_writes_its_own_events_with_its_own_writer(care: CareServices) -> None:
    broker = make_broker(care.settings.db_url, max_delay_s=0.05)
    try:
        broker.publish(user_event("parent-before", 0))
        assert broker.flush(30)
        broker.publish(user_event("parent-queued", 1))  # the parent's to write, not the child's

        def child() -> str:
            broker.publish(user_event("child", 2))
            written = broker.flush(10)
            broker.close_now()
            return f"{written} {broker.written}"

        assert in_child(child) == "True 1"  # a writer of its own, only its own event
        broker.publish(user_event("parent-after", 3))
        assert broker.flush(30)
    finally:
        broker.close_now()
    senders = sorted(sender for _, sender, _ in rows(care))
    assert senders == ["child", "parent-after", "parent-before", "parent-queued"]
