"""Emergencies alert staff and tell linked family in one transaction; crises alert staff only."""

from __future__ import annotations

from datetime import timedelta

from care.audit import Actor
from tests.care.helpers import child_linked, elder


def test_emergency_alerts_staff_and_notifies_linked_family(care):
    mum = elder(care)
    care.people.add_identity(mum.id, "wechat", "oWx-mum")
    daughter = child_linked(care, mum)
    english_son = care.people.create("family", "Tom", preferred_language="en")
    link = care.people.request_link(mum.id, english_son.id, "son")
    care.people.consent_link(link.id, Actor.person(mum.id))
    quiet = care.people.create("family", "不想被打扰的亲戚")
    quiet_link = care.people.request_link(mum.id, quiet.id, "nephew", notify=False)
    care.people.consent_link(quiet_link.id, Actor.person(mum.id))
    pending = care.people.create("family", "还没同意的")
    care.people.request_link(mum.id, pending.id, "niece")

    outcome = care.safety.emergency("wechat", "oWx-mum", "  我摔倒了起不来  ")
    assert outcome.person == mum
    assert outcome.alert.kind == "emergency" and outcome.alert.summary == "我摔倒了起不来"
    assert sorted(outcome.family_notified) == sorted([daughter.id, english_son.id])
    [zh] = care.safety.pending_notifications(daughter.id)
    assert "李秀兰" in zh and "120" in zh and "我摔倒了起不来" in zh
    [en] = care.safety.pending_notifications(english_son.id)
    assert en.startswith("[Anxin urgent]") and "call 120" in en
    assert care.safety.pending_notifications(quiet.id) == []
    assert care.safety.pending_notifications(pending.id) == []
    assert care.alerts.open_alerts()[0].id == outcome.alert.id


def test_unknown_sender_still_raises_the_alert(care):
    outcome = care.safety.emergency("rest", "someone-new", "my husband collapsed")
    assert outcome.person is None and outcome.family_notified == []
    assert outcome.alert.conversation_id == "rest:someone-new" and outcome.alert.channel == "rest"


def test_crisis_and_handoff_alert_staff_without_telling_family(care):
    dad = elder(care, "王大爷")
    care.people.add_identity(dad.id, "telegram", "42")
    son = child_linked(care, dad)
    crisis = care.safety.crisis("telegram", "42", "活着没意思")
    handoff = care.safety.handoff("telegram", "42", "转人工")
    assert (crisis.alert.kind, handoff.alert.kind) == ("crisis", "handoff")
    assert care.safety.pending_notifications(son.id) == []
    assert [a.kind for a in care.alerts.open_alerts()] == ["crisis", "handoff"]


# Possible danger: one question, then the alarm only if needed -----------------------------


def test_a_check_answered_help_becomes_the_emergency_and_the_family_is_told(care):
    mum = elder(care)
    care.people.add_identity(mum.id, "wechat", "oWx-mum")
    daughter = child_linked(care, mum)
    check = care.safety.open_check("wechat", "oWx-mum", "我刚才摔了一跤")
    assert (check.kind, check.status, check.person_id) == ("check", "open", mum.id)
    assert care.safety.pending_notifications(daughter.id) == []  # a question, no alarm yet
    outcome = care.safety.answer_check(check.id, "help")
    assert outcome is not None and outcome.alert.kind == "emergency"
    assert outcome.alert.summary == "我刚才摔了一跤" and outcome.family_notified == [daughter.id]
    assert care.safety.check_state(check.id) == "escalated"
    # Decided once: a second answer, or the timer, does nothing more.
    assert care.safety.answer_check(check.id, "help") is None
    assert care.safety.escalate_due() == []
    assert [a.kind for a in care.alerts.open_alerts()] == ["emergency"]


def test_a_check_answered_fine_is_closed_for_staff_and_nobody_is_alarmed(care, clock):
    mum = elder(care)
    care.people.add_identity(mum.id, "telegram", "77")
    daughter = child_linked(care, mum)
    check = care.safety.open_check("telegram", "77", "胸口有点闷")
    assert care.safety.answer_check(check.id, "fine") is None
    assert care.safety.check_state(check.id) == "closed"
    clock.advance(minutes=10)
    assert care.safety.escalate_due() == []
    assert care.safety.pending_notifications(daughter.id) == []
    assert care.alerts.open_alerts() == []


def test_a_check_nobody_answers_escalates_when_due_and_the_person_is_told(care, clock):
    mum = elder(care)
    care.people.add_identity(mum.id, "rest", "mum")
    daughter = child_linked(care, mum)
    check = care.safety.open_check("rest", "mum", "头晕")
    assert check.due_at == clock() + timedelta(seconds=care.settings.safety_check_s)
    clock.advance(seconds=care.settings.safety_check_s - 1)
    assert care.safety.escalate_due() == []  # not yet
    clock.advance(seconds=2)
    [outcome] = care.safety.escalate_due()
    assert outcome.alert.kind == "emergency" and outcome.family_notified == [daughter.id]
    [family] = care.safety.pending_notifications(daughter.id)
    assert "没有回复" in family and "头晕" in family
    [own] = care.safety.pending_notifications(mum.id)
    assert "工作人员" in own and "120" in own
    assert care.safety.check_state(check.id) == "escalated"
    assert care.safety.escalate_due() == []
    # The answer that comes too late changes nothing.
    assert care.safety.answer_check(check.id, "fine") is None


def test_checks_of_unknown_senders_escalate_to_staff_alone(care, clock):
    check = care.safety.open_check("rest", "walk-in", "I had a fall")
    clock.advance(hours=1)
    [outcome] = care.safety.escalate_due()
    assert outcome.person is None and outcome.family_notified == []
    assert outcome.alert.conversation_id == "rest:walk-in"
    assert care.safety.check_state(check.id) == "escalated"
