"""False alarms: one mark resolves an alarm and says who and when, a second changes nothing,
the undo takes it back (and opens again what the mark closed); all audited. Weekly counts
by the week an alarm was raised; the message that raised it goes to the NLU export."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from care import audit, false_alarms
from care.alerts import is_alarm
from care.conversations_nlu import Corrections, export, oldest_first
from care.errors import InvalidRequest, UnknownAlert
from care.false_alarms import NOT_SAFETY, as_corrections, raising_message, weekly
from care.models_review import ConversationEvent
from care.services import CareServices
from tests.care.helpers import elder
from tests.conftest import MovableClock

SENDER = "wechat:oWx-falls"


def actions(care: CareServices, alert_id: int) -> list[tuple[str, str, dict]]:
    """The alert's audit rows, oldest first: (action, actor, detail)."""
    with care.db.read() as s:
        rows = audit.entries(s, subject=f"alert:{alert_id}")
    return [(e.action, e.actor, e.detail) for e in reversed(rows)]


def event(
    care: CareServices, sender: str, at: datetime, kind: str = "user", text: str = "",
    intent: str = "emergency", language: str = "zh",
) -> int:  # fmt: skip
    """One of Rasa's events as its broker stores them."""
    data: dict = {"event": kind, "timestamp": at.timestamp()}
    if kind == "user":
        data.update(text=text, parse_data={
            "intent": {"name": intent, "confidence": 1.0},
            "entities": [{"entity": "language", "value": language}],
        })  # fmt: skip
    elif kind == "bot":
        data.update(text=text)
    with care.db.write() as s:
        row = ConversationEvent(sender_id=sender, data=json.dumps(data, ensure_ascii=False))
        s.add(row)
        s.flush()
        return int(row.id)


def test_marking_a_false_alarm_resolves_it_once_and_is_audited(
    care: CareServices, clock: MovableClock
) -> None:
    raised = care.alerts.raise_alert("emergency", "我把暖壶摔了", person_id=elder(care).id)
    clock.advance(minutes=3)
    marked = care.alerts.mark_false_alarm(raised.id, "wang.staff")
    assert (marked.status, marked.resolved_by, marked.resolved_at) == (
        "resolved", "wang.staff", clock()
    )  # fmt: skip
    assert (marked.false_alarm, marked.false_alarm_by, marked.false_alarm_at) == (
        True, "wang.staff", clock()
    )  # fmt: skip
    assert raised.id not in [a.id for a in care.alerts.open_alerts()]
    # A second click (or a colleague's) is harmless: nothing changes, nothing is logged.
    clock.advance(minutes=1)
    assert care.alerts.mark_false_alarm(raised.id, "li.nurse") == marked
    assert actions(care, raised.id) == [
        ("alert.emergency", "system", {}),
        ("alert.false_alarm", "staff:wang.staff", {"resolved": True}),
    ]


def test_the_undo_opens_again_what_the_mark_closed(care: CareServices, clock: MovableClock):
    crisis = care.alerts.raise_alert("crisis", "累死了，不想干了")
    care.alerts.acknowledge(crisis.id, "li.nurse")
    clock.advance(minutes=1)
    care.alerts.mark_false_alarm(crisis.id, "wang.staff", actor="token:city-app")
    clock.advance(minutes=1)
    back = care.alerts.unmark_false_alarm(crisis.id, "li.nurse")
    assert (back.status, back.resolved_at, back.resolved_by) == ("acknowledged", None, None)
    assert (back.false_alarm, back.false_alarm_at, back.false_alarm_by) == (False, None, None)
    assert crisis.id in [a.id for a in care.alerts.open_alerts()]
    assert care.alerts.unmark_false_alarm(crisis.id, "li.nurse") == back  # again: nothing
    assert actions(care, crisis.id)[-2:] == [
        ("alert.false_alarm", "token:city-app", {"resolved": True}),
        ("alert.false_alarm_undo", "staff:li.nurse", {"reopened": True}),
    ]
    # An alarm never acknowledged goes back to open; and it can be resolved as usual.
    fall = care.alerts.raise_alert("emergency", "摔了一跤")
    care.alerts.mark_false_alarm(fall.id, "wang.staff")
    assert care.alerts.unmark_false_alarm(fall.id, "wang.staff").status == "open"
    assert care.alerts.resolve(fall.id, "wang.staff", "送医了").status == "resolved"


def test_an_alarm_resolved_before_the_mark_stays_resolved(
    care: CareServices, clock: MovableClock
) -> None:
    fall = care.alerts.raise_alert("emergency", "前天差点滑倒 没咋地")
    done = care.alerts.resolve(fall.id, "li.nurse", "打过电话，没事")
    clock.advance(hours=2)
    marked = care.alerts.mark_false_alarm(fall.id, "wang.staff")
    assert (marked.resolved_by, marked.resolved_at, marked.note) == (
        "li.nurse", done.resolved_at, "打过电话，没事"
    )  # fmt: skip
    back = care.alerts.unmark_false_alarm(fall.id, "wang.staff")
    assert (back.status, back.resolved_by, back.false_alarm) == ("resolved", "li.nurse", False)
    assert [a[2] for a in actions(care, fall.id)[-2:]] == [{"resolved": False}, {"reopened": False}]


def test_only_alarms_can_be_false_alarms(care: CareServices) -> None:
    for kind in ("handoff", "message_failed", "loneliness_risk"):
        other = care.alerts.raise_alert(kind, "要找人工")
        with pytest.raises(InvalidRequest):
            care.alerts.mark_false_alarm(other.id, "wang.staff")
        assert care.alerts.unmark_false_alarm(other.id, "wang.staff").status == "open"
        assert [a[0] for a in actions(care, other.id)] == [f"alert.{kind}"]
    # Not a list of two: a kind added later for danger (a check) is an alarm unless listed.
    assert is_alarm("emergency") and is_alarm("crisis") and is_alarm("check")
    with pytest.raises(UnknownAlert):
        care.alerts.mark_false_alarm(424242, "wang.staff")
    with pytest.raises(UnknownAlert):
        care.alerts.unmark_false_alarm(424242, "wang.staff")


def test_weeks_start_on_local_mondays() -> None:
    harbin = ZoneInfo("Asia/Shanghai")
    sunday = date(2026, 11, 29)
    assert false_alarms.week_starts(sunday, 3) == [
        date(2026, 11, 9), date(2026, 11, 16), date(2026, 11, 23)
    ]  # fmt: skip
    assert false_alarms.week_starts(date(2026, 11, 30), 1) == [date(2026, 11, 30)]
    assert false_alarms.edges([date(2026, 11, 16), date(2026, 11, 23)], harbin) == [
        datetime(2026, 11, 15, 16, tzinfo=timezone.utc),
        datetime(2026, 11, 22, 16, tzinfo=timezone.utc),
        datetime(2026, 11, 29, 16, tzinfo=timezone.utc),
    ]


def test_false_alarms_per_week_count_alarms_by_the_week_they_were_raised(
    care: CareServices, clock: MovableClock
) -> None:
    today = clock().astimezone(care.tz).date()  # Wednesday 25 November
    monday = datetime(2026, 11, 22, 16, tzinfo=timezone.utc)  # 00:00 on the 23rd, Harbin

    def raised_at(at: datetime, kind: str = "emergency", false: bool = False) -> None:
        clock.at = at
        alert = care.alerts.raise_alert(kind, "摔了")
        if false:
            clock.at = at + timedelta(days=9)  # marked later: still counts when raised
            care.alerts.mark_false_alarm(alert.id, "wang.staff")

    now = clock()
    raised_at(now, false=True)
    raised_at(monday)
    raised_at(monday - timedelta(seconds=1), kind="crisis", false=True)  # Sunday night
    raised_at(monday - timedelta(weeks=7))  # the oldest week shown
    raised_at(monday - timedelta(weeks=7, seconds=1), false=True)  # too old to be shown
    raised_at(now, kind="handoff")  # not an alarm: not counted
    raised_at(now, kind="loneliness_risk")
    weeks = weekly(care.db, today, care.tz)
    assert [w.start for w in weeks] == [date(2026, 10, 5) + timedelta(weeks=n) for n in range(8)]
    assert [(w.alarms, w.false) for w in weeks] == [
        (1, 0), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0), (1, 1), (2, 1)
    ]  # fmt: skip
    assert [weeks[0].percent, weeks[1].percent, weeks[6].percent, weeks[7].percent] == [
        0, None, 100, 50
    ]  # fmt: skip


def test_the_message_that_raised_an_alarm_is_the_latest_user_message_before_it(
    care: CareServices, clock: MovableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = clock()
    event(care, SENDER, t, text="你好", intent="greet")
    event(care, SENDER, t + timedelta(seconds=1), kind="bot", text="您好")
    said = event(care, SENDER, t + timedelta(seconds=5), text="我把暖壶摔了")
    event(care, "wechat:someone-else", t + timedelta(seconds=6), text="胸口疼")
    clock.advance(seconds=6)
    alert = care.alerts.raise_alert("emergency", "我把暖壶摔了", conversation_id=SENDER)
    for n in range(7):  # the conversation goes on after the alarm
        event(care, SENDER, t + timedelta(seconds=10 + n), text=f"谢谢 {n}", intent="thank")
    monkeypatch.setattr(false_alarms, "SCAN_CHUNK", 3)  # read it back a few events at a time
    with care.db.read() as s:
        found = raising_message(s, SENDER, alert.created_at)
        assert found is not None
        assert (found.event_id, found.text, found.intent, found.language) == (
            said, "我把暖壶摔了", "emergency", "zh"
        )  # fmt: skip
        assert raising_message(s, SENDER, t - timedelta(seconds=1)) is None  # nothing before
        assert raising_message(s, "rest:nobody", alert.created_at) is None


def test_false_alarms_go_to_the_nlu_export_as_not_safety(
    care: CareServices, clock: MovableClock, tmp_path: Path
) -> None:
    t = clock()
    thermos = event(care, SENDER, t, text="我把暖壶摔了")
    event(care, "telegram:42", t, text="I'm dying to see the baby", language="en", intent="crisis")
    event(care, "rest:button", t, text="/emergency")
    clock.advance(seconds=2)
    first = care.alerts.raise_alert("emergency", "我把暖壶摔了", conversation_id=SENDER)
    dying = care.alerts.raise_alert("crisis", "dying", conversation_id="telegram:42")
    button = care.alerts.raise_alert("emergency", "/emergency", conversation_id="rest:button")
    nowhere = care.alerts.raise_alert("emergency", "摔了")  # no conversation to look in
    real = care.alerts.raise_alert("emergency", "我把暖壶摔了", conversation_id=SENDER)
    for alert in (first, dying, button, nowhere):
        clock.advance(minutes=1)
        care.alerts.mark_false_alarm(alert.id, "wang.staff")
    found = as_corrections(care.db)
    assert [(c.event_id, c.text, c.language, c.predicted_intent, c.correct_intent)
            for c in found] == [
        (thermos, "我把暖壶摔了", "zh", "emergency", NOT_SAFETY),
        (thermos + 1, "I'm dying to see the baby", "en", "crisis", NOT_SAFETY),
    ]  # fmt: skip
    assert [(c.flagged_by, c.sender_id) for c in found] == [
        ("wang.staff", SENDER), ("wang.staff", "telegram:42")
    ]  # fmt: skip
    assert real.id not in {a.id for a in false_alarms.recent(care.db)}
    # Not a false alarm after all: out of the export again.
    care.alerts.unmark_false_alarm(dying.id, "wang.staff")
    assert [c.text for c in as_corrections(care.db)] == ["我把暖壶摔了"]

    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    def exported(corrections: list) -> list[tuple[str, str]]:
        written = export(corrections, tmp_path / str(len(list(tmp_path.iterdir()))))
        data = RasaYAMLReader().read(written["zh"])
        return [(m.get("text"), m.get("intent")) for m in data.intent_examples]

    assert exported(as_corrections(care.db)) == [("我把暖壶摔了", NOT_SAFETY)]
    # Staff later flag the same words with an intent of their own: the later word wins.
    clock.advance(minutes=5)
    flags = Corrections(care.db, care.clock, ["inform", "emergency"])
    flags.flag(SENDER, thermos, "inform", "li.nurse")
    assert exported(oldest_first(flags.all(), as_corrections(care.db))) == [
        ("我把暖壶摔了", "inform")
    ]
    # ... and a false alarm marked after a flag wins over it.
    clock.advance(minutes=5)
    care.alerts.mark_false_alarm(real.id, "wang.staff")
    assert exported(oldest_first(flags.all(), as_corrections(care.db))) == [
        ("我把暖壶摔了", NOT_SAFETY)
    ]
