"""Conversation retention on SQLite and PostgreSQL: idle conversations go, events and
summary together; live ones, the audit log, alerts and corrections' training data stay."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from care import audit
from care.audit import Actor
from care.conversation_index import catch_up, watermark
from care.conversation_log import ConversationLog, Filters
from care.conversation_retention import Purger, Retention, purge
from care.conversations_nlu import Corrections
from care.models_review import (
    ConversationEvent,
    ConversationFacet,
    ConversationSummary,
    ConversationTurn,
    NluCorrection,
)
from care.services import CareServices
from tests.staff.conversation_gen import bot, session, user, write_events

ROOT = Path(__file__).resolve().parents[2]
YEAR = Retention(days=365)


def talk(sender: str, at: datetime, text: str = "我想订午饭") -> list[tuple[str, dict[str, Any]]]:
    t = at.timestamp()
    rows = [(sender, e) for e in session(t)]
    rows.append((sender, user(t, text, "book_meal", 0.4, "wechat", "zh", f"{sender}-{t}")))
    rows.append((sender, bot(t + 1, "好的")))
    return rows


def senders(care: CareServices) -> tuple[set[str], set[str]]:
    """Who has events, and who has a summary row."""
    with care.db.read() as s:
        events = set(s.scalars(select(ConversationEvent.sender_id).distinct()))
        summaries = set(s.scalars(select(ConversationSummary.sender_id)))
    return events, summaries


def user_event_ids(care: CareServices, sender: str) -> list[int]:
    with care.db.read() as s:
        return list(s.scalars(
            select(ConversationEvent.id)
            .where(ConversationEvent.sender_id == sender,
                   ConversationEvent.data.like('%"event": "user"%'))
            .order_by(ConversationEvent.id)
        ))  # fmt: skip


def test_idle_conversations_go_whole_and_what_must_stay_stays(care: CareServices) -> None:
    now = care.clock()
    old, recent, back = now - timedelta(days=400), now - timedelta(days=3), now - timedelta(days=1)
    write_events(care.db, talk("old-wx", old) + talk("recent-tg", recent) + talk("back", old))
    catch_up(care.db)  # "back" is summarised as idle ...
    write_events(care.db, talk("back", back, "我又来了"))  # ... and then comes back
    alert = care.alerts.raise_alert("emergency", "fell", conversation_id="old-wx")
    [flagged] = user_event_ids(care, "old-wx")
    Corrections(care.db, care.clock, ["book_meal", "affirm"]).flag(
        "old-wx", flagged, "affirm", "wang.staff"
    )
    with care.db.write() as s:
        audit.record(s, now, Actor.staff_user("wang.staff"), "conversation.view",
                     "conversation:old-wx")  # fmt: skip

    done = purge(care.db, now, YEAR)

    assert (done.conversations, done.corrections_kept) == (1, 1)
    assert done.events == len(talk("old-wx", old))
    assert senders(care) == ({"recent-tg", "back"}, {"recent-tg", "back"})
    assert len(user_event_ids(care, "back")) == 2  # its old turn too: the conversation lives
    with care.db.read() as s:
        [kept] = s.scalars(select(NluCorrection)).all()
        assert (kept.text, kept.correct_intent, kept.predicted_intent) == (
            "我想订午饭", "affirm", "book_meal")  # fmt: skip
        assert kept.event_id is None and kept.sender_id is None
        for table in (ConversationFacet, ConversationTurn):
            assert "old-wx" not in set(s.scalars(select(table.sender_id)))
        assert [e.subject for e in audit.entries(s, action="conversation.view")] == [
            "conversation:old-wx"
        ]
        [purged] = audit.entries(s, action="conversations.purge")
        assert (purged.actor, purged.detail) == ("system", {
            "conversations": 1, "events": done.events, "corrections_kept": 1,
            "retention_days": 365})  # fmt: skip
    assert [a.conversation_id for a in care.alerts.open_alerts() if a.id == alert.id] == ["old-wx"]
    log = ConversationLog(care.db, care.tz)
    page = log.search(Filters(intent="book_meal"))
    assert sorted(c.id for c in page.conversations) == ["back", "recent-tg"] and page.total == 2
    assert purge(care.db, now, YEAR).conversations == 0  # nothing more is idle


def test_kept_forever_when_off_and_bad_settings_are_refused(care: CareServices) -> None:
    now = care.clock()
    write_events(care.db, talk("ancient", now - timedelta(days=3000)))
    assert Retention.from_env({}).days == 365
    assert Retention.from_env({"ANXIN_CONVERSATION_RETENTION_DAYS": "30"}).days == 30
    for off in ("0", "off", "OFF"):
        retention = Retention.from_env({"ANXIN_CONVERSATION_RETENTION_DAYS": off})
        assert retention.days is None
        assert purge(care.db, now, retention).conversations == 0
    assert senders(care)[0] == {"ancient"}
    purger = Purger(care.db, Retention(days=None)).start()  # off: it only keeps the summary
    try:
        for _ in range(600):
            if watermark(care.db):
                break
            time.sleep(0.05)
    finally:
        purger.stop()
    assert senders(care) == ({"ancient"}, {"ancient"})
    for bad in ("a year", "-5", "1.5"):
        with pytest.raises(SystemExit, match="ANXIN_CONVERSATION_RETENTION_DAYS"):
            Retention.from_env({"ANXIN_CONVERSATION_RETENTION_DAYS": bad})
    with pytest.raises(SystemExit, match="ANXIN_CONVERSATION_PURGE_S"):
        Retention.from_env({"ANXIN_CONVERSATION_PURGE_S": "0"})


def test_new_events_after_purging_the_newest_are_summarised(care: CareServices) -> None:
    """SQLite hands a deleted newest row's id out again: the watermark must come down."""
    now = care.clock()
    write_events(care.db, talk("kept", now - timedelta(days=2)))
    write_events(care.db, talk("newest-but-idle", now - timedelta(days=500)))
    catch_up(care.db)
    high = watermark(care.db)
    assert purge(care.db, now, YEAR).conversations == 1
    assert watermark(care.db) < high
    write_events(care.db, talk("after", now))
    log = ConversationLog(care.db, care.tz)
    assert sorted(c.id for c in log.search(Filters(channel="wechat")).conversations) == [
        "after", "kept"]  # fmt: skip


def test_the_action_servers_purger_and_the_command(care: CareServices) -> None:
    now = care.clock()  # the purger's clock, and where the command's starts (ANXIN_NOW)
    write_events(care.db, talk("idle-1", now - timedelta(days=40)))
    write_events(care.db, talk("idle-2", now - timedelta(days=45)) + talk("today", now))
    purger = Purger(care.db, Retention(days=44, purge_every_s=3600), care.clock).start()
    try:
        for _ in range(600):  # it purges at start; wait for that round
            if "idle-2" not in senders(care)[0]:
                break
            time.sleep(0.05)
    finally:
        purger.stop()
    assert senders(care)[0] == {"idle-1", "today"}
    done = subprocess.run(
        [sys.executable, "-m", "anxin", "conversations", "purge"],
        env={**os.environ, "ANXIN_DB_URL": care.settings.db_url,
             "ANXIN_CONVERSATION_RETENTION_DAYS": "30", "ANXIN_NOW": now.isoformat()},
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "purged: 1 (" in done.stdout
    assert senders(care) == ({"today"}, {"today"})
    with care.db.read() as s:
        assert s.execute(select(func.count()).select_from(ConversationTurn)).scalar_one() == 1
