"""The conversation summary answers every filter in SQL, over all conversations.

On SQLite and PostgreSQL (the ``care`` fixture): random conversations compared with
the parser's answer, a conversation behind 2,050 newer ones found by each filter
through the real app, catch-ups that are incremental, idempotent and safe to run at
once, and (PostgreSQL) an insert still under way when a catch-up starts is not skipped.
"""

from __future__ import annotations

import random
import threading
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import pytest
from sqlalchemy import delete, insert, select, update
from starlette.testclient import TestClient

from care import migrate
from care.config import CareSettings
from care.conversation_index import catch_up, watermark
from care.conversation_log import ConversationLog, Filters
from care.models_review import (
    ConversationEvent,
    ConversationFacet,
    ConversationIndexState,
    ConversationSummary,
    ConversationTurn,
)
from care.senders import split_sender
from care.services import CareServices, build
from tests.conftest import MovableClock, fresh_pg
from tests.staff.conversation_gen import (
    bot,
    identities,
    interleave,
    python_keeps,
    random_conversation,
    random_filters,
    session,
    slot,
    user,
    write_events,
)


def every_id(log: ConversationLog, f: Filters) -> tuple[list[str], int]:
    """The ids a search returns over all its pages, and its total."""
    out, number = [], 1
    while True:
        page = log.search(f, number, 100)
        assert page.truncated is False
        out += [c.id for c in page.conversations]
        if not page.conversations or len(out) >= page.total:
            return out, page.total
        number += 1


def summary_rows(care: CareServices) -> tuple[list[Any], ...]:
    with care.db.read() as s:
        return tuple(
            sorted(tuple(r) for r in s.execute(select(*table.__table__.columns)))
            for table in (ConversationSummary, ConversationFacet, ConversationTurn)
        )


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6])
def test_sql_filters_agree_with_the_parser_on_random_conversations(
    care: CareServices, seed: int
) -> None:
    rng = random.Random(seed)
    # Rasa's sender ids: <channel>:<id> (care.senders).
    by_sender = {f"{rng.choice(('wechat', 'telegram', 'rest'))}:s{n}": [] for n in range(40)}
    for sender in by_sender:
        by_sender[sender] = random_conversation(rng, sender)
    senders = sorted(by_sender)
    elders = [care.people.register_elder(*split_sender(senders[0]), "李秀兰").id,
              care.people.register_elder(*split_sender(senders[1]), "王淑珍").id]  # fmt: skip
    care.people.register_elder(*split_sender(senders[2]), "孙桂英")
    care.alerts.raise_alert("emergency", "fell", channel="voice")  # no conversation: NULL
    for sender in rng.sample(senders, 8):
        care.alerts.raise_alert("handoff", "要找人工", conversation_id=sender, channel="rest")
    order = interleave(rng, by_sender)
    log = ConversationLog(care.db, care.tz, 0.6)
    half = rng.randint(len(order) // 4, len(order) // 2)
    write_events(care.db, order[:half])
    log.search(Filters())  # a catch-up half-way: the rest arrives on top of it
    write_events(care.db, order[half:])
    conversations = {c: log.get(c) for c in senders if by_sender[c]}
    by_elder = {e: identities(care.db, e) for e in elders}
    last_event: dict[str, int] = {}
    with care.db.read() as s:
        for event_id, sender in s.execute(
            select(ConversationEvent.id, ConversationEvent.sender_id)
        ):
            last_event[sender] = max(last_event.get(sender, 0), event_id)
    logs = {0.6: log, 0.3: ConversationLog(care.db, care.tz, 0.3)}
    for n in range(50):
        f = random_filters(rng, elders)
        threshold = 0.3 if n % 4 == 0 else 0.6  # a changed threshold needs no rebuild
        expected = sorted(
            (c for c in conversations.values()
             if python_keeps(c, f, care.tz, threshold, by_elder.get(f.elder_id or -1))),
            key=lambda c: last_event[c.id], reverse=True,
        )  # fmt: skip
        found, total = every_id(logs[threshold], f)
        assert found == [c.id for c in expected], (seed, n, f)
        assert total == len(expected)


OLD = "voice:old-one"  # Rasa's id of the caller's conversation


def test_each_filter_finds_a_conversation_behind_2050_newer_ones(
    care: CareServices, client_as: Callable[[str], TestClient]
) -> None:
    old_at = datetime(2026, 10, 1, 3, 0, tzinfo=timezone.utc).timestamp()
    rows: list[tuple[str, dict[str, Any]]] = [(OLD, e) for e in session(old_at)]
    rows += [
        (OLD, user(old_at, "I feel so alone, nobody visits", "feeling_lonely", 0.2,
                         "voice", "en", "v1")),
        (OLD, slot(old_at, "handed_off", True)),
        (OLD, bot(old_at, "I'll ask a person to call you.")),
    ]  # fmt: skip
    now = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc).timestamp()
    for n in range(2050):
        sender = f"rest:new-{n}"
        rows += [(sender, e) for e in session(now + n)]
        rows.append((sender, user(now + n, "你好", "greet", 0.95, "rest", "zh", f"m{n}")))
        rows.append((sender, bot(now + n, "您好！")))
    write_events(care.db, rows)
    elder = care.people.register_elder("voice", "old-one", "赵振华")
    care.alerts.raise_alert("loneliness_risk", "独居", conversation_id=OLD, channel="voice")
    staff = client_as("staff")
    for params in ({"channel": "voice"}, {"language": "en"}, {"intent": "feeling_lonely"},
                   {"from": "2026-10-01", "to": "2026-10-01"}, {"to": "2026-11-01"},
                   {"handed_off": "yes"}, {"has_alert": "yes"}, {"low_confidence": "yes"},
                   {"elder_id": str(elder.id)}, {"q": "NOBODY visits"}, {"channel": "voice",
                   "q": "alone", "handed_off": "yes", "language": "en"}):  # fmt: skip
        body = staff.get("/api/conversations", params=params).json()
        assert [c["id"] for c in body["conversations"]] == [OLD], params
        assert body["total"] == 1 and body["truncated"] is False
    body = staff.get("/api/conversations", params={"handed_off": "no", "per_page": "1"}).json()
    assert body["total"] == 2050 and body["conversations"][0]["id"] == "rest:new-2049"
    page = staff.get("/conversations", params={"intent": "greet"}).text
    assert "new-2049" in page and OLD not in page


def test_catch_up_reads_only_what_is_new_and_matches_a_rebuild(care: CareServices) -> None:
    rng = random.Random(7)
    by_sender = {f"c{n}": random_conversation(rng, f"c{n}") for n in range(30)}
    write_events(care.db, interleave(rng, by_sender))
    first = catch_up(care.db, batch_events=50)  # several transactions
    assert first.senders >= 29 and watermark(care.db) == first.watermark > 0
    assert catch_up(care.db).senders == 0  # nothing new: nothing rewritten
    t = by_sender["c3"][-1]["timestamp"] + 60
    write_events(care.db, [("c3", user(t, "again", "book_meal", 0.1, "telegram", "en", "x"))])
    again = catch_up(care.db)
    assert (again.senders, again.events) == (1, 1)
    with care.db.read() as s:
        row = s.get(ConversationSummary, "c3")
        assert row.min_confidence == 0.1 and row.last_at == datetime.fromtimestamp(t, timezone.utc)
        assert s.get(ConversationFacet, ("channel", "telegram", "c3")) is not None
    incremental = summary_rows(care)
    with care.db.write() as s:  # from nothing, in one go
        for table in (ConversationTurn, ConversationFacet, ConversationSummary):
            s.execute(delete(table))
        s.execute(update(ConversationIndexState).values(last_event_id=0))
    catch_up(care.db)
    assert summary_rows(care) == incremental


def test_catch_ups_at_once_count_nothing_twice(care: CareServices) -> None:
    rng = random.Random(11)
    by_sender = {f"p{n}": random_conversation(rng, f"p{n}") for n in range(150)}
    write_events(care.db, interleave(rng, by_sender))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            catch_up(care.db, batch_events=200)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    together = summary_rows(care)
    with care.db.write() as s:
        for table in (ConversationTurn, ConversationFacet, ConversationSummary):
            s.execute(delete(table))
        s.execute(update(ConversationIndexState).values(last_event_id=0))
    catch_up(care.db)
    assert summary_rows(care) == together
    turns = sum(1 for e in (x for v in by_sender.values() for x in v) if e["event"] == "user")
    assert len(together[2]) == turns


@pytest.fixture
def pg_care(pg_schema_url: str, clock: MovableClock) -> Iterator[CareServices]:
    fresh_pg(pg_schema_url)
    services = build(CareSettings(db_url=pg_schema_url), clock=clock)
    migrate.upgrade(services.db)
    yield services
    services.close()


def test_postgres_catch_up_waits_for_an_insert_still_under_way(pg_care: CareServices) -> None:
    """A sequence gives ids out before commit: a smaller id can commit after a larger one."""
    db = pg_care.db
    events = ConversationEvent.__table__
    t = datetime(2026, 11, 25, tzinfo=timezone.utc).timestamp()
    slow = db.engine.connect()
    tx = slow.begin()
    slow.execute(insert(events), [{"sender_id": "slow", "data": '{"event": "user", '
                                   f'"timestamp": {t}, "text": "hi"}}'}])  # fmt: skip
    write_events(db, [("fast", user(t, "hello", "greet", 0.9, "rest", "en", "f"))])
    done: list[Any] = []
    runner = threading.Thread(target=lambda: done.append(catch_up(db)))
    runner.start()
    runner.join(0.5)
    assert runner.is_alive(), "the catch-up did not wait for the insert under way"
    tx.commit()
    slow.close()
    runner.join(60)
    with db.read() as s:
        assert set(s.scalars(select(ConversationSummary.sender_id))) == {"slow", "fast"}


POISON_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER poison BEFORE INSERT ON conversation_turns "
        "WHEN NEW.sender_id = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
        "IF NEW.sender_id = 'poison' THEN RAISE EXCEPTION 'refused'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER poison BEFORE INSERT ON conversation_turns "
        "FOR EACH ROW EXECUTE FUNCTION poison()",
    ],
}


def test_a_catch_up_that_fails_half_way_leaves_the_last_whole_batch(care: CareServices) -> None:
    """The database refuses one conversation's rows (a trigger): the batches before it
    stay committed with their watermark, its own batch leaves nothing, and once the
    cause is gone the next catch-up does that batch again."""
    t = datetime(2026, 11, 25, tzinfo=timezone.utc).timestamp()
    early = [(f"e{n}", user(t, "hi", "greet", 0.9, "rest", "en", f"e{n}")) for n in range(5)]
    late = [(f"l{n}", user(t, "hi", "greet", 0.9, "rest", "en", f"l{n}")) for n in range(4)]
    write_events(care.db, early + [("poison", user(t, "x", "greet", 0.9, "rest", "en", "p"))])
    write_events(care.db, late)
    dialect = care.db.engine.dialect.name
    with care.db.engine.begin() as conn:
        for statement in POISON_TRIGGERS[dialect]:
            conn.exec_driver_sql(statement)
    with pytest.raises(Exception, match="refused"):
        catch_up(care.db, batch_events=5)
    with care.db.read() as s:
        kept = set(s.scalars(select(ConversationSummary.sender_id)))
        assert kept == {f"e{n}" for n in range(5)}
        assert len(s.scalars(select(ConversationTurn.event_id)).all()) == 5
    assert watermark(care.db) == 5  # the first batch's last event, not one further
    with care.db.engine.begin() as conn:
        conn.exec_driver_sql(
            "DROP TRIGGER poison" + (" ON conversation_turns" if dialect == "postgresql" else "")
        )
    catch_up(care.db, batch_events=5)
    with care.db.read() as s:
        assert len(set(s.scalars(select(ConversationSummary.sender_id)))) == 10
